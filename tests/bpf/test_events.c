// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The event ring buffer (sg_events): aggregation per (source, reason)
 * and interval, the per-CPU budgets for new keys (events, and sources:
 * an untracked source reports no events) and for per-source updates of
 * blocked packets, which verdicts report,
 * and the automatic-ban event, with every field of struct sg_event
 * asserted.  The test stays on CPU 0 so that the per-CPU budget it
 * resets is the one its packets use.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "harness.h"
#include "state.h"
#include "tap.h"

#define RELAY     "198.18.0.25"
#define RELAY6    "2001:db8::25"
#define TRUSTED   "198.18.1.1"
#define TRUSTED_B "198.18.1.5" /* rate class, for the automatic ban */
#define UNREG     "198.18.9.1"
#define UNREG_MON "198.18.9.2"
#define UNREG_ATT "198.18.9.3"
#define UNREG6    "2001:db8:9::1"

#define INTERVAL_NS (200 * ST_MS)
#define MAX_EVENTS 64

struct collector {
	struct ring_buffer *rb;
	struct sg_event ev[MAX_EVENTS];
	int n, bad_size;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;

	if (size != sizeof(struct sg_event))
		c->bad_size++;
	else if (c->n < MAX_EVENTS)
		memcpy(&c->ev[c->n], data, sizeof(struct sg_event));
	c->n++;
	return 0;
}

/* Collects what the ring buffer holds now; returns how many events. */
static int drain(struct collector *c)
{
	c->n = 0;
	c->bad_size = 0;
	if (ring_buffer__consume(c->rb) < 0)
		tap_bail("ring_buffer__consume");
	return c->n;
}

/* A SYN to the relay of the source's family. */
static struct pkt_spec syn(const char *src)
{
	return st_pkt(src, strchr(src, ':') ? RELAY6 : RELAY, TCPF_SYN, 0);
}

/* Every field but ts_ns; *why names the first mismatch. */
static bool event_is(const struct sg_event *e, int kind, const char *src, const char *dst,
		     uint16_t dport, int verdict, int reason, uint64_t count, uint16_t attach,
		     char *why, size_t len)
{
	struct sg_addr s = st_addr(src), d = dst ? st_addr(dst) : (struct sg_addr){ 0 };
	char have[SG_PREFIX_STRLEN];

	sg_addr_format(&e->src, have, sizeof(have));
	if (memcmp(&e->src, &s, sizeof(s)))
		snprintf(why, len, "src %s, want %s", have, src);
	else if (dst && memcmp(&e->dst, &d, sizeof(d)))
		snprintf(why, len, "dst differs from %s", dst);
	else if (e->kind != kind)
		snprintf(why, len, "kind %u, want %d", e->kind, kind);
	else if (e->dport != dport)
		snprintf(why, len, "dport %u, want %u", e->dport, dport);
	else if (e->verdict != verdict || e->reason != reason)
		snprintf(why, len, "verdict/reason %u/%u, want %d/%d", e->verdict, e->reason,
			 verdict, reason);
	else if (e->count != count)
		snprintf(why, len, "count %llu, want %llu", (unsigned long long)e->count,
			 (unsigned long long)count);
	else if (e->attach != attach)
		snprintf(why, len, "attach %u, want %u", e->attach, attach);
	else if (e->pad)
		snprintf(why, len, "pad %u", e->pad);
	else
		return true;
	return false;
}

/* One check: exactly one event, matching, stamped within [lo, hi]. */
static void expect_one(struct collector *c, const char *name, int kind, const char *src,
		       const char *dst, uint16_t dport, int verdict, int reason, uint64_t count,
		       uint16_t attach, uint64_t lo, uint64_t hi)
{
	char why[160] = "";
	bool ok = c->n == 1 && !c->bad_size;

	if (!ok)
		snprintf(why, sizeof(why), "%d events (%d of a wrong size)", c->n, c->bad_size);
	else if (!event_is(&c->ev[0], kind, src, dst, dport, verdict, reason, count, attach, why,
			   sizeof(why)))
		ok = false;
	else if (c->ev[0].ts_ns < lo || c->ev[0].ts_ns > hi) {
		snprintf(why, sizeof(why), "ts_ns %llu outside [%llu, %llu]",
			 (unsigned long long)c->ev[0].ts_ns, (unsigned long long)lo,
			 (unsigned long long)hi);
		ok = false;
	}
	tap_check(ok, name, "%s", why);
}

