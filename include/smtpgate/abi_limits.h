/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane's clock and the fixed sizes of everything it keeps:
 * what every other part of the ABI is measured in.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_LIMITS_H
#define SMTPGATE_ABI_LIMITS_H

#include <linux/types.h>

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

#endif /* SMTPGATE_ABI_LIMITS_H */
