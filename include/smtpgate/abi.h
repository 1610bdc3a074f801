/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything that crosses the kernel boundary:
 * map keys and values, verdicts and reasons with their names, counter
 * layout, the event record and the limits.  Included by the BPF programs
 * and by userspace; both sides must agree byte for byte, so every struct
 * uses fixed-width fields, no bitfields and explicit padding, and its size
 * is pinned by a static assertion at the bottom.
 *
 * Bump SG_ABI_VERSION whenever a layout or a meaning below changes: the
 * daemon refuses to reuse pinned maps of another ABI rather than silently
 * misreading them.
 */
#ifndef SMTPGATE_ABI_H
#define SMTPGATE_ABI_H

#include <linux/types.h>

#define SG_ABI_VERSION 7

/* ---- time ---------------------------------------------------------- */

/* The data plane's clock is CLOCK_MONOTONIC at tick resolution
 * (bpf_ktime_get_coarse_ns(): 1-10 ms steps, ~3 ns to read, where a
 * precise clock costs ~30 ns on a virtual machine).  Every deadline and
 * timestamp below (expiry, bans, buckets, events) is on this clock;
 * userspace writes them from clock_gettime(CLOCK_MONOTONIC).  Rate
 * classes must allow bursts of at least SG_MIN_BURST_NS of their rate so
 * that the tick cannot distort them. */
#define SG_MIN_BURST_NS 20000000ull

/* ---- limits -------------------------------------------------------- */

/* Trusted entries (prefixes) per policy, approvals included: 2^20, over
 * a million.  ABI 7 (262,144 before): it sizes sg_buckets, the one table
 * preallocated for it (40 bytes a slot, 40 MiB), and bounds the others. */
#define SG_MAX_TRUSTED      1048576
#define SG_MAX_SCOPE        4096   /* scope prefixes */
#define SG_MAX_RELAY_KEYS   16384  /* (relay address, port) pairs */
#define SG_MAX_GROUPS       64     /* relay groups: one bit each in a mask */
/* sg_relay_caps: group g's cap at g, unregistered sources' share of it at
 * SG_MAX_GROUPS + g */
#define SG_RELAY_CAP_BUCKETS (2 * SG_MAX_GROUPS)
#define SG_MAX_CLASSES      64     /* rate classes */
#define SG_MAX_ATTACH       64     /* interface+hook attachments per daemon */
#define SG_MAX_BANS         65536  /* manual bans (sg_bans): the data plane never adds any */
#define SG_MAX_AUTO_BANS    SG_MAX_TRUSTED /* automatic bans: at most one per trusted entry */
#define SG_MAX_SOURCES      131072 /* per-source statistics (LRU) */
#define SG_MAX_EVENT_KEYS   65536  /* event aggregation (LRU) */
#define SG_THROTTLE_BUCKETS 65536  /* hashed buckets for unregistered sources */
#define SG_RINGBUF_BYTES    (1u << 20)
#define SG_MAX_PREFIX_LENS  16     /* distinct lengths among trusted prefixes / scope */
#define SG_MAX_VLAN_TAGS    2
#define SG_MAX_IPV6_EXT     8      /* longer extension chains are malformed */
#define SG_GENERATIONS      2      /* policy tables are double-buffered */
#define SG_BLOOM_LOG2       23
#define SG_BLOOM_BITS       (1u << SG_BLOOM_LOG2) /* per generation: 1 MiB, ~1 % false hits at 100k */
#define SG_BLOOM_WORDS      (SG_BLOOM_BITS / 64)
#define SG_NO_CLASS         0xffffffffu

/* Token-bucket costs are nanoseconds scaled by 2^SG_RATE_SHIFT so that
 * byte rates in the GB/s range keep sub-nanosecond precision. */
#define SG_RATE_SHIFT 20

/* ---- verdicts and reasons ----------------------------------------- */

enum sg_verdict {
	SG_V_PASS = 0,
	SG_V_DROP = 1,
	SG_V_REJECT = 2,
	SG_V_MONITOR = 3,
	SG_V_COUNT
};

enum sg_reason {
	SG_R_TRUSTED = 0,
	SG_R_THROTTLE_ALLOWANCE = 1,
	SG_R_UNTRUSTED_SOURCE = 2,
	SG_R_UNAPPROVED_RELAY = 3,
	SG_R_RATE_LIMITED = 4,
	SG_R_BANNED = 5,
	SG_R_EXPIRED = 6,
	SG_R_FRAGMENT = 7,
	SG_R_MALFORMED = 8,
	SG_R_COUNT
};