static void sleep_until(uint64_t boot_ns)
{
	uint64_t now = sg_boot_ns();

	if (now < boot_ns) {
		struct timespec ts = { .tv_sec = (time_t)((boot_ns - now) / ST_SEC),
				       .tv_nsec = (long)((boot_ns - now) % ST_SEC) };

		nanosleep(&ts, NULL);
	}
}

static void test_aggregation(struct sg_dp *dp, struct collector *c)
{
	struct pkt_spec u = syn(UNREG), bad = u, frag = u;
	uint64_t before, after, first_ts;
	int more = 0;

	before = sg_boot_ns();
	st_expect(dp, &u, SG_V_DROP, SG_R_UNTRUSTED_SOURCE, "events: unregistered SYN is dropped");
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "events: first blocked packet -> one event, count 1, every field",
		   SG_EVT_PACKET, UNREG, RELAY, 25, SG_V_DROP, SG_R_UNTRUSTED_SOURCE, 1, 0, before,
		   after);
	first_ts = c->n ? c->ev[0].ts_ns : before;

	for (int i = 0; i < 100; i++)
		more += st_xdp(dp, &u) == XDP_DROP;
	if (sg_boot_ns() - first_ts >= INTERVAL_NS)
		tap_diag("100 packets took longer than the interval: the next check is void");
	tap_check(more == 100 && drain(c) == 0, "events: 100 more within the interval -> none",
		  "%d dropped, %d events", more, c->n);

	sleep_until(first_ts + INTERVAL_NS + 5 * ST_MS);
	before = sg_boot_ns();
	st_xdp(dp, &u);
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "events: after the interval -> one event, count 101 (packets since the last)",
		   SG_EVT_PACKET, UNREG, RELAY, 25, SG_V_DROP, SG_R_UNTRUSTED_SOURCE, 101, 0,
		   before, after);
	st_xdp(dp, &u);
	tap_check(drain(c) == 0, "events: the next packet starts a new interval -> none",
		  "%d events", c->n);

	/* The same source for other reasons: keys of their own. */
	before = sg_boot_ns();
	bad.doff_override = 2;
	st_expect(dp, &bad, SG_V_DROP, SG_R_MALFORMED,
		  "events: bad data offset is drop/malformed");
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "events: same source, reason malformed -> its own event", SG_EVT_PACKET,
		   UNREG, RELAY, 25, SG_V_DROP, SG_R_MALFORMED, 1, 0, before, after);
	before = sg_boot_ns();
	frag.frag = 1;
	frag.frag_off = 1;
	st_expect(dp, &frag, SG_V_DROP, SG_R_FRAGMENT,
		  "events: fragment at offset 1 is drop/fragment");
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "events: same source, reason fragment -> its own event (ports unknown: 0)",
		   SG_EVT_PACKET, UNREG, RELAY, 0, SG_V_DROP, SG_R_FRAGMENT, 1, 0, before, after);
}

static void test_verdicts(struct sg_dp *dp, struct collector *c, struct sg_policy *p)
{
	struct pkt_spec t = syn(TRUSTED), u6 = syn(UNREG6);
	uint64_t before, after;
	int passed = 0;

	for (int i = 0; i < 10; i++)
		passed += st_xdp(dp, &t) == XDP_PASS;
	tap_check(passed == 10 && drain(c) == 0, "events: 10 passed packets -> no event",
		  "%d passed, %d events", passed, c->n);

	before = sg_boot_ns();
	st_xdp(dp, &u6);
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "events: IPv6 source -> event with IPv6 src and dst", SG_EVT_PACKET, UNREG6,
		   RELAY6, 25, SG_V_DROP, SG_R_UNTRUSTED_SOURCE, 1, 0, before, after);

	/* Another attachment slot: the event says which. */
	{
		struct pkt_spec a = syn(UNREG_ATT);
		struct sg_err err = { 0 };
		uint8_t frame[PKT_MAX], out[PKT_MAX];
		int fd = sg_dp_prog_fd(dp, SG_HOOK_XDP, 3, &err);
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);

		if (fd < 0)
			tap_bail("program for slot 3: %s", err.msg);
		o.data_size_in = (__u32)pkt_build(&a, frame, sizeof(frame));
		before = sg_boot_ns();
		if (bpf_prog_test_run_opts(fd, &o))
			tap_bail("test run: %s", strerror(errno));
		after = sg_boot_ns();
		drain(c);
		expect_one(c, "events: a packet seen by attachment slot 3 -> attach 3",
			   SG_EVT_PACKET, UNREG_ATT, RELAY, 25, SG_V_DROP, SG_R_UNTRUSTED_SOURCE, 1,
			   3, before, after);
	}

	p->mode = SG_MODE_MONITOR;
	h_apply(dp, p);
	before = sg_boot_ns();
	st_expect_to(dp, UNREG_MON, RELAY, TCPF_SYN, SG_V_MONITOR, SG_R_UNTRUSTED_SOURCE,
		     "events: monitor mode: monitor/untrusted_source");
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "events: a monitor verdict produces an event (verdict monitor)",
		   SG_EVT_PACKET, UNREG_MON, RELAY, 25, SG_V_MONITOR, SG_R_UNTRUSTED_SOURCE, 1, 0,
		   before, after);
	st_xdp(dp, &t);
	tap_check(drain(c) == 0, "events: monitor mode: a trusted pass still produces none",
		  "%d events", c->n);
	p->mode = SG_MODE_ENFORCE;
	h_apply(dp, p);
}

