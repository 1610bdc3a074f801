/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fleet store: approvals and manual bans shared by every gateway of
 * a site, with the fleet's audit trail.  The daemon talks only to this
 * interface; etcd (store_etcd.c over etcd*.c) is the one backend so far.
 *
 * The model is etcd's: one store-wide revision that every change bumps,
 * and per record the revision of its last change (mod_revision).
 *  - sg_store_load: every approval and ban, as of one revision.
 *  - sg_store_apply: one change, made only if the record is still at the
 *    mod_revision the caller saw (0: "must not exist yet"), together with
 *    its audit record, in one transaction.  Of two gateways racing on a
 *    record exactly one wins; the other gets SG_STORE_ECONFLICT.
 *  - sg_store_watch: the changes after a revision, in order.  A revision
 *    the store no longer has (compacted) is reported, and the caller
 *    loads everything again.
 *  - sg_store_cache_save/load: the last state seen and its revision in a
 *    local file, so a gateway that starts while the store is unreachable
 *    still enforces what it last knew.
 * docs/fleet.md describes the key layout and how the daemon uses this.
 *
 * Everything read from the store is untrusted input: records are
 * validated one by one, and a record that fails is refused (counted, its
 * reason kept) while the rest load.
 */
#ifndef SG_STORE_H
#define SG_STORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "policy.h"

/* The record changed since the caller read it (another gateway won). */
#define SG_STORE_ECONFLICT (-ECANCELED)
/* No endpoint answered in time (or the store refused us): the caller
 * keeps its last state and refuses changes. */
#define SG_STORE_EUNAVAILABLE (-EHOSTUNREACH)
/* The revision asked of a watch is no longer kept: load everything. */
#define SG_STORE_ECOMPACTED (-ERANGE)

/* ---- configuration ("store": {"etcd": {...}} in smtpgate.json) ----- */

#define SG_STORE_MAX_ENDPOINTS 16
#define SG_STORE_DEFAULT_TIMEOUT_MS 2000

struct sg_store_config {
	char **endpoints;       /* "https://host:port", n_endpoints of them */
	size_t n_endpoints;
	char *prefix;           /* "/smtpgate/<site>/": starts and ends with '/' */
	char *ca;               /* PEM file; NULL: the system's CAs */
	char *cert;             /* client certificate (PEM), with key */
	char *key;
	char *username;         /* with password_file, or neither */
	char *password_file;
	unsigned timeout_ms;    /* per request, all endpoints together */
	/* "store": {"gateway": ...}: this gateway's name in the fleet's
	 * audit records; NULL: the short host name. */
	char *gateway;
};

/* This gateway's name: cfg->gateway, else the short host name. */
void sg_store_gateway_name(const struct sg_store_config *cfg, char *buf, size_t len);

void sg_store_config_free(struct sg_store_config *c);

/* ---- records -------------------------------------------------------- */

enum sg_store_kind {
	/* Not a record: a watch event of this kind says the watch is
	 * established (ev->revision 0), or that etcd has sent every change
	 * up to ev->revision (progress). */
	SG_STORE_SYNC = 0,
	SG_STORE_APPROVAL = 1,  /* <prefix>approvals/<prefix text> */
	SG_STORE_BAN = 2,       /* <prefix>bans/<address> */
	SG_STORE_AUDIT = 3,     /* <prefix>audit/<unix ns, 19 digits>-<gateway> */
};

/* A record's name: a prefix or address as text, or an audit key. */
#define SG_STORE_NAME_MAX 128
/* Values larger than this are refused unread (an approval is < 2 KiB). */
#define SG_STORE_VALUE_MAX (16u << 10)
/* At most this many approvals + bans are loaded (SG_MAX_TRUSTED and the
 * ban table's size are far below it). */
#define SG_STORE_MAX_RECORDS 300000
/* Gateway names (in audit keys): [A-Za-z0-9_.-]{1,63}. */
#define SG_STORE_GATEWAY_MAX 64

struct sg_store_rec {
	int kind;               /* enum sg_store_kind */
	char name[SG_STORE_NAME_MAX];
	char *value;            /* NUL-terminated JSON text; NULL for a deletion */
	size_t len;
	int64_t mod_revision;   /* the change that wrote it */
};

/* Why a record was refused: its key and the reason, for the log. */
struct sg_store_refusal {
	char key[SG_STORE_NAME_MAX + 32];
	char why[256];
};

struct sg_store_state {
	int64_t revision;       /* the store's revision this state is as of */
	struct sg_store_rec *recs;
	size_t n;
	/* Records refused by validation (not in recs).  The first few are
	 * kept with their reason; n_refused counts them all. */
	size_t n_refused;
	struct sg_store_refusal refusals[8];
};

