// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgate entry points: XDP, TC ingress and TC egress.  Each one is
 * parse -> judge -> act -> count around the same shared code; only how a
 * frame is cut and sent back for `reject` differs between hooks.
 *
 * The loader opens this object once per attachment and sets sg_attach_slot
 * before loading, so each attachment counts into its own slot without a
 * per-packet lookup; all instances share the pinned maps.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "parse.h"
#include "decide.h"
#include "account.h"
#include "wcache.h"
#include "reject.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 sg_attach_slot = 0;

enum sg_action {
	SG_ACT_PASS = 0,
	SG_ACT_DROP = 1,
	SG_ACT_RST = 2,
};

/* Everything after the port check, for a packet that may be governed:
 * scope, decision, accounting.  cfg is generation gen's policy, as the
 * caller found it; ready: the pre-parse filled *p (a whole, plain
 * IPv4/TCP segment: nothing for the parser's problems to say).  Returns
 * what the hook should do; on SG_ACT_RST, p says what to answer. */
static __always_inline int sg_govern(const struct sg_pkt *p, const struct sg_config *cfg,
				     __u32 gen, int ready)
{
	struct sg_decision d = {};
	__u32 attach = sg_attach_slot, zero = 0;
	__u64 now = 0; /* read only if the decision needs a time */
	struct sg_cpu *c;
	int is_conn;

	gen &= SG_GENERATIONS - 1;
	if (p->known != SG_KNOWN_NOTHING && !sg_in_scope(cfg, gen, &p->src))
		return SG_ACT_PASS;

	/* Governed from here on: every path below is counted. */
	c = bpf_map_lookup_elem(&sg_cpu, &zero);
	is_conn = sg_is_conn(p);
	/* docs/semantics.md §3: problems first, then the policy. */
	if (!ready && p->problem == SG_PROB_FRAGMENT)
		sg_set(&d, SG_V_DROP, SG_R_FRAGMENT);
	else if (!ready && (p->problem == SG_PROB_MALFORMED || p->known != SG_KNOWN_PORTS))
		sg_set(&d, SG_V_DROP, SG_R_MALFORMED);
	else
		sg_decide(cfg, gen, p, c, &now, &d);

	if (d.verdict != SG_V_PASS && cfg->mode == SG_MODE_MONITOR) /* §3.e */
		d.verdict = SG_V_MONITOR;

	sg_count(attach, d.verdict, d.reason, p->ip_bytes, is_conn);
	if (c)
		sg_account_source(p, now, cfg, c, attach, d.verdict, d.reason, is_conn);
	if (d.banned_now) /* the decision read the clock to charge the bucket */
		sg_emit(&p->src, &p->dst, p->dport, now, 1, attach, d.verdict, SG_R_BANNED,
			SG_EVT_BAN_START);

	switch (d.verdict) {
	case SG_V_DROP:
		return SG_ACT_DROP;
	case SG_V_REJECT:
		/* Only a SYN is answered: it is what makes connect() fail
		 * fast, and a fragmented SYN is too odd to echo. */
		if (!is_conn || p->first_frag)
			return SG_ACT_DROP;
		return SG_ACT_RST;
	default:
		return SG_ACT_PASS; /* pass, and monitor */
	}
}

/* ---- global functions ----
 * Every global (__noinline) function of the object is defined here, the
 * one translation unit; the headers hold only inline code and declare
 * what they call.  The verifier checks a global function once on its own,
 * whatever the number of paths that call it, so the loops and the long
 * parser live in them instead of being multiplied into every path.
 */

/* Is src in generation gen's scope?  Prefix probing (lookup.h). */
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

/* The full parser, for the frames the pre-parse leaves to it (IPv6,
 * VLAN tags, fragments, options, anything odd), as global functions: the
 * verifier checks each once however many paths it has, and the policy
 * after it (inlined in the entry point) once for all of them instead of
 * once per parser path.  A global function cannot take packet pointers,
 * so each hook's version takes its context.  Returns SG_PARSE_*. */
__noinline int sg_parse_xdp(struct xdp_md *ctx, const struct sg_config *cfg, struct sg_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (!cfg || !p)
		return SG_PARSE_PASS;
	__builtin_memset(p, 0, sizeof(*p));
	return sg_parse(data, data_end, data_end - data, cfg, p);
}

/* For TC: the entry point has made the headers linear (bpf_skb_pull_data);
 * truncation is judged against the whole skb's length. */
