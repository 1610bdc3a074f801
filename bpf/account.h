/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Accounting for governed packets, the exact part: per-CPU counters per
 * attachment, verdict and reason (every governed packet, always), the
 * global statistics, and the event record sent to userspace.  Per-source
 * statistics and event sampling go through this CPU's write-combining
 * cache and budgets: wcache.h.
 */
#ifndef SG_BPF_ACCOUNT_H
#define SG_BPF_ACCOUNT_H

#include "maps.h"

static __always_inline void sg_stat_add(__u32 stat, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&sg_stats, &stat);

	if (v)
		*v += n;
}

static __always_inline void sg_stat_inc(__u32 stat)
{
	sg_stat_add(stat, 1);
}

static __always_inline void sg_count(__u32 attach, __u32 verdict, __u32 reason,
				     __u32 bytes, int is_conn)
{
	__u32 idx = sg_counter_index(attach, verdict, reason);
	struct sg_counter *c = bpf_map_lookup_elem(&sg_counters, &idx);

	if (!c)
		return;
	c->packets++;
	c->bytes += bytes;
	c->conns += is_conn ? 1 : 0;
}

static __always_inline void sg_emit(const struct sg_addr *src, const struct sg_addr *dst,
				    __u16 dport, __u64 now, __u64 count, __u32 attach, __u8 verdict,
				    __u8 reason, __u8 kind)
{
	struct sg_event *e = bpf_ringbuf_reserve(&sg_events, sizeof(*e), 0);

	if (!e) {
		sg_stat_inc(SG_STAT_EVENTS_LOST);
		return;
	}
	e->ts_ns = now;
	e->src = *src;
	e->dst = *dst;
	e->count = count;
	e->dport = dport;
	e->attach = attach;
	e->verdict = verdict;
	e->reason = reason;
	e->kind = kind;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

#endif /* SG_BPF_ACCOUNT_H */