#ifndef __bpf__
/* Names are what metrics, JSON and logs print; indexed by the enums. */
static const char *const sg_verdict_names[SG_V_COUNT] = {
	[SG_V_PASS] = "pass",
	[SG_V_DROP] = "drop",
	[SG_V_REJECT] = "reject",
	[SG_V_MONITOR] = "monitor",
};

static const char *const sg_reason_names[SG_R_COUNT] = {
	[SG_R_TRUSTED] = "trusted",
	[SG_R_THROTTLE_ALLOWANCE] = "throttle_allowance",
	[SG_R_UNTRUSTED_SOURCE] = "untrusted_source",
	[SG_R_UNAPPROVED_RELAY] = "unapproved_relay",
	[SG_R_RATE_LIMITED] = "rate_limited",
	[SG_R_BANNED] = "banned",
	[SG_R_EXPIRED] = "expired",
	[SG_R_FRAGMENT] = "fragment",
	[SG_R_MALFORMED] = "malformed",
};
#endif

/* ---- policy (one copy per generation) ------------------------------ */

enum sg_mode {
	SG_MODE_ENFORCE = 0,
	SG_MODE_MONITOR = 1,
};

enum sg_unreg_action {
	SG_UNREG_DROP = 0,
	SG_UNREG_REJECT = 1,
	SG_UNREG_THROTTLE = 2,
};

/* sg_config.flags.  Bits 0 and 1 are retired (ABI 1: "scope has
 * entries", "trusted prefixes exist"; n_scope_lens and n_net_lens say so
 * since ABI 2): never set, never read, not to be reused. */
#define SG_CFG_BAN_AUTO   (1u << 2) /* automatic bans enabled */
#define SG_CFG_RELAY_CAPS (1u << 3) /* some relay group has a cap */

/* A rate class as the data plane uses it.  A zero cost means "no limit
 * on this dimension".  cost = ns per unit << SG_RATE_SHIFT; tau = how far
 * (in ns) the virtual clock may run ahead of real time, i.e. the burst. */
struct sg_rate {
	__u64 conn_cost;
	__u64 conn_tau_ns;
	__u64 byte_cost;
	__u64 byte_tau_ns;
};

#define SG_PORT_WORDS (65536 / 64)

/* The index of port (host byte order) in sg_config.ports: its bytes in
 * network order, read back as a __u16 on this host. */
static inline __u16 sg_port_wire(__u16 port)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u16)((port >> 8) | (port << 8));
#else
	return port;
#endif
}

struct sg_config {
	__u64 generation;           /* increments on every switch */
	__u32 mode;                 /* enum sg_mode */
	__u32 flags;                /* SG_CFG_* */
	__u32 unreg_action;         /* enum sg_unreg_action */
	__u32 unreg_class;          /* class index for throttle, or SG_NO_CLASS */
	__u32 ban_violations;       /* violations within window that trigger a ban */
	__u32 event_budget;         /* new event keys per second per CPU */
	__u64 ban_window_ns;
	__u64 ban_duration_ns;
	__u64 event_interval_ns;    /* at most one event per source+reason per interval */
	__u32 source_budget;        /* new per-source statistics keys per second per CPU */
	__u8 n_net_lens;            /* distinct lengths of trusted prefixes (not hosts) */
	__u8 n_scope_lens;          /* distinct lengths of scope prefixes; 0 = no scope */
	__u8 pad[2];
	/* Prefix lengths (over 128 bits), longest first: the prefix tables
	 * are one hash per length, asked in this order. */
	__u8 net_lens[SG_MAX_PREFIX_LENS];
	__u8 scope_lens[SG_MAX_PREFIX_LENS];
	__u32 blocked_budget;       /* per-source updates for blocked packets per second per CPU */
	__u8 pad_lines[28];         /* the size a whole number of cache lines */
	struct sg_rate classes[SG_MAX_CLASSES];
	struct sg_rate relay_cap[SG_MAX_GROUPS]; /* conn_* only; zero = no cap */
	/* Per capped group, the share of its cap that unregistered
	 * (throttled) sources may use at most: they are charged this share
	 * and the cap, trusted entries the cap only, so no flood of
	 * unregistered sources takes more than the share from trusted ones. */
	struct sg_rate relay_cap_unreg[SG_MAX_GROUPS];
	/* Governed destination ports, a bitmap indexed by the port as it is
	 * on the wire (network byte order read as a __u16: sg_port_wire()),
	 * so that the data plane tests the header field without a swap. */
	__u64 ports[SG_PORT_WORDS];
};

