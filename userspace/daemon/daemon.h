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
#include "err.h"
#include "dataplane.h"
#include "expiry_list.h"
#include "load.h"
#include "policy.h"

struct ring_buffer;
struct nl_sock;
struct sg_store;
struct sg_store_follower;
struct sgd_control;
struct sg_journal;
struct sgd_metrics;
struct sgd_reloader;

struct sgd_opts {
	const char *config_path;
	bool check;             /* --check: validate and exit */
	bool detach;            /* --detach: remove programs, links, pins */
	bool allow_any_owner;   /* --test-mode: files need not be root's */
	bool use_syslog;
	bool verbose;
};


/* The fleet store as `status` and the metrics show it (fleet.c). */
struct sgd_store_view {
	bool configured;        /* the host config has a store */
	bool up;                /* the watch is established */
	int64_t revision;       /* the store revision applied here */
	int64_t last_sync;      /* unix seconds of the last contact; 0: never */
	uint64_t refused;       /* records refused (invalid, or not for this policy) */
	uint64_t failovers;     /* requests that moved to another endpoint */
	uint64_t reconnects;    /* of the watch */
	char error[SG_ERR_MAX]; /* why it is down, or "" */
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
	struct sg_journal *journal; /* approvals.journal, open for appending; NULL until
				     * the first change or after a failed open */
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
	struct sgd_reloader *reloader; /* reload.c; NULL: reloads run in the caller */

	/* The fleet store (fleet.c, docs/fleet.md); store is NULL without
	 * one, and then approvals.json holds the approvals. */
	struct sg_store *store;
	struct sg_store_follower *follower;
	struct sg_store_state *fleet;  /* the records applied, as of fleet->revision */
	char gateway[64];              /* this gateway's name in audit records */
	char store_cache_path[PATH_MAX];
	uint64_t fleet_refused;        /* records refused against the policy */
	int64_t fleet_expiry_retry;    /* unix seconds: no expiry tidy-up before */

	/* Read by the metrics thread: take `lock`.  The loop thread writes
	 * them (and `slots`) under it; it reads its own writes freely. */
	pthread_mutex_t lock;
	/* The entries /metrics lists with their expiry (cfg.expiry_series
	 * of them, expiry_list.h): 32 bytes each and the ticket in one
	 * text, where a prefix and a ticket as fixed-size strings took 320
	 * (a policy whose million entries all expire).  The metrics thread
	 * formats the prefix. */
	struct sg_expiry_list expiries;
	size_t n_trusted;             /* entries given to the data plane */
	size_t n_approvals;
	uint64_t generation;
	uint64_t reload_failures;
	/* Saves of approvals.json done but not durable (directory fsync
	 * failed after the rename). */
	uint64_t approvals_not_durable;
	int64_t last_reload_success;  /* unix seconds */
	/* The reload in progress (reload.c), 0 if none: since when, by whom
	 * (as status says it); and how long the last one took. */
	int64_t reload_since_ms;      /* unix milliseconds */
	char reload_by[96];
	uint64_t reload_last_ms;
	size_t requests_waiting;      /* control requests held for it (control_dispatch.c) */
	int64_t started;
	int64_t startup_ms;           /* process start to the socket listening; -1: unknown */
	uint64_t events_written;
	uint64_t events_write_failures;       /* events that could not be written */
	uint64_t audit_write_failures;        /* records that could not be written */
	uint64_t audit_refusals_suppressed;   /* refusals not recorded (rate limit) */
	struct sgd_store_view store_view;

	bool audit_failing;           /* the last audit write failed (logged once) */
	bool events_failing;          /* the last event write failed (logged once) */
	unsigned long long events_unwritten; /* events not written since the last that was */
};

/* policy_state.c */
/* policy.json as read for the start: by sgd_policy_read, which may run
 * while the data plane is being opened, then taken by sgd_policy_start. */
struct sgd_policy_read {
	struct sg_policy policy;
	char sha[65];
	struct sg_diag diag;
	int rc;                 /* sg_policy_load's */
};
void sgd_policy_read(struct sgd *d, struct sgd_policy_read *r);
void sgd_policy_read_free(struct sgd_policy_read *r);
/* Adds the approvals to the policy r holds, applies it (r is emptied,
 * its policy now d's).  0, or -1 with the reason logged. */