void sg_store_state_free(struct sg_store_state *s);
/* The record of that kind and name, or NULL. */
const struct sg_store_rec *sg_store_state_find(const struct sg_store_state *s, int kind,
					       const char *name);
/* Sets (value != NULL) or removes a record, keeping recs sorted by
 * (kind, name).  Returns 0 or -ENOMEM. */
int sg_store_state_set(struct sg_store_state *s, int kind, const char *name, const char *value,
		       int64_t mod_revision);

/* Counts a refused record, keeping the first few reasons. */
void sg_store_state_refuse(struct sg_store_state *s, const char *key, const char *why);

/* "approvals/10.1.2.0/24" etc.: the key below the configured prefix.
 * Returns 0 or -ENAMETOOLONG. */
int sg_store_key_suffix(int kind, const char *name, char *buf, size_t len);
/* The inverse, with validation: a kind this version knows, and a name in
 * canonical form (approvals: sg_prefix_format's; bans: sg_addr_format's),
 * so one prefix can never be two records.  Returns 0 or -EINVAL with
 * the reason in err. */
int sg_store_key_parse(const char *suffix, size_t len, int *kind, char *name, size_t name_len,
		       struct sg_err *err);
/* Checks a value against its key: a JSON object of at most
 * SG_STORE_VALUE_MAX bytes whose "addr" is the key's name (approvals,
 * bans); audit records need only be objects.  Returns 0 or -EINVAL. */
int sg_store_value_check(int kind, const char *name, const char *value, size_t len,
			 struct sg_err *err);

/* An approval record as a trusted entry, validated like an entry of
 * approvals.json against policy p (relay groups and rate class must
 * exist).  t's strings are malloc'd (sg_trusted_entry_free).  Returns 0
 * or -EINVAL with "approvals/10.1.2.9: relays[0]: ..." in err. */
int sg_store_approval_parse(const struct sg_store_rec *r, const struct sg_policy *p,
			    long long now, struct sg_trusted_entry *t, struct sg_err *err);

/* The value of an approval record for t (approvals.json's entry format,
 * relay and rate names from p), or of a manual ban (expires: unix
 * seconds, 0 = until removed; strings may be NULL).  malloc'd compact
 * JSON, or NULL (ENOMEM). */
char *sg_store_approval_value(const struct sg_policy *p, const struct sg_trusted_entry *t);
char *sg_store_ban_value(const struct sg_addr *a, long long expires, const char *reason,
			 const char *ticket, const char *created_by);

/* A ban record: {"addr": ..., "expires": RFC 3339 or null, "reason",
 * "ticket", "created", "created_by"}. */
struct sg_store_ban {
	struct sg_addr addr;
	int64_t expires;        /* unix seconds, 0 = until removed */
	int64_t created;
};
int sg_store_ban_parse(const struct sg_store_rec *r, struct sg_store_ban *b, struct sg_err *err);

/* ---- the store ------------------------------------------------------ */

struct sg_store;

/* Opens a client; contacts nothing yet (a gateway must start while the
 * store is down).  gateway: this gateway's name, in audit records.
 * Reads password_file now.  Returns 0 or -errno with the reason. */
int sg_store_open(const struct sg_store_config *cfg, const char *gateway,
		  struct sg_store **out, struct sg_err *err);
void sg_store_close(struct sg_store *s);

/* Every approval and ban as of one revision.  Records that fail
 * sg_store_key_parse/sg_store_value_check are refused and counted in
 * out->n_refused.  Returns 0, SG_STORE_EUNAVAILABLE, or -errno. */
int sg_store_load(struct sg_store *s, struct sg_store_state *out, struct sg_err *err);

/* The fleet's audit records from since_ns (unix ns) on: at most the
 * newest `limit`, oldest first, as records of kind SG_STORE_AUDIT in
 * out (not sorted by name: in time order).  Returns 0,
 * SG_STORE_EUNAVAILABLE, or -errno. */
int sg_store_audit_list(struct sg_store *s, long long since_ns, size_t limit,
			struct sg_store_state *out, struct sg_err *err);

/* Who made a change, for its audit record. */
struct sg_store_actor {
	long long uid;
	const char *user;
	const char *command;    /* "trust.add", "ban.del", ... */
	const char *ticket;     /* may be NULL */
};

struct sg_store_change {
	int kind;               /* SG_STORE_APPROVAL or SG_STORE_BAN */
	const char *name;       /* canonical prefix or address text */
	const char *value;      /* the new JSON value; NULL deletes */
	/* The record's mod_revision as the caller saw it; 0: must not exist. */
	int64_t expect_mod_revision;
	const char *before;     /* its value as the caller saw it (audit), or NULL */
	struct sg_store_actor actor;
};

