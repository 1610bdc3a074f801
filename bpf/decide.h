/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision for a governed packet, in the order SPEC gives:
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

static __always_inline int sg_in_scope(const struct sg_config *cfg, __u32 gen,
				       const struct sg_addr *src)
{
	struct sg_lpm_key key = { .prefixlen = 128 };
	void *scope;

	if (!(cfg->flags & SG_CFG_SCOPE))
		return 1; /* no scope: every source is governed */
	scope = bpf_map_lookup_elem(&sg_scope, &gen);
	if (!scope)
		return 1; /* fail closed: govern */
	key.addr = *src;
	return bpf_map_lookup_elem(scope, &key) != NULL;
}

static __always_inline int sg_port_governed(const struct sg_config *cfg, __u16 port)
{
	return (cfg->ports[(port >> 6) & (SG_PORT_WORDS - 1)] >> (port & 63)) & 1;
}

static __always_inline struct sg_trusted *sg_lookup_trusted(const struct sg_config *cfg,
							    __u32 gen,
							    const struct sg_addr *src)
{
	struct sg_trusted *t = NULL;
	void *table;

	/* A host entry is the longest possible match, so the exact hash
	 * answers first and the trie is only asked when it misses. */
	table = bpf_map_lookup_elem(&sg_trusted_hosts, &gen);
	if (table)
		t = bpf_map_lookup_elem(table, src);
	if (!t && (cfg->flags & SG_CFG_NETS)) {
		struct sg_lpm_key key = { .prefixlen = 128, .addr = *src };

		table = bpf_map_lookup_elem(&sg_trusted_nets, &gen);
		if (table)
			t = bpf_map_lookup_elem(table, &key);
	}
	return t;
}

static __always_inline __u64 sg_relay_groups(__u32 gen, const struct sg_pkt *p)
{
	struct sg_relay_key key = { .addr = p->dst, .port = p->dport };
	__u64 *mask;
	void *table;

	table = bpf_map_lookup_elem(&sg_relays, &gen);
	if (!table)
		return 0;
	mask = bpf_map_lookup_elem(table, &key);
	return mask ? *mask : 0;
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

/* The relay cap of the lowest-numbered group this packet may use. */
static __always_inline int sg_relay_cap_ok(const struct sg_config *cfg, __u64 groups,
					   __u64 now, int is_conn)
{
	const struct sg_rate *cap;
	struct sg_bucket *b;
	__u32 g;

	if (!is_conn || !groups)
		return 1;
	g = sg_lowest_bit(groups) & (SG_MAX_GROUPS - 1);
	cap = &cfg->relay_cap[g];
	if (!cap->conn_cost)
		return 1;
	b = bpf_map_lookup_elem(&sg_relay_caps, &g);
	if (!b)
		return 0;
	return sg_charge(b, cap, now, 1, 0, NULL) == SG_CHARGE_OK;
}

static __always_inline void sg_ban(const struct sg_config *cfg, const struct sg_addr *src,
				   __u64 now)
{
	struct sg_ban ban = {
		.since_ns = now,
		.expires_ns = cfg->ban_duration_ns ? now + cfg->ban_duration_ns : 0,
		.flags = SG_BAN_AUTO,
	};

	if (bpf_map_update_elem(&sg_bans, src, &ban, BPF_ANY)) {
		__u32 k = SG_STAT_BAN_FAILED;
		__u64 *v = bpf_map_lookup_elem(&sg_stats, &k);

		if (v)
			*v += 1;
	}
}

static __always_inline int sg_decide_trusted(const struct sg_config *cfg, __u32 gen,
					     const struct sg_pkt *p, __u64 now, int is_conn,
					     const struct sg_trusted *t, struct sg_decision *d)
{
	struct sg_ban_rule rule = { 0 };
	struct sg_bucket *b;
	__u32 slot = t->slot;
	__u64 groups;
	int r;

	if (t->expires_ns && now >= t->expires_ns)
		return sg_set(d, SG_V_DROP, SG_R_EXPIRED);
	groups = sg_relay_groups(gen, p) & t->relay_groups;
	if (!groups)
		return sg_set(d, SG_V_DROP, SG_R_UNAPPROVED_RELAY);
	if (t->class_idx < SG_MAX_CLASSES) {
		b = bpf_map_lookup_elem(&sg_buckets, &slot);
		if (!b)
			return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
		if (cfg->flags & SG_CFG_BAN_AUTO) {
			rule.violations = cfg->ban_violations;
			rule.window_ns = cfg->ban_window_ns;
		}
		r = sg_charge(b, &cfg->classes[t->class_idx & (SG_MAX_CLASSES - 1)], now,
			      is_conn, p->ip_bytes, &rule);
		if (r != SG_CHARGE_OK) {
			if (r == SG_CHARGE_BAN) {
				sg_ban(cfg, &p->src, now);
				d->banned_now = 1;
			}
			return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
		}
	}
	if (!sg_relay_cap_ok(cfg, groups, now, is_conn))
		return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
	return sg_set(d, SG_V_PASS, SG_R_TRUSTED);
}

static __always_inline int sg_decide_unregistered(const struct sg_config *cfg, __u32 gen,
						  const struct sg_pkt *p, __u64 now,
						  int is_conn, struct sg_decision *d)
{
	struct sg_bucket *b;
	__u64 groups;
	__u32 h;

	if (cfg->unreg_action == SG_UNREG_REJECT)
		return sg_set(d, SG_V_REJECT, SG_R_UNTRUSTED_SOURCE);
	if (cfg->unreg_action != SG_UNREG_THROTTLE || cfg->unreg_class >= SG_MAX_CLASSES)
		return sg_set(d, SG_V_DROP, SG_R_UNTRUSTED_SOURCE);

	/* Throttle: a small allowance, to approved relays only.  Sources
	 * share hashed buckets: bounded memory whatever a spoofed flood
	 * does, and a collision only ever makes the allowance stricter. */
	groups = sg_relay_groups(gen, p);
	if (!groups)
		return sg_set(d, SG_V_DROP, SG_R_UNAPPROVED_RELAY);
	h = sg_throttle_hash(&p->src);
	b = bpf_map_lookup_elem(&sg_throttle, &h);
	if (!b || sg_charge(b, &cfg->classes[cfg->unreg_class & (SG_MAX_CLASSES - 1)], now,
			    is_conn, p->ip_bytes, NULL) != SG_CHARGE_OK)
		return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
	if (!sg_relay_cap_ok(cfg, groups, now, is_conn))
		return sg_set(d, SG_V_DROP, SG_R_RATE_LIMITED);
	return sg_set(d, SG_V_PASS, SG_R_THROTTLE_ALLOWANCE);
}

static __always_inline int sg_decide(const struct sg_config *cfg, __u32 gen,
				     const struct sg_pkt *p, __u64 now, struct sg_decision *d)
{
	int is_conn = (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN;
	struct sg_trusted *t;
	struct sg_ban *ban;

	ban = bpf_map_lookup_elem(&sg_bans, &p->src);
	if (ban && (!ban->expires_ns || now < ban->expires_ns))
		return sg_set(d, SG_V_DROP, SG_R_BANNED);
	t = sg_lookup_trusted(cfg, gen, &p->src);
	if (t)
		return sg_decide_trusted(cfg, gen, p, now, is_conn, t, d);
	return sg_decide_unregistered(cfg, gen, p, now, is_conn, d);
}

#endif /* SG_BPF_DECIDE_H */
