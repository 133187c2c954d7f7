/*-------------------------------------------------------------------------
 *
 * reconcile.h
 *	  Judging a row against what the engine reports of its container, for
 *	  the health pass, the event mirror and the paused tier alike.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_RECONCILE_H
#define PGC_RECONCILE_H

#include "container_store.h"
#include "docker_api.h"

/* Where a report on a container came from. */
typedef enum ReportSource
{
	REPORT_LIST,				/* the engine's list of our containers */
	REPORT_EVENT				/* an inspect after one of the engine's events */
} ReportSource;

/* What the container is, judged against its row. */
typedef enum ReconcileOutcome
{
	RECONCILE_PAUSED,			/* frozen: neither healthy nor unhealthy */
	RECONCILE_HEALTHY,
	RECONCILE_UNHEALTHY,		/* up, but not serving (restarting too) */
	RECONCILE_DOWN				/* gone or not running: the row becomes 'stopped' */
} ReconcileOutcome;

typedef struct Reconciliation
{
	ReconcileOutcome outcome;
	const char *error;			/* why not healthy; NULL when healthy or paused */
	const char *pause_event;	/* "paused"/"unpaused" done outside pg_container, or NULL */
	const char *event;			/* the health change to record, or NULL */
	char	   *detail;			/* the event's detail (JSON), NULL without one */
} Reconciliation;

extern void reconcile_judge(const ContainerRef *ref, const DockerContainer *c,
							ReportSource source, Reconciliation *r);
extern void reconcile_record_events(const ContainerRef *ref, const DockerContainer *c,
									const Reconciliation *r);
extern bool reconcile_apply(const ContainerRef *ref, const DockerContainer *c,
							ReportSource source);

#endif							/* PGC_RECONCILE_H */