int sgd_policy_start(struct sgd *d, struct sgd_policy_read *r);
/* Called once the new policy is valid, right before it is applied: the
 * audit record is written there (a reload that cannot be recorded is
 * not made).  Nonzero refuses the reload, with the reason in err. */
typedef int (*sgd_reload_gate)(void *ctx, struct sg_err *err);
/* Re-reads policy.json and the approvals and switches to them, in the
 * calling thread; on any error the running policy stays.  0, or -1.
 * Either way diag gets every line the loaders had to say (errors and
 * warnings), and on failure the reason as an error line.  gate may be
 * NULL.  The daemon's loop reloads through reload.c instead, off the
 * loop; this is for callers without a loop (the control fuzzer). */
int sgd_reload(struct sgd *d, struct sg_diag *diag, sgd_reload_gate gate, void *ctx);
/* The text of diag's lines, "error: ..." and "warning: ...", one a line. */
void sgd_diag_text(const struct sg_diag *diag, char *msg, size_t len);
/* "policy reloaded: generation N, M trusted entries, sha256 H". */
void sgd_reload_summary(const struct sgd *d, char *buf, size_t len);
/* Counts and logs a refused reload. */
void sgd_reload_failed(struct sgd *d, const char *why);

/* A reload's new policy, in the three steps both sgd_reload and the
 * worker of reload.c take.  load and apply touch nothing of the
 * daemon's but what a reload leaves alone (the config, the approvals
 * files, d->fleet, and the data plane's inactive generation), so they
 * may run off the loop while nothing else changes the policy; commit
 * runs on the loop. */
struct sgd_next {
	struct sg_policy policy;
	char sha[65];
	struct sg_diag diag;    /* the loaders' errors and warnings (logged) */
	struct sg_err err;      /* why apply failed */
};
void sgd_next_init(struct sgd_next *n);
void sgd_next_free(struct sgd_next *n);
/* policy.json and the approvals, validated and merged.  0 or -1 (diag). */
int sgd_next_load(struct sgd *d, struct sgd_next *n);
/* Builds the inactive generation from n and switches the data plane to
 * it (sg_dp_apply).  0 or -errno (err); on error nothing changed. */
int sgd_next_apply(struct sgd *d, struct sgd_next *n);
/* n's policy becomes the one in force; n keeps the previous one, for
 * sgd_next_free. */
void sgd_next_commit(struct sgd *d, struct sgd_next *n);

/* reload.c: every reload of a running daemon (smtpgatectl reload,
 * SIGHUP) loads and applies on a worker thread, so the loop keeps
 * answering; the commit, the audit record and the reply happen on the
 * loop.  While one runs, changes wait (control_dispatch.c, fleet.c)
 * and the loop leaves the data plane's userspace index alone.  done gets
 * 0 or -1 and the diag of sgd_reload. */
typedef void (*sgd_reload_done)(void *ctx, int rc, struct sg_diag *diag);
int sgd_reload_init(struct sgd *d);
/* Starts a reload; by says who asked (status shows it).  0: started, done
 * comes later (never from inside this call); -EBUSY: one is running;
 * -ENOTSUP: no worker (call sgd_reload instead). */
int sgd_reload_start(struct sgd *d, const char *by, sgd_reload_gate gate, sgd_reload_done done,
		     void *ctx);
bool sgd_reload_busy(const struct sgd *d);
/* At stop: finishes a reload in progress (its worker cannot be stopped
 * halfway) before the data plane is closed. */
void sgd_reload_fini(struct sgd *d);
/* reload_signal.c: a reload asked for by SIGHUP, audited as the
 * sender (uid and pid as the kernel reports them).  During a reload,
 * signals are folded into one reload that starts when it ends. */
void sgd_reload_on_signal(struct sgd *d, unsigned uid, int pid);
/* reload.c calls it when a reload has ended and nothing holds another. */
void sgd_reload_signal_pending(struct sgd *d);
/* approvals_save.c: the change just made to d->policy, saved as one
 * line of approvals.journal (approvals_journal.h): the approval t, now
 * in d->policy, or the removal of the approval of prefix.  Returns 0
 * (saved, durable); -errno with err saying why (not saved: the caller
 * undoes the change); SG_SAVED_NOT_DURABLE means the change is saved
 * (keep it) but may not survive a power loss: logged and counted here,
 * err says why for the caller's reply and audit record.  From time to
 * time it also compacts the journal into approvals.json. */
