/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The usage history (usage_file.h) as smtpgated keeps it, and the state
 * events that make the hooks and the mode in force reconstructible from
 * events.jsonl (state_watch.c).  Both are evidence for
 * `smtpgatectl report`; the loop calls them, nothing else does.
 */
#ifndef SGD_USAGE_HISTORY_H
#define SGD_USAGE_HISTORY_H

#include "daemon.h"

/* usage_history.c: after the data plane is open.  Never fails the
 * start: a history that cannot be kept is logged, enforcement goes on. */
void sgd_history_start(struct sgd *d);
/* Every second: counts since the last read, written once a minute and
 * at the end of each UTC day. */
void sgd_history_tick(struct sgd *d);
/* At stop: the last counts written. */
void sgd_history_stop(struct sgd *d);

/* state_watch.c: writes a "state" event (mode, configured hooks and
 * whether each is attached) at start, when it changes, once a day and
 * at stop.  why: "start", "change", "daily", "stop". */
void sgd_state_event(struct sgd *d, const char *why);
/* Every second (looks every few). */
void sgd_state_tick(struct sgd *d);

#endif
