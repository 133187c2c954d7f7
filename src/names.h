/*-------------------------------------------------------------------------
 *
 * names.h
 *	  The one character rule for the names pg_container makes and takes.
 *
 * User ids, container names (and so the name prefix) and the path segments
 * of engine requests all follow Docker's rule for container names,
 * [A-Za-z0-9][A-Za-z0-9_.-]*, in ASCII whatever the locale.  The tables'
 * CHECK constraints say the same in SQL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_NAMES_H
#define PGC_NAMES_H

/* A character a name may start with: an ASCII letter or digit. */
static inline bool
pgc_name_start_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A character a name may hold after its first. */
static inline bool
pgc_name_char(char c)
{
	return pgc_name_start_char(c) || c == '_' || c == '.' || c == '-';
}

#endif							/* PGC_NAMES_H */