int sgd_save_approval_added(struct sgd *d, const struct sg_trusted_entry *t,
			    struct sg_err *err);
int sgd_save_approval_removed(struct sgd *d, const struct sg_prefix *prefix,
			      struct sg_err *err);
/* n approvals added at once (trust.import, t[0..n) in d->policy): one
 * append and one fdatasync for all; the same returns. */
int sgd_save_approvals_added(struct sgd *d, const struct sg_trusted_entry *t, size_t n,
			     struct sg_err *err);
/* At start: folds what approvals.journal holds into approvals.json. */
void sgd_approvals_compact(struct sgd *d);
/* At exit. */
void sgd_approvals_close(struct sgd *d);
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
/* The same after one entry was added or removed, which expires then (0:
 * never).  The expiry list holds copies, not places in the policy: a
 * change of an entry that never expires leaves it right, and only the
 * counts are taken, in O(1) rather than a pass over the policy. */
void sgd_snapshot_after(struct sgd *d, int64_t expires);
/* After entry t was appended to d->policy (it is the last): the expiry
 * list takes it without a pass over the policy where that is exact
 * (expiry_list.h), else as sgd_snapshot_policy. */
void sgd_snapshot_added(struct sgd *d, const struct sg_trusted_entry *t);
/* After an entry of this prefix and expiry left d->policy: the same. */
void sgd_snapshot_removed(struct sgd *d, const struct sg_prefix *prefix, int64_t expires);

/* attachments.c */
/* Logs every configured interface that exists and is not Ethernet
 * (linktype.h); -1 if there is one.  Absent interfaces pass: they are
 * checked when they appear. */
int sgd_check_interfaces(struct sgd *d);
/* Loads the programs sgd_attach_all will attach, nothing attached
 * (sg_dp_prepare); run beside the policy's read at start. */
void sgd_prepare_attachments(struct sgd *d);
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
/* After a reload: writes the ban events held during it. */
void sgd_events_resume(struct sgd *d);

/* linkwatch.c */
int sgd_linkwatch_start(struct sgd *d);
void sgd_linkwatch_read(struct sgd *d);
void sgd_linkwatch_stop(struct sgd *d);

/* expiry.c: removes approvals and bans whose time has come (run every
 * second). */
void sgd_expire_due(struct sgd *d);

/* expiry_seen.c: the policy.json expiries already audited, kept in the
 * state dir so that each is audited once across reloads and restarts.
 * apply marks d->policy's entries (after every load); save writes the
 * marked ones (0 or -errno, with err). */
void sgd_expiry_seen_apply(struct sgd *d);
int sgd_expiry_seen_save(struct sgd *d, struct sg_err *err);

/* audit.c */
/* A refused request's arguments longer than this (as compact JSON) are
 * recorded as their size and names only. */
#define SGD_AUDIT_REFUSED_ARGS_MAX 1024
struct sg_append_mark;
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
	uint64_t suppressed;    /* refusals of this uid not recorded before this one */
	/* A record mirrored from the fleet store (another gateway's change):
	 * its own time, gateway and store revision; NULL/0 otherwise. */
	const char *time;
	const char *gateway;    /* set on every record of a gateway with a store */
	int64_t revision;       /* the store revision of the change, 0: none */
	bool fleet;             /* mirrored from the store */
};
/* Appends one record (whole and fsync'd, or not at all).  0 or -errno;
 * a failure is logged and counted. */
int sgd_audit(struct sgd *d, const struct sgd_audit *a);
/* The same, keeping the record retractable through *mark: for a change
 * recorded before it is made (see audit.c). */
int sgd_audit_mark(struct sgd *d, const struct sgd_audit *a, struct sg_append_mark *mark);
/* n records (a[0..n), each one's args stolen) in one append and one
 * fsync, all or none, retractable together through *mark (trust.import:
 * one record per approval).  0 or -errno. */
int sgd_audit_batch_mark(struct sgd *d, const struct sgd_audit *a, size_t n,
			 struct sg_append_mark *mark);
/* Takes back a marked record: the change it records did not happen. */
void sgd_audit_retract(struct sgd *d, struct sg_append_mark *mark);

/* audit_limit.c: may a refusal of this unprivileged uid be recorded now?
 * If so, *suppressed is how many were not since the last one that was. */
bool sgd_refusal_admit(struct sgd *d, unsigned uid, uint64_t *suppressed);

#endif
