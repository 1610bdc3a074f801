/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Each CPU's scratch state (struct sg_cpu): the memos of the last
 * lookups, the write-combining cache of per-source accounting, the
 * per-second budgets and the clock memo, one value so that a governed
 * packet pays one map lookup for all of it.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_CPU_H
#define SMTPGATE_ABI_CPU_H

#include <linux/types.h>
#include "abi_addr.h"

/* Per-CPU memo of the last relay lookup (sg_cpu.relay).  A
 * generation's relay table never changes (the next generation gets a new
 * one), so (generation, address, port) -> groups can be remembered, and a
 * gateway talks to a handful of relays: the memo spares most governed
 * packets a hash lookup.  generation 0 (no policy) never matches. */
struct sg_relay_memo {
	__u64 generation;     /* sg_config.generation the answer is from */
	struct sg_addr addr;
	__u64 groups;         /* relay group mask, 0 if not a relay */
	__u16 port;
	__u8 pad[6];
};

/* Per-CPU budgets of the expensive steps of per-source accounting, per
 * second: first sightings (new event and source keys) and, for blocked
 * packets, any update of the per-source tables at all (each is a random
 * access into megabytes of LRU: the dearest part of a spoofed packet). */
struct sg_budget {
	__u64 window_start_ns;
	__u32 event_keys;
	__u32 source_keys;
	__u32 blocked_updates;
	__u32 pad;
};

/* Per-CPU memo of the last trusted lookup (sg_cpu.trusted): the
 * answer for src (an entry, or none) in generation `generation` at
 * sg_state.trusted_version `version`.  Userspace bumps the version after
 * changing a trusted table in place (approve, revoke) and a reload makes
 * a new generation, so a matching memo is the answer the tables would
 * give now.  A flood from one source, trusted or not, skips the Bloom
 * filter and the hash lookups. */
struct sg_trusted_memo {
	__u64 generation;     /* sg_config.generation; 0 never matches */
	__u64 version;
	struct sg_addr src;
	struct sg_trusted entry;
	__u32 found;
	__u32 pad;
};

/* Per-CPU write-combining cache of per-source accounting.  A flood from
 * one source would otherwise touch two LRU maps per packet; instead the
 * first packet of a (source, verdict, reason) takes the full path and
 * the following ones only count here, flushed into sg_sources and the
 * event aggregation when the key changes or SG_WC_FLUSH_NS has passed.
 * Readers of sg_sources add `pending` (and its bytes and connections)
 * of a matching entry. */
#define SG_WC_FLUSH_NS 100000000ull

struct sg_wc {
	struct sg_addr src;
	struct sg_addr dst;   /* of the latest packet, for the event record */
	__u64 flushed_ns;
	__u64 tick;           /* jiffies when the flush deadline was last checked */
	__u64 bytes;          /* IP bytes of the pending packets */
	/* Packets and new connections counted here, not yet flushed: 32
	 * bits hold a flush interval's worth (SG_WC_FLUSH_NS and a tick),
	 * so a packet adds to both in one 64-bit add (sg_wc_counts). */
	union {
		struct {
			__u32 pending;
			__u32 conns;
		};
		__u64 counts;
	};
	union {
		struct {
			__u8 attach;  /* counter slot, < SG_MAX_ATTACH */
			__u8 verdict;
			__u8 reason;
			__u8 valid;
		};
		__u32 key;    /* the four above, compared in one go: sg_wc_key() */
	};
	__u16 dport;
	__u8 pad[2];
};

/* sg_wc.key of a valid entry for (attach, verdict, reason). */
static inline __u32 sg_wc_key(__u32 attach, __u32 verdict, __u32 reason)
{
	union {
		__u8 b[4];
		__u32 key;
	} u = { .b = { (__u8)attach, (__u8)verdict, (__u8)reason, 1 } };

	return u.key;
}

/* What a packet adds to sg_wc.counts: packets and new connections in
 * one value, whatever the byte order. */
static inline __u64 sg_wc_counts(__u32 packets, __u32 conns)
{
	union {
		struct {
			__u32 pending;
			__u32 conns;
		} s;
		__u64 counts;
	} u = { .s = { packets, conns } };

	return u.counts;
}

/* Per-CPU memo of the data-plane clock (sg_cpu.clock): the coarse clock
 * value `ns` read while jiffies were `jiffies`.  The coarse clock moves
 * only when the tick updates the timekeeper, just after it advances
 * jiffies, so while jiffies still read `jiffies` the clock still reads
 * `ns`.  A value is remembered only once it differs from the previous
 * one: a read between the two steps of a tick (new jiffies, old time) is
 * not kept. */
struct sg_clock_memo {
	__u64 jiffies;
	__u64 ns;
};

/* A CPU's scratch state, sg_cpu[0] (per-CPU): everything a governed
 * packet may read or write for its CPU only, in one value so that the
 * packet pays one map lookup for all of it. */
struct sg_cpu {
	/* What every governed packet touches first, side by side. */
	struct sg_trusted_memo trusted;
	struct sg_wc wc;
	struct sg_relay_memo relay;
	struct sg_budget budget;
	struct sg_clock_memo clock;
};

#ifndef __bpf__
_Static_assert(sizeof(struct sg_relay_memo) == 40, "sg_relay_memo layout");
_Static_assert(sizeof(struct sg_trusted_memo) == 64, "sg_trusted_memo layout");
_Static_assert(sizeof(struct sg_wc) == 72, "sg_wc layout");
_Static_assert(sizeof(struct sg_budget) == 24, "sg_budget layout");
_Static_assert(sizeof(struct sg_cpu) == 216, "sg_cpu layout");
/* The data plane compares and copies these as 64-bit words. */
_Static_assert(__builtin_offsetof(struct sg_cpu, trusted.src) % 8 == 0 &&
		       __builtin_offsetof(struct sg_cpu, relay.addr) % 8 == 0 &&
		       __builtin_offsetof(struct sg_cpu, wc.src) % 8 == 0 &&
		       __builtin_offsetof(struct sg_cpu, wc.dst) % 8 == 0,
	       "sg_cpu addresses 8-byte aligned");
#endif

#endif /* SMTPGATE_ABI_CPU_H */