static void test_ban_event(struct sg_dp *dp, struct collector *c)
{
	struct pkt_spec s = syn(TRUSTED_B);
	uint64_t before, after;

	st_bucket_set(dp, "sg_buckets", st_slot(dp, TRUSTED_B), sg_boot_ns() + 10 * ST_SEC, 0);
	before = sg_boot_ns();
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED, "ban event: violation 1 is rate limited");
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "ban event: violation 1 -> a rate_limited event", SG_EVT_PACKET, TRUSTED_B,
		   RELAY, 25, SG_V_DROP, SG_R_RATE_LIMITED, 1, 0, before, after);
	before = sg_boot_ns();
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED, "ban event: violation 2 is rate limited");
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "ban event: violation 2 bans -> one SG_EVT_BAN_START (drop/banned, count 1)",
		   SG_EVT_BAN_START, TRUSTED_B, RELAY, 25, SG_V_DROP, SG_R_BANNED, 1, 0, before,
		   after);
	before = sg_boot_ns();
	st_expect(dp, &s, SG_V_DROP, SG_R_BANNED, "ban event: the next SYN is drop/banned");
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "ban event: the first banned packet -> a packet event, reason banned",
		   SG_EVT_PACKET, TRUSTED_B, RELAY, 25, SG_V_DROP, SG_R_BANNED, 1, 0, before,
		   after);
}

/* A SYN from each of NET.1 .. NET.n (NET: three octets); returns how
 * many were dropped. */
static int syn_from_each(struct sg_dp *dp, const char *net, int n)
{
	struct pkt_spec s;
	char src[32];
	int dropped = 0;

	for (int i = 1; i <= n; i++) {
		snprintf(src, sizeof(src), "%s.%d", net, i);
		s = syn(src);
		dropped += st_xdp(dp, &s) == XDP_DROP;
	}
	return dropped;
}

/* 1 if the collected events are exactly one drop/untrusted_source packet
 * event (count 1) for each of NET.1 .. NET.n, in order; else 0 with why. */
static int events_for_first(const struct collector *c, const char *net, int n, char *why,
			    size_t len)
{
	char src[32];

	if (c->n != n) {
		snprintf(why, len, "%d events, want %d", c->n, n);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "%s.%d", net, i + 1);
		if (!event_is(&c->ev[i], SG_EVT_PACKET, src, RELAY, 25, SG_V_DROP,
			      SG_R_UNTRUSTED_SOURCE, 1, 0, why, len))
			return 0;
	}
	return 1;
}

