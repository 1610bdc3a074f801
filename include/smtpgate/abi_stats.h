/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the data plane counts: per attachment x verdict x reason, per
 * source, and its global statistics.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_STATS_H
#define SMTPGATE_ABI_STATS_H

#include <linux/types.h>
#include "abi_limits.h"
#include "abi_verdicts.h"

/* sg_counters is a per-CPU array indexed by sg_counter_index(). */
struct sg_counter {
	__u64 packets;
	__u64 bytes;          /* IP bytes (header + payload), not L2 */
	__u64 conns;          /* SYN without ACK */
};

#define SG_COUNTER_SLOTS (SG_MAX_ATTACH * SG_V_COUNT * SG_R_COUNT)

static inline __u32 sg_counter_index(__u32 attach, __u32 verdict, __u32 reason)
{
	return (attach * SG_V_COUNT + verdict) * SG_R_COUNT + reason;
}

/* Per-source statistics (LRU, per-CPU), what the usage history keeps
 * per source: packets per verdict; of passed packets, IP bytes and new
 * connections; of blocked packets (drop or reject), the count per
 * reason.  Only the reasons from SG_R_UNTRUSTED_SOURCE on can block
 * (trusted and throttle_allowance are pass reasons), so blocked[] starts
 * there: blocked[r - SG_SRC_FIRST_BLOCK].  Monitor-mode packets are in
 * packets[SG_V_MONITOR] only: nothing was blocked.
 *
 * 104 bytes per CPU per source (32 before bytes, connections and
 * reasons came in): SG_MAX_SOURCES x 104 = 13 MiB per CPU, preallocated
 * by the kernel for the LRU.  Every field is 64-bit: a per-CPU counter
 * that wrapped would read as a reset to the usage history's deltas. */
#define SG_SRC_FIRST_BLOCK SG_R_UNTRUSTED_SOURCE
#define SG_SRC_BLOCK_REASONS (SG_R_COUNT - SG_SRC_FIRST_BLOCK)
struct sg_source_stats {
	__u64 packets[SG_V_COUNT];
	__u64 bytes;          /* IP bytes of passed packets */
	__u64 conns;          /* new connections (SYN without ACK) passed */
	__u64 blocked[SG_SRC_BLOCK_REASONS]; /* dropped or rejected packets, by reason */
};

/* Global per-CPU statistics, indexed by enum sg_stat. */
enum sg_stat {
	SG_STAT_EVENTS_LOST = 0,      /* ring buffer full */
	SG_STAT_EVENTS_SUPPRESSED,    /* over the per-CPU event budget */
	SG_STAT_BAN_FAILED,           /* an automatic ban's record could not be stored (it is enforced all the same) */
	SG_STAT_RST_FAILED,           /* reject could not build a RST */
	SG_STAT_SOURCES_UNTRACKED,    /* packets of new sources over the per-CPU budget */
	SG_STAT_COUNT
};

#ifndef __bpf__
static const char *const sg_stat_names[SG_STAT_COUNT] = {
	[SG_STAT_EVENTS_LOST] = "events_lost",
	[SG_STAT_EVENTS_SUPPRESSED] = "events_suppressed",
	[SG_STAT_BAN_FAILED] = "ban_failed",
	[SG_STAT_RST_FAILED] = "rst_failed",
	[SG_STAT_SOURCES_UNTRACKED] = "sources_untracked",
};

_Static_assert(sizeof(struct sg_counter) == 24, "sg_counter layout");
_Static_assert(sizeof(struct sg_source_stats) == 104, "sg_source_stats layout");
/* blocked[] covers exactly the reasons a drop or reject can have. */
_Static_assert(SG_R_TRUSTED < SG_SRC_FIRST_BLOCK && SG_R_THROTTLE_ALLOWANCE < SG_SRC_FIRST_BLOCK,
	       "pass reasons come before the blocking ones");
#endif

#endif /* SMTPGATE_ABI_STATS_H */
