/*-------------------------------------------------------------------------
 *
 * pg_compat.h
 *	  The differences between the PostgreSQL majors pg_container builds
 *	  against (15 to 18), as macros, so the code itself has no version
 *	  checks.  Include it after postgres.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_PG_COMPAT_H
#define PGC_PG_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "pg_container needs PostgreSQL 15 or later"
#endif

/*
 * The JSON parser's semantic actions return void in 15 and a
 * JsonParseErrorType from 16 on, where JSON_SUCCESS lets the parse go on.
 * Declare a callback as "static PGC_JSON_ACTION name(...)" and end it with
 * "PGC_JSON_ACTION_DONE;".
 */
#if PG_VERSION_NUM >= 160000
#define PGC_JSON_ACTION JsonParseErrorType
#define PGC_JSON_ACTION_DONE return JSON_SUCCESS
#else
#define PGC_JSON_ACTION void
#define PGC_JSON_ACTION_DONE return
#endif

/*
 * From 17, makeJsonLexContextCstringLen takes a context to fill in (NULL
 * allocates one) and a size_t length, and freeJsonLexContext releases the
 * context together with the strings it owns, json_errdetail's among them.
 * Before 17 the context is simply palloc'd in the current memory context.
 */
#if PG_VERSION_NUM >= 170000
#define pgc_json_lex_make(json, len, encoding) \
	makeJsonLexContextCstringLen(NULL, (json), (len), (encoding), true)
#define pgc_json_lex_free(lex) freeJsonLexContext(lex)
#else
#define pgc_json_lex_make(json, len, encoding) \
	makeJsonLexContextCstringLen((json), (int) (len), (encoding), true)
#define pgc_json_lex_free(lex) ((void) (lex))
#endif

/*
 * What a backend waiting on something outside PostgreSQL shows in
 * pg_stat_activity.  From 17 an extension can name its own wait event
 * (wait_event_type "Extension", wait_event the name given); the name is
 * registered in shared memory on first use and the same id comes back for
 * the same name in every process.  Before 17 every extension wait is just
 * "Extension".
 */
#include "utils/wait_event.h"
#if PG_VERSION_NUM >= 170000
#define pgc_wait_event_new(name) WaitEventExtensionNew(name)
#else
#define pgc_wait_event_new(name) ((uint32) PG_WAIT_EXTENSION)
#endif

/*
 * From 17 a PGPROC's number is a ProcNumber worked out from its place in
 * the array (PGPROC lost its pgprocno field); GetPGProcByNumber takes it
 * back in every version.
 */
#if PG_VERSION_NUM >= 170000
#define pgc_procno_of(proc) ((int) GetNumberFromPGProc(proc))
#else
#define pgc_procno_of(proc) ((proc)->pgprocno)
#endif

/*
 * PostgreSQL 18 replaced the pg_attribute_noreturn() suffix with the
 * pg_noreturn prefix (C11's _Noreturn).  Declare a function that never
 * returns as "pg_noreturn extern void name(...);".
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

#endif							/* PGC_PG_COMPAT_H */
