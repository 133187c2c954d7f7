/*-------------------------------------------------------------------------
 *
 * user_id_arg.h
 *	  The arguments SQL functions share: the user id, checked by the one
 *	  rule (names.h), and a timeout interval; defined in sql_functions.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_USER_ID_ARG_H
#define PGC_USER_ID_ARG_H

#include "fmgr.h"

extern char *user_id_arg(FunctionCallInfo fcinfo, int argno);
extern double interval_arg_ms(FunctionCallInfo fcinfo, int argno);

#endif							/* PGC_USER_ID_ARG_H */
