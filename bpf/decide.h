/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision for a governed packet, in the order docs/policy.md gives:
 * ban -> trusted prefix -> expiry -> relay -> rate class (-> relay cap)
 * -> pass; a source that is not trusted gets the policy's unregistered
 * action.  Everything it needs is in the maps: the daemon is never
 * consulted, so a dead daemon changes nothing here.
 */
#ifndef SG_BPF_DECIDE_H
#define SG_BPF_DECIDE_H

#include "maps.h"
#include "parse.h"
#include "ratelimit.h"
#include "clock.h"

struct sg_decision {
	__u8 verdict;     /* enum sg_verdict (before monitor mode is applied) */
	__u8 reason;      /* enum sg_reason */
	__u8 banned_now;  /* this packet's violation started an automatic ban */
	__u8 pad;
};

static __always_inline int sg_set(struct sg_decision *d, __u8 verdict, __u8 reason)
{
	d->verdict = verdict;
	d->reason = reason;
	return 0;
}

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

/* Prefix probing lives in global functions: the verifier checks each
 * once on its own instead of multiplying its loop into every path. */
__noinline int sg_scope_contains(const struct sg_addr *src, __u32 gen)
{
	const struct sg_config *cfg = sg_config_of(gen);
	void *scope;

	if (!src || !cfg || !cfg->n_scope_lens)
		return 1; /* no scope: every source is governed */
	scope = bpf_map_lookup_elem(&sg_scope, &gen);
	if (!scope)
		return 1; /* fail closed: govern */
	return sg_longest_prefix(scope, cfg->scope_lens, cfg->n_scope_lens, src, -1) != NULL;
}

/* Copies the longest trusted prefix entry containing src into *out. */
__noinline int sg_trusted_net(const struct sg_addr *src, __u32 gen, struct sg_trusted *out)
{
	const struct sg_config *cfg = sg_config_of(gen);
	struct sg_trusted *t;
	void *table;

	if (!src || !out || !cfg || !cfg->n_net_lens)
		return 0;
	table = bpf_map_lookup_elem(&sg_trusted_nets, &gen);
	if (!table)
		return 0;
	t = sg_longest_prefix(table, cfg->net_lens, cfg->n_net_lens, src, (int)gen);
	if (!t)
		return 0;
	*out = *t;
	return 1;
}

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

/* sg_lookup_tables() through this CPU's memo of the last answer (see
 * struct sg_trusted_memo; NULL: none).  The version is read before the
 * tables, so a change that lands during the lookup leaves a memo that is
 * already out of date, never a stale one that looks current. */
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
 * this CPU's memo of the last answer (see struct sg_relay_memo; NULL:
 * none). */
static __always_inline __u64 sg_relay_groups(const struct sg_config *cfg, __u32 gen,
					     const struct sg_pkt *p, struct sg_relay_memo *memo)
{
	struct sg_relay_key key = { .addr = p->dst, .port = p->dport };
	__u64 *mask, groups = 0;
	void *table;

	if (memo && memo->generation == cfg->generation && memo->port == p->dport &&
	    sg_addr_eq(&memo->addr, &p->dst))
		return memo->groups;
	table = bpf_map_lookup_elem(&sg_relays, &gen);
	if (!table)
		return 0; /* not remembered: the table may appear */
	mask = bpf_map_lookup_elem(table, &key);
	if (mask)
		groups = *mask;
	if (memo) {
		memo->generation = cfg->generation;
		sg_addr_copy(&memo->addr, &p->dst);
		memo->port = p->dport;
		memo->groups = groups;
	}
	return groups;
}

/* Index of the lowest set bit of a non-zero mask (clang 14 cannot lower
 * __builtin_ctzll for BPF). */
static __always_inline __u32 sg_lowest_bit(__u64 x)
{
	__u32 n = 0;

	if (!(x & 0xffffffffull)) { n += 32; x >>= 32; }
	if (!(x & 0xffff)) { n += 16; x >>= 16; }
	if (!(x & 0xff)) { n += 8; x >>= 8; }
	if (!(x & 0xf)) { n += 4; x >>= 4; }
	if (!(x & 0x3)) { n += 2; x >>= 2; }
	if (!(x & 0x1)) n += 1;
	return n;
}

