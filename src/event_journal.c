/*-------------------------------------------------------------------------
 *
 * event_journal.c
 *	  Recording a user's state changes.  Each change is a LOG line naming
 *	  the user and, on 0.2.0's tables and later, a row in container_event
 *	  with a NOTIFY on channel pg_container (container_store.c writes
 *	  those).  The row and the NOTIFY take effect only if the caller's
 *	  transaction commits; the LOG line is written at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>

#include "lib/stringinfo.h"
#include "utils/json.h"

#include "container_store.h"
#include "event_journal.h"

/*
 * {"k1": "v1", ...} from NULL-terminated key/value pairs, for an event's
 * detail; NULL values are skipped.
 */
char *
event_detail(const char *key,...)
{
	StringInfoData buf;
	va_list		args;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	va_start(args, key);
	for (; key != NULL; key = va_arg(args, const char *))
	{
		const char *value = va_arg(args, const char *);

		if (value == NULL)
			continue;
		if (!first)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, key);
		appendStringInfoString(&buf, ": ");
		escape_json(&buf, value);
		first = false;
	}
	va_end(args);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* A state change of the user's: the LOG line, the event row and the NOTIFY. */
void
record_event(const char *user_id, const char *event, const char *detail_json)
{
	ereport(LOG,
			(errmsg("pg_container: user \"%s\": %s %s", user_id, event, detail_json ? detail_json : "{}")));
	store_event(user_id, event, detail_json);
}