/* Makes the change and writes its audit record (<prefix>audit/...,
 * {"time", "gateway", "uid", "user", "command", "ticket", "key",
 * "before", "after"}) in one transaction, only if the record is still at
 * expect_mod_revision.  On success *revision (may be NULL) is the
 * change's revision.  SG_STORE_ECONFLICT: not made, err says what the
 * record is now.  SG_STORE_EUNAVAILABLE: not made, or (if the store
 * fell silent after the request went out) unknown: the watch or a
 * reload will show. */
int sg_store_apply(struct sg_store *s, const struct sg_store_change *c, int64_t *revision,
		   struct sg_err *err);

/* One change seen by a watch. */
struct sg_store_event {
	int64_t revision;       /* of this change */
	struct sg_store_rec rec; /* value NULL: deleted */
};

/* Returns 0 to go on, anything else to end the watch with that value. */
typedef int (*sg_store_watch_cb)(void *ctx, const struct sg_store_event *ev);

/* Streams the changes of revision from_rev and later to cb, in order
 * (plus SG_STORE_SYNC events when the watch is established and when etcd
 * reports progress),
 * until cb returns non-zero (returned), timeout_ms passes (0: no limit;
 * returns 0), sg_store_watch_cancel is called (returns -EINTR), or the
 * stream fails (SG_STORE_EUNAVAILABLE, SG_STORE_ECOMPACTED).  Refused records are counted in *n_refused (may
 * be NULL) and not passed on.  Blocking: the daemon runs it in a thread
 * of its own (see docs/fleet.md). */
int sg_store_watch(struct sg_store *s, int64_t from_rev, unsigned timeout_ms,
		   sg_store_watch_cb cb, void *ctx, uint64_t *n_refused, struct sg_err *err);
/* Requests that had to move to another endpoint than the one before
 * (smtpgate_store_failovers_total). */
uint64_t sg_store_failovers(struct sg_store *s);
/* Ends the running sg_store_watch from another thread within ~100 ms
 * (or the next one, at once, if none is running). */
void sg_store_watch_cancel(struct sg_store *s);

/* ---- following the store from a thread ------------------------------ */

/* A thread that keeps a watch open and hands what it sees to the
 * daemon's event loop: it reconnects after an outage from the revision
 * after the last it delivered, and after a compaction loads everything
 * and hands over the whole state.  Items wait in a queue; an eventfd is
 * readable while it is not empty. */
struct sg_store_follower;

enum sg_store_item_type {
	SG_STORE_ITEM_EVENT = 1,        /* ev: one change (or SG_STORE_SYNC) */
	SG_STORE_ITEM_STATE = 2,        /* state: replaces everything applied */
};

struct sg_store_item {
	int type;
	struct sg_store_event ev;       /* ev.rec.value owned by the item */
	struct sg_store_state state;
};

struct sg_store_follow_status {
	bool up;                /* the watch is established */
	int64_t revision;       /* of the last item queued */
	int64_t last_sync;      /* unix seconds of the last contact, 0: never */
	uint64_t refused;       /* records refused by validation */
	uint64_t reconnects;
	char error[SG_ERR_MAX]; /* why it is down, or "" */
};

/* Starts following from revision from_rev (the applied revision + 1). */
int sg_store_follow_start(struct sg_store *s, int64_t from_rev, struct sg_store_follower **out,
			  struct sg_err *err);
/* Readable (EPOLLIN) while items wait. */
int sg_store_follow_fd(const struct sg_store_follower *f);
/* Moves up to max waiting items into items[] (in order); returns how
 * many.  Free each with sg_store_item_free. */
size_t sg_store_follow_take(struct sg_store_follower *f, struct sg_store_item *items, size_t max);
void sg_store_item_free(struct sg_store_item *it);
void sg_store_follow_status(struct sg_store_follower *f, struct sg_store_follow_status *out);
/* A request to the store failed as unreachable while the watch looks
 * established (a silent cut is otherwise found only by TCP keepalive,
 * after some 25 s): ends the watch and watches again at once, so the
 * status says within the store's timeout whether it still answers. */
void sg_store_follow_recheck(struct sg_store_follower *f);
/* Stops the thread (within ~100 ms, or a reconnect's time budget) and
 * frees everything still queued. */
void sg_store_follow_stop(struct sg_store_follower *f);

/* ---- the local cache ------------------------------------------------ */

/* Writes state (approvals, bans, revision) to path: temporary file,
 * fsync, rename, fsync of the directory.  Returns 0 or -errno. */
int sg_store_cache_save(const char *path, const char *prefix, const struct sg_store_state *st,
			struct sg_err *err);
/* Reads it back, validating every record as if it came from the store
 * (a cache is a file someone could have edited; refused records are
 * counted in out->n_refused).  A cache written for another prefix is
 * refused (-ESTALE): it is another site's state.  -ENOENT: no cache. */
int sg_store_cache_load(const char *path, const char *prefix, struct sg_store_state *out,
			struct sg_err *err);

#endif
