/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How the decision asks the policy tables, and what makes that cheap.
 * The semantics (docs/semantics.md) are simple: "the longest scope or
 * trusted prefix containing the source", "the relay groups of (address,
 * port)".  The data plane answers them with one hash per distinct prefix
 * length (longest first), a Bloom filter per generation that rules out
 * most probes for an untrusted source, and the exact host hash asked
 * before any prefix (a host is the longest possible match).
 *
 * The prefix walks are global functions (defined in smtpgate.bpf.c, with
 * every other global function): the verifier checks each once on its own
 * instead of multiplying its loop into every path.
 */
#ifndef SG_BPF_LOOKUP_H
#define SG_BPF_LOOKUP_H

#include "maps.h"
#include "parse.h"

/* key = (len, addr masked to its first len bits). */
static __always_inline void sg_prefix_key(struct sg_lpm_key *k, const struct sg_addr *a,
					  __u32 len)
{
	k->prefixlen = len;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 bits = len > (__u32)i * 32 ? len - (__u32)i * 32 : 0;
		__u32 mask = bits >= 32 ? 0xffffffffu : bits ? bpf_htonl(~0u << (32 - bits)) : 0;

		k->addr.w[i] = a->w[i] & mask;
	}
}

/* May (prefixlen, a) be a key of generation gen's trusted tables?
 * 0: certainly not. */
static __always_inline int sg_bloom_maybe(__u32 gen, __u32 prefixlen, const struct sg_addr *a)
{
	__u32 bit = sg_bloom_bit_of(prefixlen, a);
	__u32 idx = (gen & (SG_GENERATIONS - 1)) * SG_BLOOM_WORDS + (bit >> 6);
	__u64 *w = bpf_map_lookup_elem(&sg_bloom, &idx);

	return !w || ((*w >> (bit & 63)) & 1); /* no word: ask the table */
}

/* The longest prefix in `table` containing a: one hash probe per length
 * of `lens` (longest first, n of them); bloom_gen >= 0 skips probes the
 * generation's Bloom filter rules out. */
static __always_inline void *sg_longest_prefix(void *table, const __u8 *lens, __u32 n,
					       const struct sg_addr *a, int bloom_gen)
{
	struct sg_lpm_key key;
	void *hit;

	/* A bounded loop, not unrolled: it probes a map and exits early. */
	for (__u32 i = 0; i < SG_MAX_PREFIX_LENS && i < n; i++) {
		sg_prefix_key(&key, a, lens[i] & 0xff);
		if (bloom_gen >= 0 && !sg_bloom_maybe((__u32)bloom_gen, key.prefixlen, &key.addr))
			continue;
		hit = bpf_map_lookup_elem(table, &key);
		if (hit)
			return hit;
	}
	return NULL;
}

static __always_inline const struct sg_config *sg_config_of(__u32 gen)
{
	return &sg_live.config[gen & (SG_GENERATIONS - 1)];
}

/* Global functions over sg_longest_prefix (smtpgate.bpf.c).
 * sg_scope_contains: is src in generation gen's scope (1 without one)?
 * sg_trusted_net: copies the longest trusted prefix entry containing src
 * into *out; 1 if there is one. */
int sg_scope_contains(const struct sg_addr *src, __u32 gen);
int sg_trusted_net(const struct sg_addr *src, __u32 gen, struct sg_trusted *out);

static __always_inline int sg_in_scope(const struct sg_config *cfg, __u32 gen,
				       const struct sg_addr *src)
{
	return !cfg->n_scope_lens || sg_scope_contains(src, gen);
}

/* The trusted entry for src: the exact host entry (a pointer into the
 * map), else a copy of the longest prefix entry in *net (a global
 * function cannot hand out a map value). */
static __always_inline const struct sg_trusted *sg_lookup_tables(const struct sg_config *cfg,
								 __u32 gen,
								 const struct sg_addr *src,
								 struct sg_trusted *net)
{
	struct sg_trusted *t = NULL;
	void *table;

	/* A host entry is the longest possible match, so the exact hash
	 * answers first and prefixes are only probed when it misses. */
	if (sg_bloom_maybe(gen, 128, src)) {
		table = bpf_map_lookup_elem(&sg_trusted_hosts, &gen);
		if (table)
			t = bpf_map_lookup_elem(table, src);
	}
	if (!t && cfg->n_net_lens && sg_trusted_net(src, gen, net))
		return net;
	return t;
}

/* Generation gen's relay table (NULL if it has none yet). */
static __always_inline void *sg_relay_table(__u32 gen)
{
	return bpf_map_lookup_elem(&sg_relays, &gen);
}

/* The relay groups (a mask) that (dst, dport) belongs to in `table`. */
static __always_inline __u64 sg_relay_in(void *table, const struct sg_pkt *p)
{
	struct sg_relay_key key = { .addr = p->dst, .port = p->dport };
	__u64 *mask = bpf_map_lookup_elem(table, &key);

	return mask ? *mask : 0;
}

#endif /* SG_BPF_LOOKUP_H */
