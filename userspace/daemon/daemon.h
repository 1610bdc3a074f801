/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * smtpgated's state.  One thread runs the event loop (signals, timers,
 * ring buffer, link events, control socket), so control-plane changes are
 * serialised by construction; the metrics server reads counters from the
 * maps and a few scalars from here under `lock`.
 */
#ifndef SGD_DAEMON_H
#define SGD_DAEMON_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "config.h"
#include "dataplane.h"
#include "load.h"
#include "policy.h"

struct ring_buffer;
struct nl_sock;
struct sgd_control;
struct sgd_metrics;

struct sgd_opts {
	const char *config_path;
	bool check;             /* --check: validate and exit */
	bool detach;            /* --detach: remove programs, links, pins */
	bool allow_any_owner;   /* --test-mode: files need not be root's */
	bool use_syslog;
	bool verbose;
};

/* One trusted entry's expiry, as the metrics thread sees it. */
struct sgd_expiry {
	char prefix[SG_PREFIX_STRLEN];
	char ticket[SG_TICKET_MAX * 4 + 1]; /* 64 characters of UTF-8 */
	int64_t expires;        /* unix seconds */
};

/* What each counter slot is, for events and metrics. */
struct sgd_slot_name {
	char ifname[16];
	int hook;               /* enum sg_hook, SG_HOOK_NONE if unused */
};

struct sgd {
	struct sgd_opts opts;
	struct sg_load_opts load_opts;
	struct sg_host_config cfg;
	struct sg_dp *dp;

	/* The policy in force: policy.json entries and approvals together
	 * (origin tells them apart).  Approvals shadowed by a policy.json
	 * entry for the same prefix stay here (and on disk) but are not
	 * given to the data plane. */
	struct sg_policy policy;
	char policy_sha256[65];

	char approvals_path[PATH_MAX];
	char audit_path[PATH_MAX];
	char events_path[PATH_MAX];
	int lock_fd;
	FILE *events;
	struct ring_buffer *rb;
	struct nl_sock *nl;
	int epfd, sigfd, timerfd;
	bool stop;
	unsigned ticks;

	struct sgd_slot_name slots[SG_MAX_ATTACH];
	/* Per configured interface: the index of the device last refused
	 * as not Ethernet (0: none), so the refusal is logged once. */
	int refused_ifindex[SG_MAX_ATTACH];
	uint64_t events_lost_logged;

	struct sgd_control *control;
	struct sgd_metrics *metrics;

	/* Read by the metrics thread: take `lock`.  The loop thread writes
	 * them (and `slots`) under it; it reads its own writes freely. */
	pthread_mutex_t lock;
	struct sgd_expiry *expiries;  /* entries with an expiry, data-plane view */
	size_t n_expiries;
	size_t n_trusted;             /* entries given to the data plane */
	size_t n_approvals;
	uint64_t generation;
	uint64_t reload_failures;
	/* Saves of approvals.json done but not durable (directory fsync
	 * failed after the rename). */
	uint64_t approvals_not_durable;
	int64_t last_reload_success;  /* unix seconds */
	int64_t started;
	uint64_t events_written;
};

/* policy_state.c */
int sgd_policy_start(struct sgd *d);
/* Re-reads policy.json and approvals.json and switches to them; on any
 * error the running policy stays.  Returns 0, or -1 with the reason in
 * msg (which may hold several lines). */
int sgd_reload(struct sgd *d, char *msg, size_t len);
/* Writes approvals.json from d->policy (sg_approvals_save, load.h).
 * Returns what it returns; SG_SAVED_NOT_DURABLE means the change is
 * saved (keep it) but may not survive a power loss: logged and counted
 * here, err says why for the caller's reply and audit record. */
int sgd_save_approvals(struct sgd *d, struct sg_err *err);
/* Validates config, policy and approvals without touching anything. */
int sgd_check(struct sgd *d);
/* Pushes the in-memory policy to the data plane as a new generation. */
int sgd_apply_policy(struct sgd *d, struct sg_err *err);
/* Is t an approval for a prefix that policy.json also lists?  Then the
 * policy entry is the one in the data plane and the approval is shadowed. */
bool sgd_is_shadowed(const struct sg_policy *p, const struct sg_trusted_entry *t);
/* Rebuilds the metrics thread's view of d->policy: call after every
 * change to d->policy (start, reload, trust add/del, expiry). */
void sgd_snapshot_policy(struct sgd *d);

/* attachments.c */
/* Logs every configured interface that exists and is not Ethernet
 * (linktype.h); -1 if there is one.  Absent interfaces pass: they are
 * checked when they appear. */
int sgd_check_interfaces(struct sgd *d);
void sgd_attach_all(struct sgd *d);
/* Re-attaches configured hooks on `ifname` that are not in place. */
void sgd_ensure_attached(struct sgd *d, const char *ifname);
void sgd_refresh_slot_names(struct sgd *d);

/* events.c */
int sgd_events_start(struct sgd *d);
void sgd_events_poll(struct sgd *d);
/* Once a second: follow log rotation, report lost events. */
void sgd_events_tick(struct sgd *d);
/* RFC 3339 UTC with milliseconds of a data-plane instant (as events use). */
void sgd_format_time_ms(uint64_t dp_ns, char *buf, size_t len);
/* Appends one event object (json_t *) to events.jsonl. */
void sgd_events_write(struct sgd *d, void *json);
void sgd_events_stop(struct sgd *d);

/* linkwatch.c */
int sgd_linkwatch_start(struct sgd *d);
void sgd_linkwatch_read(struct sgd *d);
void sgd_linkwatch_stop(struct sgd *d);

/* expiry.c: removes approvals and bans whose time has come (run every
 * second). */
void sgd_expire_due(struct sgd *d);

/* audit.c */
struct sgd_audit {
	long long uid;          /* -1: the daemon itself */
	const char *user;
	const char *command;
	const char *ticket;     /* may be NULL */
	const char *result;     /* "ok", "refused", "failed" */
	const char *error;      /* may be NULL */
	void *args;             /* json_t *: object, stolen (may be NULL) */
	void *warnings;         /* json_t *: array of strings told with an "ok",
				 * borrowed (may be NULL) */
};
int sgd_audit(struct sgd *d, const struct sgd_audit *a);

#endif