/* The relay cap of the lowest-numbered group this packet may use.
 * Unregistered (throttled) sources first take from their own share of the
 * cap (sg_relay_caps[SG_MAX_GROUPS + g]), then from the cap: a flood of
 * them can take at most the share from trusted entries. */
static __always_inline int sg_relay_cap_ok(const struct sg_config *cfg, __u64 groups,
					   __u64 now, int is_conn, int unreg)
{
	const struct sg_rate *cap;
	struct sg_bucket *b;
	__u32 g, k;

	if (!is_conn || !groups || !(cfg->flags & SG_CFG_RELAY_CAPS))
		return 1; /* the usual policy has no caps: skip finding the group */
	g = sg_lowest_bit(groups) & (SG_MAX_GROUPS - 1);
	cap = &cfg->relay_cap[g];
	if (!cap->conn_cost)
		return 1;
	if (unreg) {
		k = SG_MAX_GROUPS + g;
		b = bpf_map_lookup_elem(&sg_relay_caps, &k);
		if (!b || sg_charge(b, &cfg->relay_cap_unreg[g], now, 1, 0, NULL) != SG_CHARGE_OK)
			return 0;
	}
	b = bpf_map_lookup_elem(&sg_relay_caps, &g);
	if (!b)
		return 0;
	return sg_charge(b, cap, now, 1, 0, NULL) == SG_CHARGE_OK;
}

static __always_inline struct sg_state *sg_global_state(void)
{
	return &sg_live.state;
}

/* An automatic ban is the entry's (see struct sg_bucket): its deadline
 * goes into the entry's bucket, which every packet of the entry reads, and
 * a record of it into sg_auto_bans for userspace (keyed by slot: one per
 * entry at most, so never full).  sg_bans, the manual bans, is not
 * touched: no traffic can use up the room an operator's ban needs. */
static __always_inline void sg_ban_entry(const struct sg_config *cfg, struct sg_bucket *b,
					 __u32 slot, const struct sg_addr *src, __u64 now)
{
	struct sg_auto_ban rec = {
		.since_ns = now,
		.expires_ns = cfg->ban_duration_ns ? now + cfg->ban_duration_ns : 0,
		.slot = slot,
	};

	sg_addr_copy(&rec.src, src);
	*(volatile __u64 *)&b->ban_until_ns = rec.expires_ns ? rec.expires_ns : SG_BAN_FOREVER;
	if (bpf_map_update_elem(&sg_auto_bans, &slot, &rec, BPF_ANY)) {
		__u32 k = SG_STAT_BAN_FAILED;
		__u64 *v = bpf_map_lookup_elem(&sg_stats, &k);

		if (v)
			*v += 1;
	}
}

/* Is the entry whose bucket is b banned at `now`? */
static __always_inline int sg_entry_banned(const struct sg_bucket *b, __u64 now)
{
	__u64 until = *(volatile const __u64 *)&b->ban_until_ns;

	return until && (until == SG_BAN_FOREVER || now < until);
}

static __always_inline int sg_banned(const struct sg_state *st, const struct sg_addr *src,
				     struct sg_clock_memo *cm, __u64 *now)
{
	struct sg_ban *ban;

	if (st && !st->bans)
		return 0;
	ban = bpf_map_lookup_elem(&sg_bans, src);
	return ban && (!ban->expires_ns || sg_clock(cm, now) < ban->expires_ns);
}

static __always_inline int sg_decide_trusted(const struct sg_config *cfg, __u32 gen,
					     const struct sg_pkt *p, __u64 *clock,
					     struct sg_clock_memo *cm, int is_conn,
					     const struct sg_trusted *t, struct sg_relay_memo *memo,
					     struct sg_decision *d)
{
	struct sg_ban_rule rule = { 0 };
	__u64 now = sg_clock(cm, clock);
	struct sg_bucket *b;
	__u32 slot = t->slot;
	__u64 groups;
	int r;

