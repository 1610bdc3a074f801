/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-CPU memos of the decision's lookups (struct sg_cpu in abi.h): the
 * last trusted answer and the last relay answer of this CPU.  A flood
 * from one source, or a gateway's traffic to its handful of relays,
 * then skips the Bloom filter and the hash lookups of lookup.h.  A memo
 * only ever returns what the tables would answer now: it is keyed by the
 * generation (a new policy is a new generation) and, for trusted
 * entries, by the version userspace bumps after changing a table in
 * place.  The clock's memo is in clock.h.
 *
 * Each function takes NULL for "no memo" (the per-CPU map could not be
 * read) and then asks the tables directly.
 */
#ifndef SG_BPF_MEMO_H
#define SG_BPF_MEMO_H

#include "lookup.h"

/* The trusted entry for src (see sg_lookup_tables) through this CPU's
 * memo of the last answer (see struct sg_trusted_memo).  The version is
 * read before the tables, so a change that lands during the lookup
 * leaves a memo that is already out of date, never a stale one that
 * looks current. */
static __always_inline const struct sg_trusted *sg_lookup_trusted(const struct sg_config *cfg,
								  __u32 gen,
								  const struct sg_state *st,
								  struct sg_trusted_memo *memo,
								  const struct sg_addr *src,
								  struct sg_trusted *net)
{
	const struct sg_trusted *t;
	__u64 version;

	if (!memo)
		return sg_lookup_tables(cfg, gen, src, net);
	version = *(volatile const __u64 *)&st->trusted_version;
	if (memo->generation == cfg->generation && memo->version == version &&
	    sg_addr_eq(&memo->src, src))
		return memo->found ? &memo->entry : NULL;
	t = sg_lookup_tables(cfg, gen, src, net);
	memo->generation = cfg->generation;
	memo->version = version;
	sg_addr_copy(&memo->src, src);
	memo->found = t != NULL;
	if (t)
		memo->entry = *t;
	return t;
}

/* The relay groups (dst, dport) belongs to in generation gen, through
 * this CPU's memo of the last answer (see struct sg_relay_memo).  A
 * generation's relay table never changes, so the answer holds for the
 * whole generation. */
static __always_inline __u64 sg_relay_groups(const struct sg_config *cfg, __u32 gen,
					     const struct sg_pkt *p, struct sg_relay_memo *memo)
{
	__u64 groups;
	void *table;

	if (memo && memo->generation == cfg->generation && memo->port == p->dport &&
	    sg_addr_eq(&memo->addr, &p->dst))
		return memo->groups;
	table = sg_relay_table(gen);
	if (!table)
		return 0; /* not remembered: the table may appear */
	groups = sg_relay_in(table, p);
	if (memo) {
		memo->generation = cfg->generation;
		sg_addr_copy(&memo->addr, &p->dst);
		memo->port = p->dport;
		memo->groups = groups;
	}
	return groups;
}

#endif /* SG_BPF_MEMO_H */
