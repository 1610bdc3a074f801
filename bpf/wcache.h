/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-source statistics (LRU: packets per verdict; bytes and new
 * connections passed; blocked packets by reason) and events, through
 * this CPU's write-combining cache and budgets (struct sg_cpu in abi.h): the
 * hot-path tricks of accounting, kept apart from the counters
 * (account.h), which are exact whatever happens here.
 *
 * Per-source counts and event aggregation would cost two LRU lookups per
 * packet (~20 ns).  A per-CPU write-combining cache (sg_wc) takes that
 * off the flood path: the first packet of a (source, verdict, reason)
 * goes through the LRUs at once, later ones with the same key only count
 * in the cache, which is flushed into the LRUs when the key changes or
 * SG_WC_FLUSH_NS has passed.  New source keys are admitted under a per-
 * CPU budget, like event keys, so a spoofed flood costs bounded work.
 *
 * Events are sampled and aggregated so that a flood cannot flood
 * userspace: at most one event per (source, reason) per interval, each
 * carrying the number of packets it stands for, and new (source, reason)
 * keys are admitted under a per-CPU budget per second, so even a flood of
 * random spoofed sources produces a bounded event rate.  What cannot be
 * reported is counted (events_lost, events_suppressed); the counters
 * themselves are always exact.
 */
#ifndef SG_BPF_WCACHE_H
#define SG_BPF_WCACHE_H

#include "maps.h"
#include "parse.h"
#include "clock.h"
#include "account.h"

#define SG_NS_PER_SEC 1000000000ull

/* This CPU's budget of new keys, renewed every second. */
static __always_inline struct sg_budget *sg_budget_now(struct sg_cpu *c, __u64 now)
{
	struct sg_budget *b = &c->budget;

	if (now - b->window_start_ns >= SG_NS_PER_SEC) {
		b->window_start_ns = now;
		b->event_keys = 0;
		b->source_keys = 0;
		b->blocked_updates = 0;
	}
	return b;
}

/* Adds what the cache holds (w: its packets, and their bytes and new
 * connections, of one verdict and reason) to w->src's statistics.
 * Returns 1 if the source has an entry (now), 0 if it is over the
 * new-source budget and untracked. */
static __always_inline int sg_source_add(const struct sg_config *cfg, struct sg_cpu *c,
					 const struct sg_wc *w, __u64 now)
{
	const struct sg_addr *src = &w->src;
	__u64 count = w->pending;
	/* The index in blocked[]: past its end for a pass reason. */
	__u32 why = (__u32)w->reason - SG_SRC_FIRST_BLOCK;
	struct sg_source_stats *s = bpf_map_lookup_elem(&sg_sources, src);

	if (!s) {
		struct sg_source_stats zero = {};
		struct sg_budget *b = sg_budget_now(c, now);

		if (b->source_keys >= cfg->source_budget) {
			sg_stat_add(SG_STAT_SOURCES_UNTRACKED, count);
			return 0;
		}
		b->source_keys++;
		bpf_map_update_elem(&sg_sources, src, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sg_sources, src);
		if (!s)
			return 0;
	}
	s->packets[w->verdict & (SG_V_COUNT - 1)] += count;
	if (w->verdict == SG_V_PASS) {
		s->bytes += w->bytes;
		s->conns += w->conns;
	} else if (w->verdict != SG_V_MONITOR && why < SG_SRC_BLOCK_REASONS) {
		s->blocked[why] += count;
	}
	return 1;
}

/* Adds `count` blocked packets to the (source, reason) aggregate and
 * emits an event when the key is new or its interval has passed. */
static __always_inline void sg_event_add(const struct sg_config *cfg, struct sg_cpu *c,
					 __u64 count, __u64 now)
{
	const struct sg_wc *w = &c->wc;
	struct sg_event_key key = { .src = w->src, .reason = w->reason };
	struct sg_event_agg *agg = bpf_map_lookup_elem(&sg_event_agg, &key);

	if (agg) {
		__sync_fetch_and_add(&agg->pending, count);
		if (now - agg->last_emit_ns < cfg->event_interval_ns)
			return;
		agg->last_emit_ns = now;
		count = __sync_lock_test_and_set(&agg->pending, 0);
		if (!count)
			return; /* another CPU emitted this interval's count */
	} else {
		struct sg_event_agg fresh = { .last_emit_ns = now };
		struct sg_budget *b = sg_budget_now(c, now);

		if (b->event_keys >= cfg->event_budget) {
			sg_stat_add(SG_STAT_EVENTS_SUPPRESSED, count);
			return;
		}
		b->event_keys++;
		bpf_map_update_elem(&sg_event_agg, &key, &fresh, BPF_NOEXIST);
	}
	sg_emit(&w->src, &w->dst, w->dport, now, count, w->attach, w->verdict, w->reason,
		SG_EVT_PACKET);
}