	b = bpf_map_lookup_elem(&sg_buckets, &slot);
	if (!b)
		return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
	/* The entry's automatic ban: the ban step of the decision order,
	 * for the entry rather than the address. */
	if (sg_entry_banned(b, now))
		return sg_set(d, SG_V_DROP, SG_R_BANNED);
	if (t->expires_ns && now >= t->expires_ns)
		return sg_set(d, SG_V_DROP, SG_R_EXPIRED);
	groups = sg_relay_groups(cfg, gen, p, memo) & t->relay_groups;
	if (!groups)
		return sg_set(d, SG_V_DROP, SG_R_UNAPPROVED_RELAY);
	if (t->class_idx < SG_MAX_CLASSES) {
		if (cfg->flags & SG_CFG_BAN_AUTO) {
			rule.violations = cfg->ban_violations;
			rule.window_ns = cfg->ban_window_ns;
		}
		r = sg_charge(b, &cfg->classes[t->class_idx & (SG_MAX_CLASSES - 1)], now,
			      is_conn, p->ip_bytes, &rule);
		if (r != SG_CHARGE_OK) {
			if (r == SG_CHARGE_BAN) {
				sg_ban_entry(cfg, b, slot, &p->src, now);
				d->banned_now = 1;
			}
			return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
		}
	}
	if (!sg_relay_cap_ok(cfg, groups, now, is_conn, 0))
		return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
	return sg_set(d, SG_V_PASS, SG_R_TRUSTED);
}

static __always_inline int sg_decide_unregistered(const struct sg_config *cfg, __u32 gen,
						  const struct sg_pkt *p, __u64 *clock,
						  struct sg_clock_memo *cm, int is_conn,
						  struct sg_relay_memo *memo,
						  struct sg_decision *d)
{
	struct sg_bucket *b;
	__u64 groups, now;
	__u32 h;

	if (cfg->unreg_action == SG_UNREG_REJECT)
		return sg_set(d, SG_V_REJECT, SG_R_UNTRUSTED_SOURCE);
	if (cfg->unreg_action != SG_UNREG_THROTTLE || cfg->unreg_class >= SG_MAX_CLASSES)
		return sg_set(d, SG_V_DROP, SG_R_UNTRUSTED_SOURCE);

	/* Throttle: a small allowance, to approved relays only.  Sources
	 * share hashed buckets: bounded memory whatever a spoofed flood
	 * does, and a collision only ever makes the allowance stricter. */
	groups = sg_relay_groups(cfg, gen, p, memo);
	if (!groups)
		return sg_set(d, SG_V_DROP, SG_R_UNAPPROVED_RELAY);
	now = sg_clock(cm, clock);
	h = sg_throttle_hash(&p->src);
	b = bpf_map_lookup_elem(&sg_throttle, &h);
	if (!b || sg_charge(b, &cfg->classes[cfg->unreg_class & (SG_MAX_CLASSES - 1)], now,
			    is_conn, p->ip_bytes, NULL) != SG_CHARGE_OK)
		return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
	if (!sg_relay_cap_ok(cfg, groups, now, is_conn, 1))
		return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
	return sg_set(d, SG_V_PASS, SG_R_THROTTLE_ALLOWANCE);
}

/* *now: the clock if already read, else 0; read here only if needed.
 * c: this CPU's memos, or NULL. */
static __always_inline int sg_decide(const struct sg_config *cfg, __u32 gen,
				     const struct sg_pkt *p, struct sg_cpu *c, __u64 *now,
				     struct sg_decision *d)
{
	int is_conn = sg_is_conn(p);
	struct sg_state *st = sg_global_state();
	struct sg_clock_memo *cm = c ? &c->clock : NULL;
	const struct sg_trusted *t;
	struct sg_trusted net;

	if (sg_banned(st, &p->src, cm, now))
		return sg_set(d, SG_V_DROP, SG_R_BANNED);
	t = sg_lookup_trusted(cfg, gen, st, c ? &c->trusted : NULL, &p->src, &net);
	if (t)
		return sg_decide_trusted(cfg, gen, p, now, cm, is_conn, t, c ? &c->relay : NULL, d);
	return sg_decide_unregistered(cfg, gen, p, now, cm, is_conn, c ? &c->relay : NULL, d);
}

#endif /* SG_BPF_DECIDE_H */
