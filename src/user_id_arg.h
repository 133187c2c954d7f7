/*-------------------------------------------------------------------------
 *
 * user_id_arg.h
 *	  The user id argument of a SQL function, checked by the one rule
 *	  (names.h); defined in sql_functions.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_USER_ID_ARG_H
#define PGC_USER_ID_ARG_H

#include "fmgr.h"

extern char *user_id_arg(FunctionCallInfo fcinfo, int argno);

#endif							/* PGC_USER_ID_ARG_H */
