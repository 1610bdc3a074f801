/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane as userspace sees it: open (or reuse pinned) maps, apply
 * a policy as a new generation with one switching write, change single
 * approvals and bans in place, attach to interfaces, read counters.
 *
 * Used by the tests (no pin dir: nothing outlives the process) and by
 * smtpgated (pin dir: maps and XDP links are pinned, so enforcement
 * outlives the daemon; TC filters outlive it by themselves).
 */
#ifndef SG_DATAPLANE_H
#define SG_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>
#include "policy.h"
#include "err.h"

struct sg_dp;

enum sg_xdp_mode {
	SG_XDP_AUTO = 0,    /* native, else generic */
	SG_XDP_NATIVE = 1,
	SG_XDP_GENERIC = 2,
};

/* Where the maps live.  NULL pin_dir: private maps for this process. */
int sg_dp_open(struct sg_dp **out, const char *pin_dir, struct sg_err *err);
/* Opens the pins an smtpgated left, for reading (smtpgatectl stats
 * --pin-dir with the daemon down): never creates or pins anything. */
int sg_dp_open_pinned(struct sg_dp **out, const char *pin_dir, struct sg_err *err);
/* Closes fds.  Pins, links and TC filters stay: enforcement continues. */
void sg_dp_close(struct sg_dp *dp);
/* True if sg_dp_open found existing pins and reused them. */
bool sg_dp_reused(const struct sg_dp *dp);

/* ---- policy ---- */

/* Builds the policy into the inactive generation and switches to it.
 * Approvals shadowed by a policy.json entry for the same prefix
 * (sg_policy_is_shadowed) are left out: that entry is the one in force.
 * On error nothing visible changes: the running generation stays. */
int sg_dp_apply(struct sg_dp *dp, const struct sg_policy *p, struct sg_err *err);
/* Generation counter of the active policy (0: none applied yet). */
uint64_t sg_dp_generation(const struct sg_dp *dp);

/* Adds or replaces one trusted entry in the active generation (one map
 * write; an existing entry keeps its rate state). */
int sg_dp_trust_put(struct sg_dp *dp, const struct sg_trusted_entry *t, struct sg_err *err);
int sg_dp_trust_del(struct sg_dp *dp, const struct sg_prefix *prefix, struct sg_err *err);
/* Makes room in the active generation for that many more host (/32,
 * /128) and network entries, growing a table once if it must (a copy of
 * the generation, switched in one write), so that a batch of puts does
 * not grow it again and again.  0, or an error with nothing changed. */
int sg_dp_trust_reserve(struct sg_dp *dp, size_t hosts, size_t nets, struct sg_err *err);
/* Looks up the entry the data plane holds for exactly this prefix. */
int sg_dp_trust_get(struct sg_dp *dp, const struct sg_prefix *prefix, struct sg_trusted *out);
/* The same, asking the kernel's active table directly rather than this
 * handle's own index: sees entries another process (a running daemon)
 * put after this handle was opened.  For tools that watch a daemon. */
int sg_dp_trust_peek(struct sg_dp *dp, const struct sg_prefix *prefix, struct sg_trusted *out);
/* Number of trusted entries in the active generation. */
long sg_dp_trust_count(struct sg_dp *dp);

/* ---- bans ---- */

/* duration_ns 0: until removed. */
int sg_dp_ban_put(struct sg_dp *dp, const struct sg_addr *a, uint64_t duration_ns,
		  uint32_t flags, struct sg_err *err);
int sg_dp_ban_del(struct sg_dp *dp, const struct sg_addr *a, struct sg_err *err);
typedef int (*sg_dp_ban_cb)(const struct sg_addr *a, const struct sg_ban *b, void *ctx);
/* Calls cb for every ban (expired ones too: they carry their deadline). */
int sg_dp_ban_foreach(struct sg_dp *dp, sg_dp_ban_cb cb, void *ctx);

/* ---- automatic bans ----
 * The data plane bans a trusted entry (all of a prefix), not an address:
 * the ban is in the entry's bucket, and sg_auto_bans holds a record of it
 * per entry slot (see struct sg_auto_ban). */

struct sg_entry_ban {
	struct sg_auto_ban rec;
	bool known;               /* entry is the active generation's entry of rec.slot */
	struct sg_prefix entry;
};
typedef int (*sg_dp_auto_ban_cb)(const struct sg_entry_ban *b, void *ctx);
/* Calls cb for every record (ended bans too: they carry their deadline). */
int sg_dp_auto_ban_foreach(struct sg_dp *dp, sg_dp_auto_ban_cb cb, void *ctx);
/* Lifts the automatic ban of the entry in `slot` (if its bucket still
 * holds one) and deletes its record.  -ENOENT if there is no record. */
int sg_dp_auto_ban_del(struct sg_dp *dp, uint32_t slot, struct sg_err *err);
/* The prefix of the active generation's entry in slot; -ENOENT if none. */
int sg_dp_slot_prefix(struct sg_dp *dp, uint32_t slot, struct sg_prefix *out);
/* How many prefixes the handle's own index of slots holds: always
 * sg_dp_trust_count's answer (the tests hold it to that), -1 on error. */
long sg_dp_index_size(struct sg_dp *dp);
/* How many applies in this process placed the entries that stay in two
 * threads (gen_trusted.c): for tests, which must know that way was
 * taken, not only that the result is right. */
