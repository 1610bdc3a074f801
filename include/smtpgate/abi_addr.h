/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Addresses and the keys and values of the policy tables (scope,
 * trusted, relays), and the hashes over them that tests model exactly.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_ADDR_H
#define SMTPGATE_ABI_ADDR_H

#include <linux/types.h>
#include "abi_limits.h"

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
_Static_assert(sizeof(struct sg_addr) == 16, "sg_addr layout");
_Static_assert(sizeof(struct sg_lpm_key) == 20, "sg_lpm_key layout");
_Static_assert(sizeof(struct sg_trusted) == 24, "sg_trusted layout");
_Static_assert(sizeof(struct sg_relay_key) == 20, "sg_relay_key layout");
_Static_assert((SG_THROTTLE_BUCKETS & (SG_THROTTLE_BUCKETS - 1)) == 0,
	       "throttle buckets must be a power of two");
#endif

#endif /* SMTPGATE_ABI_ADDR_H */
