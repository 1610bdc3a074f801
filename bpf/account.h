/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Accounting for governed packets: per-CPU counters per attachment,
 * verdict and reason; per-source packet counts (LRU); and events.
 *
 * Events are sampled and aggregated so that a flood cannot flood
 * userspace: at most one event per (source, reason) per interval, each
 * carrying the number of packets it stands for, and new (source, reason)
 * keys are admitted under a per-CPU budget per second, so even a flood of
 * random spoofed sources produces a bounded event rate.  What cannot be
 * reported is counted (events_lost, events_suppressed); the counters
 * themselves are always exact.
 */
#ifndef SG_BPF_ACCOUNT_H
#define SG_BPF_ACCOUNT_H

#include "maps.h"
#include "parse.h"

#define SG_NS_PER_SEC 1000000000ull

static __always_inline void sg_stat_inc(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&sg_stats, &stat);

	if (v)
		*v += 1;
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

static __always_inline void sg_count_source(const struct sg_addr *src, __u32 verdict)
{
	struct sg_source_stats *s = bpf_map_lookup_elem(&sg_sources, src);

	if (!s) {
		struct sg_source_stats zero = {};

		bpf_map_update_elem(&sg_sources, src, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sg_sources, src);
		if (!s)
			return;
	}
	s->packets[verdict & (SG_V_COUNT - 1)]++;
}

/* May this CPU admit one more new event key in the current second? */
static __always_inline int sg_event_budget_ok(const struct sg_config *cfg, __u64 now)
{
	__u32 zero = 0;
	struct sg_budget *b = bpf_map_lookup_elem(&sg_budget, &zero);

	if (!b)
		return 0;
	if (now - b->window_start_ns >= SG_NS_PER_SEC) {
		b->window_start_ns = now;
		b->event_keys = 0;
	}
	if (b->event_keys >= cfg->event_budget)
		return 0;
	b->event_keys++;
	return 1;
}

static __always_inline void sg_emit(const struct sg_pkt *p, __u64 now, __u64 count,
				    __u32 attach, __u8 verdict, __u8 reason, __u8 kind)
{
	struct sg_event *e = bpf_ringbuf_reserve(&sg_events, sizeof(*e), 0);

	if (!e) {
		sg_stat_inc(SG_STAT_EVENTS_LOST);
		return;
	}
	e->ts_ns = now;
	e->src = p->src;
	e->dst = p->dst;
	e->count = count;
	e->dport = p->dport;
	e->attach = attach;
	e->verdict = verdict;
	e->reason = reason;
	e->kind = kind;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void sg_event(const struct sg_config *cfg, const struct sg_pkt *p,
				     __u64 now, __u32 attach, __u8 verdict, __u8 reason)
{
	struct sg_event_key key = { .src = p->src, .reason = reason };
	struct sg_event_agg *agg = bpf_map_lookup_elem(&sg_event_agg, &key);
	__u64 count;

	if (agg) {
		__sync_fetch_and_add(&agg->pending, 1);
		if (now - agg->last_emit_ns < cfg->event_interval_ns)
			return;
		agg->last_emit_ns = now;
		count = __sync_lock_test_and_set(&agg->pending, 0);
		if (!count)
			return; /* another CPU emitted this interval's count */
	} else {
		struct sg_event_agg fresh = { .last_emit_ns = now };

		if (!sg_event_budget_ok(cfg, now)) {
			sg_stat_inc(SG_STAT_EVENTS_SUPPRESSED);
			return;
		}
		bpf_map_update_elem(&sg_event_agg, &key, &fresh, BPF_NOEXIST);
		count = 1;
	}
	sg_emit(p, now, count, attach, verdict, reason, SG_EVT_PACKET);
}

#endif /* SG_BPF_ACCOUNT_H */