static void test_budget(struct sg_dp *dp, struct collector *c, struct sg_policy *p)
{
	uint64_t supp0 = st_stat(dp, SG_STAT_EVENTS_SUPPRESSED), before, after;
	struct sg_event_key key = { .src = st_addr(UNREG), .reason = SG_R_UNTRUSTED_SOURCE };
	struct sg_event_agg agg = { .pending = 7 };
	struct pkt_spec known;
	char why[160] = "";
	int dropped, ok;

	p->event_budget = 5;
	h_apply(dp, p);
	st_budget_set(dp, sg_boot_ns(), 0);
	dropped = syn_from_each(dp, "198.18.10", 20);
	drain(c);
	ok = events_for_first(c, "198.18.10", 5, why, sizeof(why));
	tap_check(dropped == 20 && ok,
		  "budget 5: 20 new sources -> 5 events, for the first 5 sources",
		  "%d dropped: %s", dropped, why);
	tap_check(st_stat(dp, SG_STAT_EVENTS_SUPPRESSED) - supp0 == 15,
		  "budget 5: events_suppressed counts the other 15", "suppressed +%llu",
		  (unsigned long long)(st_stat(dp, SG_STAT_EVENTS_SUPPRESSED) - supp0));

	/* A key already known is not a new key: its interval event comes. */
	agg.last_emit_ns = sg_boot_ns() - INTERVAL_NS - 50 * ST_MS;
	if (bpf_map_update_elem(sg_dp_map_fd(dp, "sg_event_agg"), &key, &agg, 0))
		tap_bail("write sg_event_agg: %s", strerror(errno));
	known = syn(UNREG);
	before = sg_boot_ns();
	st_xdp(dp, &known);
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "budget spent: a known key's interval event still comes (count 7 + 1)",
		   SG_EVT_PACKET, UNREG, RELAY, 25, SG_V_DROP, SG_R_UNTRUSTED_SOURCE, 8, 0, before,
		   after);

	/* The budget is per second: a new window admits new keys again. */
	st_budget_set(dp, sg_boot_ns() - ST_SEC - 10 * ST_MS, 5);
	before = sg_boot_ns();
	known = syn("198.18.10.21");
	st_xdp(dp, &known);
	after = sg_boot_ns();
	drain(c);
	expect_one(c, "budget: one second later a new source is reported again", SG_EVT_PACKET,
		   "198.18.10.21", RELAY, 25, SG_V_DROP, SG_R_UNTRUSTED_SOURCE, 1, 0, before,
		   after);
}

/* Applies p (its budgets set by the caller), opens a fresh budget
 * window and drops one SYN from each of NET.1 to NET.10: two TAP checks,
 * that only the first `within` sources got events, and that the others
 * were counted as sources_untracked and events_suppressed. */
static void flood_over_budget(struct sg_dp *dp, struct collector *c, struct sg_policy *p,
			      const char *net, int within, const char *label)
{
	uint64_t supp0 = st_stat(dp, SG_STAT_EVENTS_SUPPRESSED);
	uint64_t untr0 = st_stat(dp, SG_STAT_SOURCES_UNTRACKED);
	uint64_t untr, supp, over = (uint64_t)(10 - within);
	char why[160] = "", name[128];
	int dropped, ok;

	h_apply(dp, p);
	st_budget_set(dp, sg_boot_ns(), 0);
	dropped = syn_from_each(dp, net, 10);
	drain(c);
	ok = events_for_first(c, net, within, why, sizeof(why));
	snprintf(name, sizeof(name), "%s: 10 new sources -> events for the first %d only", label,
		 within);
	tap_check(dropped == 10 && ok, name, "%d dropped: %s", dropped, why);
	untr = st_stat(dp, SG_STAT_SOURCES_UNTRACKED) - untr0;
	supp = st_stat(dp, SG_STAT_EVENTS_SUPPRESSED) - supp0;
	snprintf(name, sizeof(name), "%s: the other %llu are sources_untracked and "
		 "events_suppressed", label, (unsigned long long)over);
	tap_check(untr == over && supp == over, name, "untracked +%llu, suppressed +%llu",
		  (unsigned long long)untr, (unsigned long long)supp);
}

/* Events go with statistics: a source over the new-source budget is not
 * tracked, and its events are suppressed with it (one hash probe per
 * packet of a spoofed flood instead of two), even with event budget left. */
static void test_source_budget(struct sg_dp *dp, struct collector *c, struct sg_policy *p)
{
	p->event_budget = 1000;
	p->source_budget = 3;
	flood_over_budget(dp, c, p, "198.18.11", 3, "source budget 3");
	p->source_budget = 20000;
}

/* Packets of verdict `verdict` that the per-source table holds for src
 * (the write-combining cache's pending count included), or -1 if src has
 * no entry. */
struct source_query {
	struct sg_addr addr;
	int verdict;
	int64_t packets;
};

static int match_source(const struct sg_addr *a, const struct sg_source_stats *s, void *ctx)
{
	struct source_query *q = ctx;

	if (!memcmp(a, &q->addr, sizeof(*a)))
		q->packets = (int64_t)s->packets[q->verdict];
	return 0;
}

static int64_t source_packets(struct sg_dp *dp, const char *src, int verdict)
{
	struct source_query q = { .addr = st_addr(src), .verdict = verdict, .packets = -1 };

	if (sg_dp_source_foreach(dp, match_source, &q))
		tap_bail("sg_dp_source_foreach failed");
	return q.packets;
}

/* The budget of per-source updates for blocked packets: beyond it in a
 * second, blocked packets of changing sources (a spoofed flood) touch no
 * per-source table; they are sources_untracked and events_suppressed.
 * Passed packets are accounted whatever the budget says. */
