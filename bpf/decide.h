/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision for a governed packet, docs/semantics.md section 3
 * (the reference model, tests/lib/refmodel.c, implements the same
 * rules): ban -> trusted entry -> its automatic ban -> expiry -> relay
 * -> rate class -> relay cap -> pass; a source that is not trusted gets
 * the policy's unregistered action.  Everything it needs is in the maps:
 * the daemon is never consulted, so a dead daemon changes nothing here.
 *
 * Only the policy is here.  How the tables are asked is in lookup.h, the
 * per-CPU memos in front of them in memo.h, the clock in clock.h and the
 * token buckets in ratelimit.h.
 */
#ifndef SG_BPF_DECIDE_H
#define SG_BPF_DECIDE_H

#include "maps.h"
#include "parse.h"
#include "memo.h"
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

/* §3.f: the relay cap of the lowest-numbered group this packet may use.
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

/* §3.c: a trusted source, entry t. */
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

/* §3.d: a source that is not trusted. */
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

/* §3.a-d for a governed packet without problems (the caller has
 * dealt with fragments and malformed frames, and applies monitor mode).
 * *now: the clock if already read, else 0; read here only if needed.
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

	if (sg_banned(st, &p->src, cm, now)) /* §3.a */
		return sg_set(d, SG_V_DROP, SG_R_BANNED);
	/* §3.b: the host entry, else the longest prefix (memo.h, lookup.h) */
	t = sg_lookup_trusted(cfg, gen, st, c ? &c->trusted : NULL, &p->src, &net);
	if (t)
		return sg_decide_trusted(cfg, gen, p, now, cm, is_conn, t, c ? &c->relay : NULL, d);
	return sg_decide_unregistered(cfg, gen, p, now, cm, is_conn, c ? &c->relay : NULL, d);
}

#endif /* SG_BPF_DECIDE_H */