/* May this CPU update the per-source tables for blocked packets once
 * more this second?  Under a spoofed flood nearly every packet is a new
 * key of the cache, and each update is a random access into megabytes of
 * LRU (TLB and cache misses: most of such a packet's cost); beyond the
 * budget, the flood's packets are only counted per interface (exactly,
 * as always) and as sources_untracked / events_suppressed.  Passed
 * packets are always accounted: they are what audits look at. */
static __always_inline int sg_blocked_update_ok(const struct sg_config *cfg, struct sg_cpu *c,
						__u64 now)
{
	struct sg_budget *b = sg_budget_now(c, now);

	if (b->blocked_updates >= cfg->blocked_budget)
		return 0;
	b->blocked_updates++;
	return 1;
}

/* Moves what the cache holds into the LRUs.  Events go with statistics:
 * a source over the new-source budget (in a spoofed flood, nearly every
 * one) has its events suppressed too, so such a packet costs one hash
 * probe, not two; a blocked flush over the blocked-update budget touches
 * neither table. */
static __always_inline void sg_wc_flush(const struct sg_config *cfg, struct sg_cpu *c, __u64 now)
{
	struct sg_wc *w = &c->wc;

	if (w->valid && w->pending) {
		int blocked = w->verdict != SG_V_PASS, tracked = 1;

		if (blocked && !sg_blocked_update_ok(cfg, c, now)) {
			sg_stat_add(SG_STAT_SOURCES_UNTRACKED, w->pending);
			tracked = 0;
		} else if (w->src.w[0] | w->src.w[1] | w->src.w[2] | w->src.w[3]) {
			/* (All-zero: a frame whose source could not be read.) */
			tracked = sg_source_add(cfg, c, w, now);
		}
		if (blocked) {
			if (tracked)
				sg_event_add(cfg, c, w->pending, now);
			else
				sg_stat_add(SG_STAT_EVENTS_SUPPRESSED, w->pending);
		}
	}
	w->counts = 0;
	w->bytes = 0;
	w->flushed_ns = now;
}

/* Per-source accounting and events for one governed packet, through
 * CPU c's write-combining cache.  now: the clock if the decision read it,
 * else 0; is_conn: the packet opens a connection (sg_is_conn). */
static __always_inline void sg_account_source(const struct sg_pkt *p, __u64 now,
					      const struct sg_config *cfg, struct sg_cpu *c,
					      __u32 attach, __u8 verdict, __u8 reason, int is_conn)
{
	struct sg_wc *w = &c->wc;

	if (w->key == sg_wc_key(attach, verdict, reason) && sg_addr_eq(&w->src, &p->src)) {
		/* jiffies (inlined by the JIT: one load) gate the clock: the
		 * coarse clock only moves on a tick, so it is read at most
		 * once per tick per CPU on this path. */
		__u64 tick = bpf_jiffies64();

		w->counts += sg_wc_counts(1, (__u32)is_conn);
		w->bytes += p->ip_bytes;
		sg_addr_copy(&w->dst, &p->dst);
		w->dport = p->dport;
		if (tick != w->tick) {
			w->tick = tick;
			if (sg_clock(&c->clock, &now) - w->flushed_ns >= SG_WC_FLUSH_NS)
				sg_wc_flush(cfg, c, now);
		}
		return;
	}
	sg_clock(&c->clock, &now);
	/* Another key: flush the old one, then this packet goes through at
	 * once (a first blocked packet is reported without delay). */
	sg_wc_flush(cfg, c, now);
	sg_addr_copy(&w->src, &p->src);
	sg_addr_copy(&w->dst, &p->dst);
	w->dport = p->dport;
	w->key = sg_wc_key(attach, verdict, reason);
	w->counts = sg_wc_counts(1, (__u32)is_conn);
	w->bytes = p->ip_bytes;
	sg_wc_flush(cfg, c, now);
}

#endif /* SG_BPF_WCACHE_H */