static void test_blocked_budget(struct sg_dp *dp, struct collector *c, struct sg_policy *p)
{
	int passed = 0, untouched = 0;
	int64_t fourth, a, b, again_drops;
	char src[32];

	p->blocked_budget = 4;
	flood_over_budget(dp, c, p, "198.18.12", 4, "blocked budget 4");
	for (int i = 5; i <= 10; i++) {
		snprintf(src, sizeof(src), "198.18.12.%d", i);
		untouched += source_packets(dp, src, SG_V_DROP) == -1;
	}
	fourth = source_packets(dp, "198.18.12.4", SG_V_DROP);
	tap_check(fourth == 1 && untouched == 6,
		  "blocked budget 4: the 4th source has its entry (1 drop), the 6 after it none",
		  "198.18.12.4: %lld drops; %d of 6 without an entry", (long long)fourth, untouched);

	/* The budget is spent: passed packets, alternating between two
	 * sources so that each is an update, are all still accounted. */
	int64_t a0 = source_packets(dp, TRUSTED, SG_V_PASS);
	int64_t b0 = source_packets(dp, "198.18.1.9", SG_V_PASS);

	for (int i = 0; i < 5; i++) {
		struct pkt_spec sa = syn(TRUSTED), sb = syn("198.18.1.9");

		passed += st_xdp(dp, &sa) == XDP_PASS;
		passed += st_xdp(dp, &sb) == XDP_PASS;
	}
	/* (-1: no entry yet, i.e. none counted.) */
	a = source_packets(dp, TRUSTED, SG_V_PASS) - (a0 < 0 ? 0 : a0);
	b = source_packets(dp, "198.18.1.9", SG_V_PASS) - (b0 < 0 ? 0 : b0);
	tap_check(passed == 10 && a == 5 && b == 5,
		  "blocked budget spent: 10 passed packets of 2 sources are all in the per-source table",
		  "%d passed; %s +%lld, 198.18.1.9 +%lld", passed, TRUSTED, (long long)a,
		  (long long)b);

	/* A new second renews it. */
	st_budget_set(dp, sg_boot_ns() - ST_SEC - 10 * ST_MS, 0);
	struct pkt_spec again = syn("198.18.12.10");

	st_xdp(dp, &again);
	drain(c);
	again_drops = source_packets(dp, "198.18.12.10", SG_V_DROP);
	tap_check(again_drops == 1 && c->n == 1,
		  "blocked budget: one second later a blocked source is accounted and reported again",
		  "198.18.12.10: %lld drops, %d events", (long long)again_drops, c->n);
	p->blocked_budget = SG_DEFAULT_BLOCKED_BUDGET;
	h_apply(dp, p);
}

int main(void)
{
	static const char *const relays[] = { RELAY, RELAY6, NULL };
	struct collector *c = calloc(1, sizeof(*c));
	struct sg_policy p;
	struct sg_dp *dp;

	if (!c)
		tap_bail("out of memory");
	if (st_pin_cpu(0))
		tap_bail("pin to CPU 0: %s", strerror(errno));
	dp = h_open();
	sg_policy_init(&p);
	sg_policy_add_port(&p, 25);
	if (h_class(&p, "conn", 10, 3, 0, 0) != 0)
		tap_bail("class");
	h_group(&p, "relays", relays);
	h_trust(&p, TRUSTED, 1, SG_NO_CLASS, 0);
	h_trust(&p, TRUSTED_B, 1, 0, 0);
	h_trust(&p, "198.18.1.9", 1, SG_NO_CLASS, 0);
	p.unreg_action = SG_UNREG_DROP;
	p.event_interval_sec = 0.2;
	p.event_budget = 1000;
	p.ban_enabled = true;
	p.ban_violations = 2;
	p.ban_window_sec = 10;
	p.ban_duration_sec = 60;
	h_apply(dp, &p);
	c->rb = ring_buffer__new(sg_dp_map_fd(dp, "sg_events"), on_event, c, NULL);
	if (!c->rb)
		tap_bail("ring_buffer__new: %s", strerror(errno));
	st_budget_set(dp, sg_boot_ns(), 0);
	tap_check(drain(c) == 0, "events: nothing before any packet", "%d events", c->n);

	test_aggregation(dp, c);
	test_verdicts(dp, c, &p);
	st_budget_set(dp, sg_boot_ns(), 0);
	test_ban_event(dp, c);
	test_budget(dp, c, &p);
	test_source_budget(dp, c, &p);
	test_blocked_budget(dp, c, &p);

	ring_buffer__free(c->rb);
	free(c);
	sg_policy_free(&p);
	sg_dp_close(dp);
	return tap_done();
}