/* ---- addresses ----------------------------------------------------- */

/* Every address is 16 bytes: IPv6 as is, IPv4 as IPv4-mapped IPv6
 * (::ffff:a.b.c.d).  One key shape serves both families, and an IPv4
 * prefix /n is the mapped prefix /(96+n).  Prefix tables are keyed by
 * sg_lpm_key with the address masked to prefixlen bits. */
struct sg_addr {
	union {
		__u8 b[16];
		__u32 w[4]; /* network byte order words, for hashing and masking */
	};
};

struct sg_lpm_key {
	__u32 prefixlen;   /* over the 128-bit mapped address */
	struct sg_addr addr;
};

/* Value of the trusted tables (host hash and prefix hash). */
struct sg_trusted {
	__u64 relay_groups;   /* bit g: may use relay group g */
	__u64 expires_ns;     /* data-plane clock deadline; 0 = never */
	__u32 slot;           /* index into sg_buckets: this entry's rate state */
	__u32 class_idx;      /* rate class, or SG_NO_CLASS for unlimited */
};

struct sg_relay_key {
	struct sg_addr addr;
	__u16 port;           /* host byte order */
	__u8 pad[2];
};

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

/* ---- state --------------------------------------------------------- */

/* Rate state of one trusted entry, one throttle bucket or one relay cap.
 * Generic cell rate algorithm: each *_tat is a theoretical arrival time
 * on the data-plane clock, advanced by compare-and-swap, so rates hold
 * across CPUs without a lock (a spin lock disables interrupts, which is
 * dear on virtual machines).
 *
 * ban_until_ns is the automatic ban of a trusted entry (sg_buckets only):
 * a violation of an entry's rate class is the entry's, whichever of its
 * addresses sent the packet, so the ban is the entry's too (all of a
 * prefix).  It lives in the bucket the packet reads anyway: no lookup, and
 * no table that automatic bans could fill.  It comes first so that it
 * shares a cache line with conn_tat whatever the bucket's offset. */
#define SG_BAN_FOREVER (~0ull) /* ban_until_ns: until removed */

struct sg_bucket {
	__u64 ban_until_ns;   /* 0: not banned; SG_BAN_FOREVER; else the deadline */
	__u64 conn_tat;
	__u64 byte_tat;
	__u64 window_start_ns;
	__u32 violations;     /* rate-limited packets in the current window */
	__u32 pad;
};

/* What userspace reports about an automatic ban (sg_auto_bans, keyed by
 * the entry's slot): enforcement is ban_until_ns in the entry's bucket,
 * this record is how the ban is listed, counted and ended.  The data plane
 * writes it after the bucket; userspace deletes it with the ban. */
struct sg_auto_ban {
	__u64 since_ns;       /* data-plane clock */
	__u64 expires_ns;     /* data-plane clock deadline; 0 = until removed */
	struct sg_addr src;   /* the source whose violation reached the threshold */
	__u32 slot;           /* the entry's slot (also the key) */
	__u32 pad;
};

/* sg_ban.flags.  sg_bans holds manual bans only since ABI 6 (automatic
 * bans are per entry, see struct sg_auto_ban), so SG_BAN_AUTO is
 * retired: the data plane no longer sets it and a current daemon never
 * writes it; readers still test it, harmlessly, and the bit is not to be
 * reused. */
#define SG_BAN_AUTO   (1u << 0) /* retired: created by the data plane (ABI <= 5) */
#define SG_BAN_MANUAL (1u << 1) /* created by an operator */

struct sg_ban {
	__u64 since_ns;       /* data-plane clock */
	__u64 expires_ns;     /* data-plane clock deadline; 0 = until removed */
	__u32 flags;
	__u32 pad;
};

/* ---- counters ------------------------------------------------------ */

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
#endif

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

