/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy in memory: what policy.json says plus the approvals, already
 * validated and with names resolved to indexes.  The JSON loader
 * (policy_json.c) produces it, tests build it directly, and the data plane
 * loader (dataplane.c) compiles it into maps.
 */
#ifndef SG_POLICY_H
#define SG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "trusted_entry.h"

#define SG_NAME_MAX 64

struct sg_rate_class {
	char name[SG_NAME_MAX];
	/* 0 = no limit on that dimension.  Bursts default to one second. */
	double conn_per_sec;
	double conn_burst;
	double bytes_per_sec;
	double bytes_burst;
};

struct sg_relay {
	struct sg_addr addr;
	uint16_t *ports;        /* NULL/0: every governed port */
	size_t n_ports;
};

struct sg_relay_group {
	char name[SG_NAME_MAX];
	struct sg_relay *relays;
	size_t n_relays;
	/* relay_cap: total new connections per second towards the group;
	 * 0 = no cap. */
	double cap_conn_per_sec;
	double cap_conn_burst;
};

struct sg_policy {
	int mode;               /* enum sg_mode */
	uint16_t *ports;
	size_t n_ports;
	struct sg_prefix *scope;
	size_t n_scope;
	struct sg_relay_group *groups;
	size_t n_groups;
	struct sg_rate_class *classes;
	size_t n_classes;
	int unreg_action;       /* enum sg_unreg_action */
	uint32_t unreg_class;   /* for throttle */
	bool ban_enabled;
	uint32_t ban_violations;
	double ban_window_sec;
	double ban_duration_sec; /* 0 = until removed */
	double event_interval_sec;
	uint32_t event_budget;  /* new event keys per second per CPU */
	uint32_t source_budget; /* new per-source statistics keys per second per CPU */
	uint32_t blocked_budget; /* per-source updates for blocked packets per second per CPU */
	struct sg_trusted_entry *trusted;
	size_t n_trusted;
	size_t cap_trusted;
	/* Entries of origin SG_ORIGIN_APPROVAL among them. */
	size_t n_approvals;
	/* Shadowing and "certainly absent" in O(1) (policy_index.h), once
	 * sg_policy_index() built it: NULL until then, and again if keeping
	 * it up to date ran out of memory (lookups then scan). */
	struct sg_policy_index *index;
	/* The strings and extras of entries added by
	 * sg_policy_add_trusted_pooled (strpool.h): freed with the policy. */
	struct sg_strpool *strings;
	/* No entry expires before this (unix seconds; 0: none expires).
	 * Every add lowers it; whoever acts on expiries sets it exactly
	 * after a pass over the entries, so that a timer need not look at
	 * a million entries every second to find none due. */
	int64_t next_expiry;
};

#define SG_DEFAULT_EVENT_INTERVAL_SEC 1.0
#define SG_DEFAULT_EVENT_BUDGET 1000
#define SG_DEFAULT_SOURCE_BUDGET 20000
/* A blocked packet of another source than the one before it costs a
 * random access into each per-source LRU (~100-300 ns on a VM); 20,000
 * a second per CPU is a few milliseconds of CPU, and a spoofed flood
 * beyond it costs about what a flood from one source does. */
#define SG_DEFAULT_BLOCKED_BUDGET 20000

/* A policy with the documented defaults (docs/policy.md): enforce, port 25, no scope, drop. */
void sg_policy_init(struct sg_policy *p);
void sg_policy_free(struct sg_policy *p);

/* Appends a deep copy of *t (strings and extra duplicated,
 * sg_trusted_entry_copy).  Returns 0 or -ENOMEM. */
int sg_policy_add_trusted(struct sg_policy *p, const struct sg_trusted_entry *t);
/* The same with the strings and extra in the policy's pool (strpool.h):
 * for the loader's bulk of policy.json entries, which live as long as
 * the policy.  The entry is marked pooled: sg_trusted_entry_free leaves
 * them. */
int sg_policy_add_trusted_pooled(struct sg_policy *p, const struct sg_trusted_entry *t);
/* For a loader that fills reserved room from several threads: entry
 * n_trusted + i (within the room reserved) becomes a copy of *t, its
 * strings in pool sp (one per thread); nothing else is touched.  Then
 * sg_policy_commit_trusted counts the n entries filled, and takes the
 * pools.  0 or -ENOMEM. */
int sg_policy_fill_trusted(struct sg_policy *p, size_t i, const struct sg_trusted_entry *t,
			   struct sg_strpool *sp);
/* Entries n_trusted .. n_trusted + n (all filled) join the policy, and
 * the pools sp[0 .. n_pools) with them (emptied and freed).  0 or
 * -ENOMEM (nothing joined: the caller still owns the pools). */
int sg_policy_commit_trusted(struct sg_policy *p, size_t n, struct sg_strpool **sp,
			     size_t n_pools);
/* Makes room for n more entries at once (a loader that knows how many
 * are coming: no doubling, no copy).  0 or -ENOMEM. */
int sg_policy_reserve_trusted(struct sg_policy *p, size_t n);
/* Gives back the room no entry uses. */
void sg_policy_trim(struct sg_policy *p);
/* Index of the entry with exactly this prefix, or -1.  O(1) when the
 * policy is indexed and no entry has it (a new prefix); else a scan. */
long sg_policy_find_trusted(const struct sg_policy *p, const struct sg_prefix *prefix);
/* The same among the approvals only (the last, should two have it),
 * searched from the end, where approvals are. */
long sg_policy_find_approval(const struct sg_policy *p, const struct sg_prefix *prefix);
/* Removes entry i (freeing it), keeping order. */
void sg_policy_remove_trusted(struct sg_policy *p, size_t i);
/* Removes the entries from n on: what a refused load appended goes.
 * (Texts they put in the pool stay there until the policy is freed.) */
void sg_policy_truncate(struct sg_policy *p, size_t n);

/* Indexes the policy (policy_index.h), so that sg_policy_is_shadowed()
 * is O(1) instead of a scan of the policy, and so is
 * sg_policy_find_trusted() of a prefix no entry has; add/remove keep the
 * index up to date, sg_policy_free frees it.  0 or -ENOMEM (no index:
 * still correct, only slower).  A struct copy of an indexed policy
 * shares the index: free only one of them. */
int sg_policy_index(struct sg_policy *p);
/* An approval is shadowed when policy.json has an entry for the same
 * prefix: that entry is the one in force. */
bool sg_policy_is_shadowed(const struct sg_policy *p, const struct sg_trusted_entry *t);

/* Name lookups: index, or -1. */
int sg_policy_class_index(const struct sg_policy *p, const char *name);
int sg_policy_group_index(const struct sg_policy *p, const char *name);

/* Adds to the policy; return the new index or -ENOMEM/-E2BIG. */
int sg_policy_add_class(struct sg_policy *p, const struct sg_rate_class *c);
int sg_policy_add_group(struct sg_policy *p, const char *name);
int sg_policy_add_relay(struct sg_policy *p, int group, const struct sg_addr *addr,
			const uint16_t *ports, size_t n_ports);
int sg_policy_add_port(struct sg_policy *p, uint16_t port);
int sg_policy_add_scope(struct sg_policy *p, const struct sg_prefix *prefix);

/* Group mask as "a,b" into buf. */
void sg_policy_format_groups(const struct sg_policy *p, uint64_t mask, char *buf, size_t len);

#endif
