/*-------------------------------------------------------------------------
 *
 * doctor.h
 *	  container_doctor(): one finding per thing that is not as it should
 *	  be.  doctor.c holds the function and the installation-wide checks,
 *	  doctor_units.c those of each user's container, volume and network.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_DOCTOR_H
#define PGC_DOCTOR_H

#include "nodes/pg_list.h"

/* One row of container_doctor(). */
typedef struct DoctorFinding
{
	const char *severity;		/* "error", "warning" or "info" */
	const char *user_id;		/* NULL: the installation's */
	const char *check;
	const char *detail;
	const char *hint;
} DoctorFinding;

/* Append a finding; every string is copied into the function's result context. */
extern void doctor_report(const char *severity, const char *user_id, const char *check,
						  const char *detail, const char *hint);

/* doctor_units.c: with the store open, on the docker engine. */
extern void doctor_check_containers(List *rows);
extern void doctor_check_volumes_and_networks(List *rows);

#endif							/* PGC_DOCTOR_H */