/* Global state shared with userspace (sg_live.state). */
struct sg_state {
	__u64 bans;           /* entries in sg_bans: 0 lets packets skip the lookup */
	__u64 trusted_version; /* +1 after every change to a trusted table in place */
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

/* What every packet reads first: the generation in force, both
 * generations' configs and the global state.  It is one global variable
 * of the BPF object (section SG_LIVE_SECTION, pinned as "sg_live"), not a
 * map entry: the programs read it at an address fixed when they are
 * loaded, with no map lookup, and userspace maps it.  The loader writes
 * the inactive config, then `active` with one store (release), so a
 * packet that reads `active` once sees one whole policy. */
struct sg_live {
	__u32 active;         /* index of the generation in force: config[active] */
	__u32 pad;
	struct sg_state state;
	__u8 pad_line[40];
	/* Each config starts a cache line, so that the fields every packet
	 * reads (its first 64 bytes) share one line. */
	struct sg_config config[SG_GENERATIONS];
	/* The governed ports of every generation a packet may be using (a
	 * superset of config[active].ports while a switch is under way, equal
	 * to it otherwise): the first test of every packet, at a fixed
	 * address, before the generation is read.  A port not in it is not
	 * governed by either generation. */
	__u64 ports_any[SG_PORT_WORDS];
};

#define SG_LIVE_SECTION ".data.sg_live" /* also the map's name */
#define SG_LIVE_PIN     "sg_live"

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

/* ---- events -------------------------------------------------------- */

struct sg_event_key {
	struct sg_addr src;
	__u32 reason;
};

struct sg_event_agg {
	__u64 last_emit_ns;
	__u64 pending;        /* packets since the last event for this key */
};

/* sg_event.kind */
enum sg_event_kind {
	SG_EVT_PACKET = 0,    /* aggregated packets with a non-pass verdict */
	SG_EVT_BAN_START = 1, /* the data plane banned a source */
};

struct sg_event {
	__u64 ts_ns;          /* data-plane clock */
	struct sg_addr src;
	struct sg_addr dst;
	__u64 count;          /* packets this event stands for */
	__u16 dport;
	__u16 attach;         /* attachment slot */
	__u8 verdict;
	__u8 reason;
	__u8 kind;            /* enum sg_event_kind */
	__u8 pad;
};

/* ---- pinned metadata ----------------------------------------------- */

/* sg_meta[0]: lets a restarted daemon check it can reuse the pins. */
struct sg_meta {
	__u32 abi_version;
	__u32 generations_built;
	__u64 created_unix;
};

/* sg_attachments[slot]: which interface and hook a counter slot is. */
enum sg_hook {
	SG_HOOK_NONE = 0,
	SG_HOOK_XDP = 1,
	SG_HOOK_TC_INGRESS = 2,
	SG_HOOK_TC_EGRESS = 3,
};

#ifndef __bpf__
/* Names are what configs, metrics, JSON and logs use. */
static const char *const sg_hook_names[] = {
	[SG_HOOK_NONE] = "none",
	[SG_HOOK_XDP] = "xdp",
	[SG_HOOK_TC_INGRESS] = "tc-ingress",
	[SG_HOOK_TC_EGRESS] = "tc-egress",
};

static inline const char *sg_hook_name(int hook)
{
	return hook > SG_HOOK_NONE && hook <= SG_HOOK_TC_EGRESS ? sg_hook_names[hook] : "none";
}
#endif

struct sg_attach_info {
	char ifname[16];
	__u32 hook;           /* enum sg_hook */
	__u32 xdp_mode;       /* XDP_FLAGS_* actually in use, 0 for TC */
};

/* The hash that spreads unregistered sources over the throttle buckets.
 * Defined here, not in the BPF code, because tests model it exactly. */
static inline __u32 sg_throttle_hash(const struct sg_addr *a)
{
	__u32 h = a->w[0] * 0x9e3779b1u;

	h = (h ^ a->w[1]) * 0x85ebca77u;
	h = (h ^ a->w[2]) * 0xc2b2ae3du;
	h = (h ^ a->w[3]) * 0x27d4eb2fu;
	return (h ^ (h >> 15)) & (SG_THROTTLE_BUCKETS - 1);
}

/* Trusted keys (hosts as (128, address), prefixes as (length, masked
 * address)) are also bits of a Bloom filter per generation, so that an
 * untrusted source usually costs one array read instead of hash misses.
 *
 * Multiply-shift over the key's two 64-bit halves and its length: the
 * three products do not depend on each other, so the CPU overlaps them,
 * where a word-by-word chain of dependent multiplies (ABI 2) cost about
 * 3 ns on every governed packet.  One more multiply mixes the sum, whose
 * top bits (which depend on every input bit) pick the filter's bit. */
static inline __u32 sg_bloom_bit_of(__u32 prefixlen, const struct sg_addr *a)
{
	__u64 lo = (__u64)a->w[0] << 32 | a->w[1];
	__u64 hi = (__u64)a->w[2] << 32 | a->w[3];
	__u64 h = lo * 0x9e3779b97f4a7c15ull + hi * 0xc2b2ae3d27d4eb4full +
		  (__u64)(prefixlen + 1) * 0x165667b19e3779f9ull;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (__u32)(h >> (64 - SG_BLOOM_LOG2));
}

static inline __u32 sg_bloom_bit(const struct sg_lpm_key *k)
{
	return sg_bloom_bit_of(k->prefixlen, &k->addr);
}

#ifndef __bpf__
_Static_assert(sizeof(struct sg_rate) == 32, "sg_rate layout");
_Static_assert(sizeof(struct sg_config) ==
	       64 + 2 * SG_MAX_PREFIX_LENS + 32 + 32 * SG_MAX_CLASSES + 2 * 32 * SG_MAX_GROUPS +
		       8 * SG_PORT_WORDS,
	       "sg_config layout");
_Static_assert(sizeof(struct sg_addr) == 16, "sg_addr layout");
_Static_assert(sizeof(struct sg_lpm_key) == 20, "sg_lpm_key layout");
_Static_assert(sizeof(struct sg_trusted) == 24, "sg_trusted layout");
_Static_assert(sizeof(struct sg_relay_key) == 20, "sg_relay_key layout");
_Static_assert(sizeof(struct sg_relay_memo) == 40, "sg_relay_memo layout");
_Static_assert(sizeof(struct sg_trusted_memo) == 64, "sg_trusted_memo layout");
_Static_assert(sizeof(struct sg_state) == 16, "sg_state layout");
_Static_assert(sizeof(struct sg_live) == 64 + SG_GENERATIONS * sizeof(struct sg_config) +
		       8 * SG_PORT_WORDS,
	       "sg_live layout");
_Static_assert(sizeof(struct sg_config) % 64 == 0, "sg_config: whole cache lines");
_Static_assert(sizeof(struct sg_bucket) == 40, "sg_bucket layout");
_Static_assert(sizeof(struct sg_auto_ban) == 40, "sg_auto_ban layout");
_Static_assert(sizeof(struct sg_ban) == 24, "sg_ban layout");
_Static_assert(sizeof(struct sg_counter) == 24, "sg_counter layout");
_Static_assert(sizeof(struct sg_event_key) == 20, "sg_event_key layout");
_Static_assert(sizeof(struct sg_event) == 56, "sg_event layout");
_Static_assert(sizeof(struct sg_attach_info) == 24, "sg_attach_info layout");
_Static_assert(sizeof(struct sg_wc) == 72, "sg_wc layout");
_Static_assert(sizeof(struct sg_budget) == 24, "sg_budget layout");
_Static_assert(sizeof(struct sg_cpu) == 216, "sg_cpu layout");
_Static_assert(sizeof(struct sg_source_stats) == 104, "sg_source_stats layout");
/* blocked[] covers exactly the reasons a drop or reject can have. */
_Static_assert(SG_R_TRUSTED < SG_SRC_FIRST_BLOCK && SG_R_THROTTLE_ALLOWANCE < SG_SRC_FIRST_BLOCK,
	       "pass reasons come before the blocking ones");
/* The data plane compares and copies these as 64-bit words. */
_Static_assert(__builtin_offsetof(struct sg_cpu, trusted.src) % 8 == 0 &&
		       __builtin_offsetof(struct sg_cpu, relay.addr) % 8 == 0 &&
		       __builtin_offsetof(struct sg_cpu, wc.src) % 8 == 0 &&
		       __builtin_offsetof(struct sg_cpu, wc.dst) % 8 == 0,
	       "sg_cpu addresses 8-byte aligned");
_Static_assert((SG_THROTTLE_BUCKETS & (SG_THROTTLE_BUCKETS - 1)) == 0,
	       "throttle buckets must be a power of two");
#endif

#endif /* SMTPGATE_ABI_H */