unsigned long sg_dp_two_thread_applies(void);

/* ---- attachments ---- */

/* One interface and hook to attach (sg_dp_prepare). */
struct sg_dp_want {
	const char *ifname;
	int hook;
};

/* Loads ahead the program each of want[0..n) would get from
 * sg_dp_attach, called for them in that order: its counter slot is a
 * load-time constant, so the slot is found as attaching would (the one
 * recorded for the interface and hook, else the next free one), and
 * verifying the program is most of an attach.  Interfaces that do not
 * exist are skipped, as attaching skips them.  Nothing is attached or
 * recorded, and failures are left for sg_dp_attach to report; a slot
 * that turns out different only means that attaching loads its own. */
void sg_dp_prepare(struct sg_dp *dp, const struct sg_dp_want *want, size_t n);

/* Attaches to ifname at hook (enum sg_hook).  If this hook is already
 * attached (pins from an earlier run), the program is replaced
 * atomically: there is no instant without enforcement.  A device that is
 * not Ethernet is refused (-EPROTONOSUPPORT, see linktype.h) before
 * anything is loaded or changed. */
int sg_dp_attach(struct sg_dp *dp, const char *ifname, int hook, int xdp_mode,
		 struct sg_err *err);
int sg_dp_detach(struct sg_dp *dp, const char *ifname, int hook, struct sg_err *err);
/* Detaches everything recorded in the attachment table and removes every
 * pin: the only way enforcement stops. */
int sg_dp_destroy(struct sg_dp *dp, struct sg_err *err);

/* Removes smtpgate's TC filter from ifname/hook without any pins (for
 * filters left behind after pins were removed by hand).  0, -ENOENT if
 * there was none, -ENODEV if no such interface. */
int sg_tc_detach_ifname(const char *ifname, int hook);

struct sg_attachment {
	uint32_t slot;
	char ifname[16];
	int hook;           /* enum sg_hook */
	uint32_t xdp_flags; /* XDP_FLAGS_DRV_MODE / XDP_FLAGS_SKB_MODE, 0 for TC */
	bool attached;      /* the program is there now (link alive / filter present) */
};

/* Fills up to max attachments; returns how many there are. */
int sg_dp_attachments(struct sg_dp *dp, struct sg_attachment *out, int max);

/* A loaded, unattached program instance counting into `slot`: for
 * BPF_PROG_TEST_RUN tests and benchmarks.  The fd belongs to dp. */
int sg_dp_prog_fd(struct sg_dp *dp, int hook, uint32_t slot, struct sg_err *err);

/* ---- reading ---- */

/* Counters of one attachment slot, summed over CPUs. */
int sg_dp_read_counters(struct sg_dp *dp, uint32_t slot,
			struct sg_counter out[SG_V_COUNT][SG_R_COUNT]);
int sg_dp_read_stats(struct sg_dp *dp, uint64_t out[SG_STAT_COUNT]);
/* Per-source statistics summed over CPUs (what the write-combining
 * caches still hold included); cb is called per source. */
typedef int (*sg_dp_source_cb)(const struct sg_addr *a, const struct sg_source_stats *s,
			       void *ctx);
int sg_dp_source_foreach(struct sg_dp *dp, sg_dp_source_cb cb, void *ctx);
/* One source's statistics, the same way (all zero if it has none). */
int sg_dp_source_get(struct sg_dp *dp, const struct sg_addr *a, struct sg_source_stats *out);
/* What the per-CPU write-combining caches hold for sources but have not
 * flushed into the per-source table yet, read at one instant: for
 * readers that walk the table their own way (stats_snapshot.c) and add
 * it as the two functions above do.  NULL if out of memory (then there
 * is nothing to add). */
struct sg_source_cached;
struct sg_source_cached *sg_dp_source_cached(struct sg_dp *dp);
/* Adds the cached counts of source a to sum; they are consumed. */
void sg_source_cached_add(struct sg_source_cached *c, const struct sg_addr *a,
			  struct sg_source_stats *sum);
/* Calls cb for each source whose only packets are still cached (those
 * no _add consumed), then consumes them. */
int sg_source_cached_rest(struct sg_source_cached *c, sg_dp_source_cb cb, void *ctx);
void sg_source_cached_free(struct sg_source_cached *c);

/* The kernel memory of each map the data plane shares (pinned), by its
 * pin name, inner tables of both generations counted under their outer
 * map: fills up to max, returns how many maps there are (or -errno) and
 * the sum in *total.  From /proc/self/fdinfo's "memlock" (dp_memory.c). */
struct sg_map_memory {
	char name[32];
	uint64_t bytes;
};
#define SG_MAX_MAPS 32
int sg_dp_map_memory(struct sg_dp *dp, struct sg_map_memory *out, int max, uint64_t *total);

/* Raw map fd by map name ("sg_events", "sg_buckets", ...), or -1. */
int sg_dp_map_fd(struct sg_dp *dp, const char *name);
/* A copy of the config in force (all zero before the first policy). */
void sg_dp_active_config(const struct sg_dp *dp, struct sg_config *out);
/* A new fd of generation gen's (0 or 1) inner map of a per-generation
 * table ("sg_trusted_hosts", ...); -1 if none. */
int sg_dp_inner_fd(struct sg_dp *dp, const char *outer_name, int gen);

#endif