__noinline int sg_parse_tc(struct __sk_buff *skb, const struct sg_config *cfg, struct sg_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (!cfg || !p)
		return SG_PARSE_PASS;
	__builtin_memset(p, 0, sizeof(*p));
	return sg_parse(data, data_end, skb->len, cfg, p);
}

/* The policy, then the parse with its early port check, inline in each
 * entry point so that ordinary traffic never pays for a call, and the
 * common governed frame (plain IPv4/TCP, which the pre-parse fills in)
 * none either.  ctx is the hook's context (an xdp_md if is_xdp, else an
 * __sk_buff).  *p is the hook's, so that it outlives this for a reject's
 * RST. */
static __always_inline int sg_process(void *ctx, int is_xdp, void *data, void *data_end,
				      __u32 frame_len, struct sg_pkt *p)
{
	const struct sg_config *cfg;
	__u32 gen;
	int pre, parsed;

	/* Ordinary traffic leaves on the union of both generations' ports,
	 * before the generation is even read (zero before any policy). */
	pre = sg_preparse(data, data_end, frame_len, sg_live.ports_any, p);
	if (pre == SG_PRE_PASS)
		return SG_ACT_PASS;
	/* Read once: the rest of the packet is judged by this generation. */
	gen = *(volatile __u32 *)&sg_live.active & (SG_GENERATIONS - 1);
	cfg = &sg_live.config[gen];
	if (!cfg->generation)
		return SG_ACT_PASS; /* no policy installed yet */
	if (pre == SG_PRE_READY && !sg_port_governed(cfg, bpf_htons(p->dport)))
		return SG_ACT_PASS; /* governed by the other generation only */
	if (pre == SG_PRE_FULL) {
		/* The pre-parse may have written only part of *p.  The parser
		 * clears it anyway, but verifiers before "bpf: Fix accesses to
		 * uninit stack slots" (Debian 12 kernels older than 6.1.192)
		 * refuse stack memory passed to a global function unless every
		 * byte of it is written ("invalid indirect read from stack"). */
		__builtin_memset(p, 0, sizeof(*p));
		parsed = is_xdp ? sg_parse_xdp(ctx, cfg, p) : sg_parse_tc(ctx, cfg, p);
		if (parsed == SG_PARSE_PASS)
			return SG_ACT_PASS;
	}
	return sg_govern(p, cfg, gen, pre == SG_PRE_READY);
}

SEC("xdp")
int sg_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 frame_len = data_end - data;
	struct sg_pkt p;
	int act;

	act = sg_process(ctx, 1, data, data_end, frame_len, &p);
	if (act == SG_ACT_PASS)
		return XDP_PASS;
	if (act == SG_ACT_DROP)
		return XDP_DROP;

	if (bpf_xdp_adjust_tail(ctx, (int)(sg_rst_frame_len(&p) - frame_len)))
		goto rst_failed;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (sg_write_rst(data, data_end, &p))
		goto rst_failed;
	return XDP_TX;
rst_failed:
	sg_stat_inc(SG_STAT_RST_FAILED);
	return XDP_DROP;
}

/* Bytes the parser wants in the linear part of an skb. */
#define SG_TC_PULL_LEN 512

static __always_inline int sg_tc(struct __sk_buff *skb, int egress)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 want = skb->len < SG_TC_PULL_LEN ? skb->len : SG_TC_PULL_LEN;
	struct sg_pkt p;
	int act;

	if (data_end - data < want) {
		/* Headers in a non-linear skb: make them readable.  On failure
		 * the parser sees a short frame and judges it malformed. */
		bpf_skb_pull_data(skb, want);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	act = sg_process(skb, 0, data, data_end, skb->len, &p);
	if (act == SG_ACT_PASS)
		return TC_ACT_OK;
	if (act == SG_ACT_DROP)
		return TC_ACT_SHOT;

	if (bpf_skb_change_tail(skb, sg_rst_frame_len(&p), 0))
		goto rst_failed;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (sg_write_rst(data, data_end, &p))
		goto rst_failed;
	/* Send the RST back where the SYN came from: out of the same
	 * interface when we saw it arrive (ingress), up into the local stack
	 * when a local socket was sending it (egress). */
	return bpf_redirect(skb->ifindex, egress ? BPF_F_INGRESS : 0);
rst_failed:
	sg_stat_inc(SG_STAT_RST_FAILED);
	return TC_ACT_SHOT;
}

SEC("tc")
int sg_tc_ingress(struct __sk_buff *skb)
{
	return sg_tc(skb, 0);
}

SEC("tc")
int sg_tc_egress(struct __sk_buff *skb)
{
	return sg_tc(skb, 1);
}
