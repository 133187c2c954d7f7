/*-------------------------------------------------------------------------
 *
 * event_journal.h
 *	  Recording a user's state changes: a LOG line, a container_event row
 *	  and a NOTIFY.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_EVENT_JOURNAL_H
#define PGC_EVENT_JOURNAL_H

extern char *event_detail(const char *key,...);
extern void record_event(const char *user_id, const char *event, const char *detail_json);

#endif							/* PGC_EVENT_JOURNAL_H */
