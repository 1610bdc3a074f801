// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Token buckets (GCRA, docs/semantics.md §5) through BPF_PROG_TEST_RUN:
 * rate classes in both dimensions, relay caps, the throttle allowance of
 * unregistered sources, automatic and manual bans, and the exactness of a
 * bucket shared by two CPUs.
 *
 * Time is controlled by writing bucket and ban state relative to
 * sg_boot_ns() with margins of tens of milliseconds, so no check depends
 * on how fast the machine is; only the multi-CPU check runs in real time.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "harness.h"
#include "state.h"
#include "tap.h"

#define RELAY_CAPPED  "198.18.0.25" /* in groups 0 and 1 */
#define RELAY_G1      "198.18.0.26" /* group 1 only */
#define RELAY_PLAIN   "198.18.0.27" /* group 2: no cap */
#define RELAY_PLAIN6  "2001:db8::27" /* group 2 */
#define NOT_RELAY     "198.18.0.99"

#define SRC_CONN      "198.18.1.1"
#define SRC_BYTES     "198.18.1.2"
#define SRC_BOTH      "198.18.1.3"
#define SRC_UNLIMITED "198.18.1.4"
#define SRC_BAN       "198.18.1.5"
#define SRC_MANUAL    "198.18.1.6"
#define SRC_FAST      "198.18.1.7"
#define SRC_CAP_A     "198.18.1.10" /* groups 0,1 */
#define SRC_CAP_B     "198.18.1.11" /* groups 0,1 */
#define SRC_CAP_G1    "198.18.1.12" /* group 1 only */
#define SRC_UNREG     "198.18.9.1"
#define SRC_UNREG6    "2001:db8:9::1"
#define SRC_UNREG_BAN "198.18.9.2"
#define NET_BAN       "198.18.5.0/24" /* one entry, one class, shared by its hosts */
#define NET_A         "198.18.5.1"
#define NET_B         "198.18.5.2"
#define NET_C         "198.18.5.77"
#define NET_HOST      "198.18.5.200"  /* a host entry of its own inside NET_BAN */
#define NET_FLOOD     "10.64.0.0/15"  /* 131072 addresses: more than SG_MAX_BANS */

enum { C_CONN, C_BYTES, C_BOTH, C_FAST };
enum { G_CAPPED, G_ONE, G_PLAIN };

#define CONN_T   (100 * ST_MS) /* 10 conn/s */
#define CONN_TAU (3 * CONN_T)  /* burst 3 */
#define CAP_T    (100 * ST_MS) /* caps: 10 conn/s */
#define BYTE_T   ST_MS         /* 1000 bytes/s: 1 ms per byte */
#define BYTE_TAU ST_SEC        /* burst 1000 bytes */

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static struct sg_policy pol;

static struct pkt_spec syn(const char *src, const char *dst)
{
	return st_pkt(src, dst, TCPF_SYN, 0);
}

static uint64_t cap_tat(struct sg_dp *dp, uint32_t g)
{
	return st_conn_tat(dp, "sg_relay_caps", g);
}

static void build_policy(void)
{
	static const char *const capped[] = { RELAY_CAPPED, NULL };
	static const char *const one[] = { RELAY_CAPPED, RELAY_G1, NULL };
	static const char *const plain[] = { RELAY_PLAIN, RELAY_PLAIN6, NULL };
	const uint64_t plain_mask = 1ull << G_PLAIN, cap_mask = 1ull << G_CAPPED | 1ull << G_ONE;

	sg_policy_init(&pol);
	sg_policy_add_port(&pol, 25);
	if (h_class(&pol, "conn", 10, 3, 0, 0) != C_CONN ||
	    h_class(&pol, "bytes", 0, 0, 1000, 1000) != C_BYTES ||
	    h_class(&pol, "both", 10, 3, 1000, 1000) != C_BOTH ||
	    h_class(&pol, "fast", 1000, 1000, 0, 0) != C_FAST)
		tap_bail("classes");
	h_group(&pol, "capped", capped);
	h_group(&pol, "one", one);
	h_group(&pol, "plain", plain);
	pol.groups[G_CAPPED].cap_conn_per_sec = 10;
	pol.groups[G_CAPPED].cap_conn_burst = 2;
	pol.groups[G_ONE].cap_conn_per_sec = 10;
	pol.groups[G_ONE].cap_conn_burst = 4;
	h_trust(&pol, SRC_CONN, plain_mask, C_CONN, 0);
	h_trust(&pol, SRC_BYTES, plain_mask, C_BYTES, 0);
	h_trust(&pol, SRC_BOTH, plain_mask, C_BOTH, 0);
	h_trust(&pol, SRC_UNLIMITED, plain_mask, SG_NO_CLASS, 0);
	h_trust(&pol, SRC_BAN, plain_mask, C_CONN, 0);
	h_trust(&pol, SRC_MANUAL, plain_mask, SG_NO_CLASS, 0);
	h_trust(&pol, SRC_FAST, plain_mask, C_FAST, 0);
	h_trust(&pol, SRC_CAP_A, cap_mask, SG_NO_CLASS, 0);
	h_trust(&pol, SRC_CAP_B, cap_mask, SG_NO_CLASS, 0);
	h_trust(&pol, SRC_CAP_G1, 1ull << G_ONE, SG_NO_CLASS, 0);
	h_trust(&pol, NET_BAN, plain_mask, C_CONN, 0);
	h_trust(&pol, NET_HOST, plain_mask, C_CONN, 0);
	h_trust(&pol, NET_FLOOD, plain_mask, C_CONN, 0);
	pol.unreg_action = SG_UNREG_THROTTLE;
	pol.unreg_class = C_CONN;
}

static void test_conn_dimension(struct sg_dp *dp)
{
	struct pkt_spec s = syn(SRC_CONN, RELAY_PLAIN);
	struct pkt_spec ack = st_pkt(SRC_CONN, RELAY_PLAIN, TCPF_ACK, 100);
	uint32_t slot = st_slot(dp, SRC_CONN);
	struct sg_bucket b0, b1;
	char name[96];
	int acks = 0;

	st_bucket_set(dp, "sg_buckets", slot, 0, 0);
	for (int i = 1; i <= 3; i++) {
		snprintf(name, sizeof(name), "conn 10/s burst 3: back-to-back SYN %d passes", i);
		st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED, name);
	}
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED,
		  "conn 10/s burst 3: the 4th back-to-back SYN is drop/rate_limited");

	/* Exhausted for connections: other packets are not charged. */
	st_bucket_set(dp, "sg_buckets", slot, sg_boot_ns() + CONN_TAU + 500 * ST_MS, 0);
	st_bucket_get(dp, "sg_buckets", slot, &b0);
	for (int i = 0; i < 5; i++)
		acks += st_xdp(dp, &ack) == XDP_PASS;
	tap_check(acks == 5, "conn exhausted: 5 ACKs still pass", "%d passed", acks);
	st_expect_to(dp, SRC_CONN, RELAY_PLAIN, TCPF_SYN | TCPF_ACK, SG_V_PASS, SG_R_TRUSTED,
		     "conn exhausted: a SYN-ACK is not a connection, passes");
	st_bucket_get(dp, "sg_buckets", slot, &b1);
	tap_check(b1.conn_tat == b0.conn_tat && b1.byte_tat == 0,
		  "non-SYN packets leave conn_tat untouched",
		  "conn_tat %llu -> %llu, byte_tat %llu",
		  (unsigned long long)b0.conn_tat, (unsigned long long)b1.conn_tat,
		  (unsigned long long)b1.byte_tat);
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED, "conn exhausted: a SYN is rate limited");
	st_bucket_get(dp, "sg_buckets", slot, &b1);
	tap_check(b1.conn_tat == b0.conn_tat, "a rate-limited SYN does not charge the bucket",
		  "conn_tat %llu -> %llu", (unsigned long long)b0.conn_tat,
		  (unsigned long long)b1.conn_tat);

	/* One second worth of refill is more than the burst: full again. */
	b1.conn_tat -= ST_SEC;
	st_bucket_put(dp, "sg_buckets", slot, &b1);
	for (int i = 1; i <= 3; i++) {
		snprintf(name, sizeof(name), "conn_tat set back by 1 s: SYN %d passes again", i);
		st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED, name);
	}
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED,
		  "conn_tat set back by 1 s: the 4th SYN is limited again");

	/* The edges, with 50 ms margins: backlog over tau limits, a backlog
	 * of one connection less than the burst admits one. */
	st_bucket_set(dp, "sg_buckets", slot, sg_boot_ns() + CONN_TAU + 50 * ST_MS, 0);
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED, "conn backlog tau + 50 ms: limited");
	{
		uint64_t tat = sg_boot_ns() + CONN_TAU - CONN_T - 50 * ST_MS;

		st_bucket_set(dp, "sg_buckets", slot, tat, 0);
		st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED,
			  "conn backlog 150 ms (< 2 conns): passes");
		st_bucket_get(dp, "sg_buckets", slot, &b1);
		tap_check(b1.conn_tat == tat + CONN_T,
			  "a conforming SYN pushes a future conn_tat by exactly 100 ms",
			  "conn_tat moved by %lld ns", (long long)(b1.conn_tat - tat));
	}
}

static void test_bytes_dimension(struct sg_dp *dp)
{
	struct pkt_spec big = st_pkt(SRC_BYTES, RELAY_PLAIN, TCPF_SYN, 1360); /* 1400 IP bytes */
	struct pkt_spec small = st_pkt(SRC_BYTES, RELAY_PLAIN, TCPF_ACK, 0);  /* 40 */
	struct pkt_spec mid = st_pkt(SRC_BYTES, RELAY_PLAIN, TCPF_ACK, 560);  /* 600 */
	uint32_t slot = st_slot(dp, SRC_BYTES);
	struct sg_bucket b;
	uint64_t before, after;

	st_bucket_set(dp, "sg_buckets", slot, 0, 0);
	before = sg_boot_ns();
	st_expect(dp, &big, SG_V_PASS, SG_R_TRUSTED,
		  "bytes 1000/s burst 1000: a 1400-byte packet passes on a full bucket");
	after = sg_boot_ns();
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(st_in(b.byte_tat, before + 1400 * BYTE_T, after + 1400 * BYTE_T) &&
			  b.conn_tat == 0,
		  "the 1400-byte packet charges 1400 ms of byte credit, no conn credit",
		  "byte_tat - before = %lld us, conn_tat %llu",
		  (long long)(b.byte_tat - before) / 1000, (unsigned long long)b.conn_tat);
	st_expect(dp, &small, SG_V_DROP, SG_R_RATE_LIMITED,
		  "bytes: the next packet (40 bytes, an ACK) is rate limited");

	/* 100 bytes of credit left: a 600-byte packet still passes, in debt. */
	st_bucket_set(dp, "sg_buckets", slot, 0, sg_boot_ns() + BYTE_TAU - 100 * BYTE_T);
	st_expect(dp, &mid, SG_V_PASS, SG_R_TRUSTED,
		  "bytes: 600 bytes pass with only 100 bytes of credit left");
	st_expect(dp, &small, SG_V_DROP, SG_R_RATE_LIMITED,
		  "bytes: after the debt the next 40 bytes are limited");
	before = sg_boot_ns() + BYTE_TAU + 50 * ST_MS;
	st_bucket_set(dp, "sg_buckets", slot, 0, before);
	st_expect(dp, &small, SG_V_DROP, SG_R_RATE_LIMITED,
		  "bytes: backlog tau + 50 ms: 40 bytes are limited");
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(b.byte_tat == before, "bytes: a limited packet charges nothing",
		  "byte_tat moved by %lld", (long long)(b.byte_tat - before));
	st_bucket_set(dp, "sg_buckets", slot, 0, 0);
	st_xdp(dp, &big);
	tap_check(st_conn_tat(dp, "sg_buckets", slot) == 0,
		  "bytes-only class: a SYN charges no connection credit", "conn_tat set");
}

static void test_both_dimensions(struct sg_dp *dp)
{
	struct pkt_spec s = syn(SRC_BOTH, RELAY_PLAIN); /* 40 IP bytes */
	uint32_t slot = st_slot(dp, SRC_BOTH);
	uint64_t conn_tat, byte_tat, before, after;
	struct sg_bucket b;

	conn_tat = sg_boot_ns() + ST_SEC;
	st_bucket_set(dp, "sg_buckets", slot, conn_tat, 0);
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED,
		  "both: conn exhausted, bytes fresh: limited");
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(b.byte_tat == 0 && b.conn_tat == conn_tat,
		  "both: conn non-conforming -> bytes not charged", "conn %llu byte %llu",
		  (unsigned long long)b.conn_tat, (unsigned long long)b.byte_tat);

	byte_tat = sg_boot_ns() + 2 * ST_SEC;
	st_bucket_set(dp, "sg_buckets", slot, 0, byte_tat);
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED,
		  "both: bytes exhausted, conn fresh: limited");
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(b.conn_tat == 0 && b.byte_tat == byte_tat,
		  "both: bytes non-conforming -> conn not charged", "conn %llu byte %llu",
		  (unsigned long long)b.conn_tat, (unsigned long long)b.byte_tat);

	st_bucket_set(dp, "sg_buckets", slot, 0, 0);
	before = sg_boot_ns();
	st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED, "both: both fresh: passes");
	after = sg_boot_ns();
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(st_in(b.conn_tat, before + CONN_T, after + CONN_T) &&
			  st_in(b.byte_tat, before + 40 * BYTE_T, after + 40 * BYTE_T),
		  "both: a conforming SYN charges 100 ms of conn and 40 ms of byte credit",
		  "conn +%lld us, byte +%lld us", (long long)(b.conn_tat - before) / 1000,
		  (long long)(b.byte_tat - before) / 1000);

	conn_tat = sg_boot_ns() + ST_SEC;
	st_bucket_set(dp, "sg_buckets", slot, conn_tat, 0);
	st_expect_to(dp, SRC_BOTH, RELAY_PLAIN, TCPF_ACK, SG_V_PASS, SG_R_TRUSTED,
		     "both: conn exhausted, an ACK passes on bytes alone");
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(b.conn_tat == conn_tat && b.byte_tat != 0,
		  "both: the ACK charged bytes only", "conn %llu (was %llu) byte %llu",
		  (unsigned long long)b.conn_tat, (unsigned long long)conn_tat,
		  (unsigned long long)b.byte_tat);
}

static void test_unlimited(struct sg_dp *dp)
{
	struct pkt_spec s = st_pkt(SRC_UNLIMITED, RELAY_PLAIN, TCPF_SYN, 1400);
	uint32_t slot = st_slot(dp, SRC_UNLIMITED);
	uint64_t far = sg_boot_ns() + 100 * ST_SEC;
	struct sg_bucket b;
	int passed = 0;

	/* Even a bucket that says "exhausted" is not consulted. */
	st_bucket_set(dp, "sg_buckets", slot, far, far);
	for (int i = 0; i < 50; i++)
		passed += st_xdp(dp, &s) == XDP_PASS;
	tap_check(passed == 50, "unlimited class: 50 big SYNs back-to-back all pass",
		  "%d passed", passed);
	st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED, "unlimited class: counted pass/trusted");
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(b.conn_tat == far && b.byte_tat == far, "unlimited class: bucket untouched",
		  "bucket changed");
}

/* The time a packet's charge used: an empty connection bucket ends one
 * connection's cost past it. */
static uint64_t charged_at(struct sg_dp *dp, const struct pkt_spec *s, uint32_t slot)
{
	struct sg_bucket b;

	st_bucket_set(dp, "sg_buckets", slot, 0, 0);
	st_xdp(dp, s);
	st_bucket_get(dp, "sg_buckets", slot, &b);
	return b.conn_tat - CONN_T;
}

/* The per-CPU clock memo (struct sg_clock_memo) must give the very value
 * the coarse clock has, tick after tick: a charge's time lies between the
 * coarse clock read just before and just after the packet, also for the
 * second packet of a jiffy (which the memo answers), and the memo holds
 * it.  A memo a tick behind would put the time before `before`. */
static void test_clock_memo(struct sg_dp *dp)
{
	struct pkt_spec s = syn(SRC_CONN, RELAY_PLAIN);
	uint32_t slot = st_slot(dp, SRC_CONN);
	int bracketed = 0, remembered = 0, rounds = 25;

	for (int i = 0; i < rounds; i++) {
		uint64_t before = sg_boot_ns(), first, second, after;

		first = charged_at(dp, &s, slot);
		second = charged_at(dp, &s, slot);
		after = sg_boot_ns();
		bracketed += before <= first && first <= second && second <= after;
		remembered += st_clock_memo_holds(dp, second);
		usleep(3000); /* most rounds start in another jiffy (HZ 100-1000) */
	}
	tap_check(bracketed == rounds,
		  "clock memo: every charge's time is the coarse clock's (between before and after)",
		  "%d of %d rounds bracketed", bracketed, rounds);
	tap_check(remembered == rounds, "clock memo: a CPU's memo holds the time it gave",
		  "%d of %d rounds", remembered, rounds);
}

static void test_relay_cap(struct sg_dp *dp)
{
	struct pkt_spec a = syn(SRC_CAP_A, RELAY_CAPPED), b = syn(SRC_CAP_B, RELAY_CAPPED);
	uint64_t before, after, t0, exhausted;

	st_bucket_set(dp, "sg_relay_caps", G_CAPPED, 0, 0);
	st_bucket_set(dp, "sg_relay_caps", G_ONE, 0, 0);
	before = sg_boot_ns();
	st_expect(dp, &a, SG_V_PASS, SG_R_TRUSTED, "cap: source A's SYN passes");
	after = sg_boot_ns();
	t0 = cap_tat(dp, G_CAPPED);
	tap_check(st_in(t0, before + CAP_T, after + CAP_T) && cap_tat(dp, G_ONE) == 0,
		  "cap: the lowest usable group's cap (0) is charged 100 ms, group 1's is not",
		  "cap0 +%lld us, cap1 %llu", (long long)(t0 - before) / 1000,
		  (unsigned long long)cap_tat(dp, G_ONE));
	st_expect(dp, &b, SG_V_PASS, SG_R_TRUSTED, "cap: source B's SYN passes");
	tap_check(cap_tat(dp, G_CAPPED) == t0 + CAP_T,
		  "cap: source B charges the same cap bucket (+100 ms)", "cap0 %llu, want %llu",
		  (unsigned long long)cap_tat(dp, G_CAPPED), (unsigned long long)(t0 + CAP_T));
	st_expect(dp, &a, SG_V_DROP, SG_R_RATE_LIMITED,
		  "cap burst 2: a third SYN (A again) is rate limited");

	exhausted = sg_boot_ns() + 2 * CAP_T + 500 * ST_MS;
	st_bucket_set(dp, "sg_relay_caps", G_CAPPED, exhausted, 0);
	st_expect(dp, &a, SG_V_DROP, SG_R_RATE_LIMITED, "cap exhausted: A's SYN is limited");
	st_expect(dp, &b, SG_V_DROP, SG_R_RATE_LIMITED, "cap exhausted: B's SYN is limited");
	st_expect_to(dp, SRC_CAP_A, RELAY_CAPPED, TCPF_ACK, SG_V_PASS, SG_R_TRUSTED,
		     "cap exhausted: A's ACK passes (caps count SYNs only)");
	tap_check(cap_tat(dp, G_CAPPED) == exhausted && cap_tat(dp, G_ONE) == 0,
		  "cap: limited SYNs and ACKs charge no cap", "cap0 %llu cap1 %llu",
		  (unsigned long long)cap_tat(dp, G_CAPPED),
		  (unsigned long long)cap_tat(dp, G_ONE));

	before = sg_boot_ns();
	st_expect_to(dp, SRC_CAP_G1, RELAY_CAPPED, TCPF_SYN, SG_V_PASS, SG_R_TRUSTED,
		     "cap: a group-1-only source is not held by group 0's cap");
	after = sg_boot_ns();
	t0 = cap_tat(dp, G_ONE);
	tap_check(st_in(t0, before + CAP_T, after + CAP_T),
		  "cap: the group-1-only source charged group 1's cap", "cap1 +%lld us",
		  (long long)(t0 - before) / 1000);
	st_expect_to(dp, SRC_CAP_A, RELAY_G1, TCPF_SYN, SG_V_PASS, SG_R_TRUSTED,
		     "cap: A to a group-1-only relay passes (usable = {1})");
	tap_check(cap_tat(dp, G_ONE) == t0 + CAP_T && cap_tat(dp, G_CAPPED) == exhausted,
		  "cap: ... and charged group 1's cap, not group 0's", "cap1 %llu want %llu",
		  (unsigned long long)cap_tat(dp, G_ONE), (unsigned long long)(t0 + CAP_T));
}

static void test_throttle(struct sg_dp *dp)
{
	struct pkt_spec u = syn(SRC_UNREG, RELAY_PLAIN), u6 = syn(SRC_UNREG6, RELAY_PLAIN);
	struct sg_addr ua = st_addr(SRC_UNREG), ua6 = st_addr(SRC_UNREG6);
	uint32_t h = sg_throttle_hash(&ua), h6 = sg_throttle_hash(&ua6);
	uint64_t before, after, exhausted;
	struct sg_bucket b;

	if (h == h6)
		tap_bail("test sources share a throttle bucket: pick others");
	u6.dst = RELAY_PLAIN6;
	st_bucket_set(dp, "sg_throttle", h, 0, 0);
	st_bucket_set(dp, "sg_throttle", h6, 0, 0);
	before = sg_boot_ns();
	st_expect(dp, &u, SG_V_PASS, SG_R_THROTTLE_ALLOWANCE,
		  "throttle: unregistered SYN to a relay is pass/throttle_allowance");
	after = sg_boot_ns();
	st_bucket_get(dp, "sg_throttle", h, &b);
	tap_check(st_in(b.conn_tat, before + CONN_T, after + CONN_T),
		  "throttle: charged sg_throttle[sg_throttle_hash(src)] by 100 ms",
		  "bucket %u conn_tat +%lld us", h, (long long)(b.conn_tat - before) / 1000);
	st_expect_to(dp, SRC_UNREG, NOT_RELAY, TCPF_SYN, SG_V_DROP, SG_R_UNAPPROVED_RELAY,
		     "throttle: to a non-relay is drop/unapproved_relay");
	tap_check(st_conn_tat(dp, "sg_throttle", h) == b.conn_tat,
		  "throttle: a non-relay SYN charges nothing", "bucket %u moved", h);
	exhausted = sg_boot_ns() + CONN_TAU + 500 * ST_MS;
	st_bucket_set(dp, "sg_throttle", h, exhausted, 0);
	st_expect(dp, &u, SG_V_DROP, SG_R_RATE_LIMITED,
		  "throttle: beyond the allowance is drop/rate_limited");
	st_expect(dp, &u6, SG_V_PASS, SG_R_THROTTLE_ALLOWANCE,
		  "throttle: an IPv6 source in another bucket still has its allowance");
	tap_check(st_conn_tat(dp, "sg_throttle", h6) != 0,
		  "throttle: the IPv6 source charged its own hashed bucket", "bucket %u idle", h6);

	st_bucket_set(dp, "sg_throttle", h, 0, 0);
	for (int i = 1; i <= 3; i++) {
		char name[96];

		snprintf(name, sizeof(name), "throttle burst 3: SYN %d passes", i);
		st_expect(dp, &u, SG_V_PASS, SG_R_THROTTLE_ALLOWANCE, name);
	}
	st_expect(dp, &u, SG_V_DROP, SG_R_RATE_LIMITED, "throttle burst 3: the 4th SYN is limited");

	/* The relay cap also holds throttled sources. */
	st_bucket_set(dp, "sg_throttle", h, 0, 0);
	st_bucket_set(dp, "sg_relay_caps", G_CAPPED, sg_boot_ns() + 10 * ST_SEC, 0);
	st_expect_to(dp, SRC_UNREG, RELAY_CAPPED, TCPF_SYN, SG_V_DROP, SG_R_RATE_LIMITED,
		     "throttle: cap of group 0 exhausted -> rate_limited");
	st_bucket_set(dp, "sg_relay_caps", G_CAPPED, 0, 0);
}

/* Unregistered sources have their own share of a relay cap (a tenth of
 * its rate and burst, at least one connection) and are charged it and the
 * cap; trusted entries the cap only.  A flood of spoofed unregistered
 * sources, each with a fresh throttle bucket, takes the share and no
 * more: group 1's cap (10/s, burst 4) keeps 3 for the trusted source. */
static void test_cap_share(struct sg_dp *dp)
{
	const uint32_t share = SG_MAX_GROUPS + G_ONE;
	int passed = 0;
	uint64_t before, after, t;
	char src[32];

	st_bucket_set(dp, "sg_relay_caps", G_ONE, 0, 0);
	st_bucket_set(dp, "sg_relay_caps", share, 0, 0);
	before = sg_boot_ns();
	for (int i = 0; i < 200; i++) {
		struct pkt_spec u;
		struct sg_addr ua;

		snprintf(src, sizeof(src), "198.18.%d.%d", 10 + i / 250, 1 + i % 250);
		ua = st_addr(src);
		st_bucket_set(dp, "sg_throttle", sg_throttle_hash(&ua), 0, 0);
		u = syn(src, RELAY_G1);
		passed += st_xdp(dp, &u) == XDP_PASS;
	}
	after = sg_boot_ns();
	t = st_conn_tat(dp, "sg_relay_caps", share);
	tap_check(passed == 1, "cap share: 200 spoofed unregistered SYNs, 1 passes (the share's burst)",
		  "%d passed", passed);
	tap_check(st_in(t, before + 10 * CAP_T, after + 10 * CAP_T) &&
			  st_in(cap_tat(dp, G_ONE), before + CAP_T, after + CAP_T),
		  "cap share: charged the share (1/s: +1 s) and the cap (+100 ms) once each",
		  "share +%lld ms, cap +%lld ms", (long long)(t - before) / 1000000,
		  (long long)(cap_tat(dp, G_ONE) - before) / 1000000);
	for (int i = 1; i <= 3; i++) {
		char name[96];

		snprintf(name, sizeof(name),
			 "cap share: during the flood, trusted SYN %d of the cap's other 3 passes", i);
		st_expect_to(dp, SRC_CAP_G1, RELAY_G1, TCPF_SYN, SG_V_PASS, SG_R_TRUSTED,
				   name);
	}
	tap_check(st_conn_tat(dp, "sg_relay_caps", share) == t,
		  "cap share: trusted SYNs do not charge the share", "share moved");
	st_bucket_set(dp, "sg_relay_caps", G_ONE, 0, 0);
	st_bucket_set(dp, "sg_relay_caps", share, sg_boot_ns() + 10 * ST_SEC, 0);
	{
		struct sg_addr ua = st_addr(SRC_UNREG);

		st_bucket_set(dp, "sg_throttle", sg_throttle_hash(&ua), 0, 0);
	}
	st_expect_to(dp, SRC_UNREG, RELAY_G1, TCPF_SYN, SG_V_DROP, SG_R_RATE_LIMITED,
		     "cap share: share exhausted, cap full: an unregistered SYN is rate_limited");
	tap_check(cap_tat(dp, G_ONE) == 0, "cap share: ... and charges no cap", "cap %llu",
		  (unsigned long long)cap_tat(dp, G_ONE));
	st_bucket_set(dp, "sg_relay_caps", share, 0, 0);
}

static void test_multi_cpu(struct sg_dp *dp)
{
	struct pkt_spec s = syn(SRC_FAST, RELAY_PLAIN);
	struct sg_err err = { 0 };
	struct st_racer r[2] = { { .cpu = 0 }, { .cpu = 1 } };
	struct sg_counter p0, d0, p1, d1;
	uint8_t frame[PKT_MAX];
	uint32_t len = (uint32_t)pkt_build(&s, frame, sizeof(frame));
	double lo, hi, mid;
	long passed, runs;
	int fd = sg_dp_prog_fd(dp, SG_HOOK_XDP, 0, &err);

	if (fd < 0)
		tap_bail("multi-cpu set-up: %s", err.msg);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		tap_diag("one CPU only: multi-CPU exactness not testable here");
		return;
	}
	st_bucket_set(dp, "sg_buckets", st_slot(dp, SRC_FAST), 0, 0);
	p0 = h_counter(dp, SG_V_PASS, SG_R_TRUSTED);
	d0 = h_counter(dp, SG_V_DROP, SG_R_RATE_LIMITED);
	st_race(fd, frame, len, r, 2, 800 * ST_MS);
	passed = r[0].passed + r[1].passed;
	runs = r[0].runs + r[1].runs;
	/* One global bucket of 1000 conn/s, burst 1000 admits burst + rate *
	 * (last packet - first packet): a full bucket holds no more than the
	 * burst however long it waited.  The packets' instants are known to
	 * within their runs, hence a range. */
	lo = 1000.0 + (double)(MAX(r[0].last_before, r[1].last_before) -
			       MIN(r[0].first_after, r[1].first_after)) / 1e6;
	hi = 1000.0 + (double)(MAX(r[0].last_after, r[1].last_after) -
			       MIN(r[0].first_before, r[1].first_before)) / 1e6 + 2;
	mid = (lo + hi) / 2;
	tap_diag("multi-cpu: %ld + %ld runs on CPUs %d/%d: %ld passed, expected %.1f .. %.1f "
		 "(%+.2f %% from %.1f)", r[0].runs, r[1].runs, r[0].ran_on, r[1].ran_on, passed,
		 lo, hi, ((double)passed - mid) / mid * 100.0, mid);
	tap_check(!r[0].error && !r[1].error && r[0].ran_on == 0 && r[1].ran_on == 1 &&
			  r[0].runs > 2000 && r[1].runs > 2000,
		  "multi-cpu: both threads ran, pinned to CPU 0 and CPU 1",
		  "errors %d/%d cpus %d/%d runs %ld/%ld", r[0].error, r[1].error, r[0].ran_on,
		  r[1].ran_on, r[0].runs, r[1].runs);
	tap_check((double)passed >= 0.9 * lo && (double)passed <= 1.1 * hi,
		  "multi-cpu: passed within 10 % of burst + rate * elapsed",
		  "%ld passed, expected %.1f .. %.1f", passed, lo, hi);
	p1 = h_counter(dp, SG_V_PASS, SG_R_TRUSTED);
	d1 = h_counter(dp, SG_V_DROP, SG_R_RATE_LIMITED);
	tap_check(p1.conns - p0.conns == (uint64_t)passed &&
			  d1.packets - d0.packets == (uint64_t)(runs - passed),
		  "multi-cpu: counters agree with what the threads saw",
		  "pass %llu/%ld drop %llu/%ld", (unsigned long long)(p1.conns - p0.conns), passed,
		  (unsigned long long)(d1.packets - d0.packets), runs - passed);
}

struct auto_seen {
	uint32_t slot;
	struct sg_entry_ban ban;
	int found, total;
};

static int auto_cb(const struct sg_entry_ban *b, void *ctx)
{
	struct auto_seen *s = ctx;

	s->total++;
	if (b->rec.slot == s->slot) {
		s->found++;
		s->ban = *b;
	}
	return 0;
}

/* The record of slot's automatic ban, through the loader's API. */
static struct auto_seen auto_bans(struct sg_dp *dp, uint32_t slot)
{
	struct auto_seen s = { .slot = slot };

	sg_dp_auto_ban_foreach(dp, auto_cb, &s);
	return s;
}

/* A violation bans the trusted entry whose class it violated, in the
 * entry's bucket: never an address in sg_bans (the manual bans). */
static void test_auto_ban(struct sg_dp *dp)
{
	struct pkt_spec s = syn(SRC_BAN, RELAY_PLAIN);
	struct sg_addr a = st_addr(SRC_BAN);
	uint32_t slot = st_slot(dp, SRC_BAN);
	struct auto_seen seen;
	struct sg_bucket b;
	struct sg_ban ban;
	uint64_t before, after;
	char name[96];

	st_bucket_set(dp, "sg_buckets", slot, sg_boot_ns() + 10 * ST_SEC, 0);
	for (int i = 1; i <= 2; i++) {
		snprintf(name, sizeof(name), "auto-ban: violation %d is drop/rate_limited", i);
		st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED, name);
		st_bucket_get(dp, "sg_buckets", slot, &b);
		snprintf(name, sizeof(name),
			 "auto-ban: no ban after %d violations (count %d)", i, i);
		tap_check(!b.ban_until_ns && auto_bans(dp, slot).found == 0 &&
				  b.violations == (uint32_t)i,
			  name, "violations %u ban_until %llu", b.violations,
			  (unsigned long long)b.ban_until_ns);
	}
	before = sg_boot_ns();
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED,
		  "auto-ban: violation 3 is drop/rate_limited");
	after = sg_boot_ns();
	st_bucket_get(dp, "sg_buckets", slot, &b);
	seen = auto_bans(dp, slot);
	tap_check(seen.found == 1 && st_in(seen.ban.rec.since_ns, before, after) &&
			  seen.ban.rec.expires_ns == seen.ban.rec.since_ns + 60 * ST_SEC &&
			  b.ban_until_ns == seen.ban.rec.expires_ns &&
			  !memcmp(&seen.ban.rec.src, &a, sizeof(a)) && seen.ban.known &&
			  seen.ban.entry.len == 128,
		  "auto-ban: the 3rd violation bans the entry: its bucket and record say until "
		  "since + 60 s, the record names the entry and the source",
		  "found %d since %+lld ns expires-since %lld bucket %llu known %d len %u",
		  seen.found, (long long)(seen.ban.rec.since_ns - before),
		  (long long)(seen.ban.rec.expires_ns - seen.ban.rec.since_ns),
		  (unsigned long long)b.ban_until_ns, seen.ban.known, seen.ban.entry.len);
	tap_check(st_ban_get(dp, &a, &ban) == -ENOENT && st_ban_count(dp) == 0,
		  "auto-ban: nothing in sg_bans (kept for manual bans)", "%d bans",
		  st_ban_count(dp));
	tap_check(b.violations == 0, "auto-ban: the violation count restarts", "violations %u",
		  b.violations);
	b.conn_tat = 0;
	st_bucket_put(dp, "sg_buckets", slot, &b);
	st_expect(dp, &s, SG_V_DROP, SG_R_BANNED,
		  "auto-ban: next SYN is drop/banned though it conforms");
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(b.conn_tat == 0, "auto-ban: a banned packet charges nothing",
		  "conn_tat %llu", (unsigned long long)b.conn_tat);
	st_expect_to(dp, SRC_BAN, NOT_RELAY, TCPF_SYN, SG_V_DROP, SG_R_BANNED,
		     "auto-ban: banned comes before unapproved_relay");

	b.ban_until_ns = sg_boot_ns() - ST_MS;
	st_bucket_put(dp, "sg_buckets", slot, &b);
	st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED,
		  "auto-ban: a ban past its deadline no longer applies");
	b.ban_until_ns = SG_BAN_FOREVER;
	b.conn_tat = 0;
	st_bucket_put(dp, "sg_buckets", slot, &b);
	st_expect(dp, &s, SG_V_DROP, SG_R_BANNED, "auto-ban: a ban until removed applies");
	b.ban_until_ns = seen.ban.rec.expires_ns; /* the ban its record is of */
	st_bucket_put(dp, "sg_buckets", slot, &b);
	tap_check(sg_dp_auto_ban_del(dp, slot, NULL) == 0 && auto_bans(dp, slot).found == 0 &&
			  sg_dp_auto_ban_del(dp, slot, NULL) == -ENOENT,
		  "auto-ban: sg_dp_auto_ban_del removes the record (then -ENOENT)", "failed");
	st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED, "auto-ban: ... and lifts the ban");
	{
		/* Deleting a record lifts only the ban it records, not a newer one. */
		struct sg_auto_ban rec = { .since_ns = sg_boot_ns() - 2 * ST_SEC,
					   .expires_ns = sg_boot_ns() - ST_SEC, .slot = slot };

		if (bpf_map_update_elem(sg_dp_map_fd(dp, "sg_auto_bans"), &slot, &rec, 0))
			tap_bail("write sg_auto_bans: %s", strerror(errno));
		b.ban_until_ns = SG_BAN_FOREVER;
		b.conn_tat = 0;
		st_bucket_put(dp, "sg_buckets", slot, &b);
		tap_check(sg_dp_auto_ban_del(dp, slot, NULL) == 0,
			  "auto-ban: an ended ban's record is deleted", "failed");
		st_expect(dp, &s, SG_V_DROP, SG_R_BANNED,
			  "auto-ban: ... and a newer ban in the bucket stays");
		b.ban_until_ns = 0;
		st_bucket_put(dp, "sg_buckets", slot, &b);
	}

	/* Violations spread over more than the window (10 s) do not ban. */
	b = (struct sg_bucket){ .conn_tat = sg_boot_ns() + 10 * ST_SEC, .violations = 2,
				.window_start_ns = sg_boot_ns() - 11 * ST_SEC };
	st_bucket_put(dp, "sg_buckets", slot, &b);
	before = sg_boot_ns();
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED,
		  "auto-ban: 3rd violation 11 s later: limited");
	after = sg_boot_ns();
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(!b.ban_until_ns && b.violations == 1 && st_in(b.window_start_ns, before, after),
		  "auto-ban: ... no ban, the window restarts with 1 violation",
		  "violations %u window_start %+lld", b.violations,
		  (long long)(b.window_start_ns - before));
	b = (struct sg_bucket){ .conn_tat = sg_boot_ns() + 10 * ST_SEC, .violations = 2,
				.window_start_ns = sg_boot_ns() - 9 * ST_SEC };
	st_bucket_put(dp, "sg_buckets", slot, &b);
	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED,
		  "auto-ban: 3rd violation 9 s later: limited");
	st_bucket_get(dp, "sg_buckets", slot, &b);
	tap_check(b.ban_until_ns && auto_bans(dp, slot).found == 1,
		  "auto-ban: ... within the window: banned", "no ban");
	sg_dp_auto_ban_del(dp, slot, NULL);
	st_bucket_set(dp, "sg_buckets", slot, 0, 0);

	/* Throttled (unregistered) sources are never banned automatically. */
	{
		struct sg_addr ua = st_addr(SRC_UNREG);
		struct pkt_spec u = syn(SRC_UNREG, RELAY_PLAIN);
		int limited = 0;

		st_bucket_set(dp, "sg_throttle", sg_throttle_hash(&ua), sg_boot_ns() + 10 * ST_SEC,
			      0);
		for (int i = 0; i < 5; i++)
			limited += st_xdp(dp, &u) == XDP_DROP;
		tap_check(limited == 5 && st_ban_get(dp, &ua, &ban) == -ENOENT &&
				  st_ban_count(dp) == 0 && auto_bans(dp, 0).total == 0,
			  "auto-ban: 5 throttle violations of an unregistered source ban nothing",
			  "%d limited", limited);
	}
}

/* A /24 entry with one class: host A's burst exhausts the shared bucket,
 * host B's SYNs then count the violations.  The ban is the entry's (all
 * of the /24, whoever sent the violating packet), not B's address nor
 * A's; a host with an entry of its own inside the /24 is not touched. */
static void test_entry_ban(struct sg_dp *dp)
{
	struct sg_prefix net = st_prefix(NET_BAN);
	uint32_t slot = st_slot(dp, NET_BAN), host_slot = st_slot(dp, NET_HOST);
	struct sg_addr b_addr = st_addr(NET_B);
	struct pkt_spec a = syn(NET_A, RELAY_PLAIN), b = syn(NET_B, RELAY_PLAIN);
	struct auto_seen seen;
	char name[96];

	st_bucket_set(dp, "sg_buckets", slot, 0, 0);
	st_bucket_set(dp, "sg_buckets", host_slot, 0, 0);
	for (int i = 1; i <= 3; i++) {
		snprintf(name, sizeof(name), "entry ban: host A's burst, SYN %d passes", i);
		st_expect(dp, &a, SG_V_PASS, SG_R_TRUSTED, name);
	}
	st_expect(dp, &b, SG_V_DROP, SG_R_RATE_LIMITED,
		  "entry ban: host B's first SYN finds the /24's bucket empty: rate_limited");
	st_expect(dp, &b, SG_V_DROP, SG_R_RATE_LIMITED, "entry ban: B's 2nd: rate_limited");
	tap_check(auto_bans(dp, slot).found == 0, "entry ban: 2 violations ban nothing", "banned");
	st_expect(dp, &b, SG_V_DROP, SG_R_RATE_LIMITED,
		  "entry ban: B's 3rd SYN, the 3rd violation: rate_limited");
	seen = auto_bans(dp, slot);
	tap_check(seen.found == 1 && seen.ban.known && seen.ban.entry.len == net.len &&
			  !memcmp(&seen.ban.entry.addr, &net.addr, sizeof(net.addr)) &&
			  !memcmp(&seen.ban.rec.src, &b_addr, sizeof(b_addr)),
		  "entry ban: the record names the entry " NET_BAN " and B as the source",
		  "found %d known %d len %u", seen.found, seen.ban.known, seen.ban.entry.len);
	tap_check(st_ban_count(dp) == 0,
		  "entry ban: no address ban for A or B: sg_bans stays empty", "%d bans",
		  st_ban_count(dp));
	st_bucket_set(dp, "sg_buckets", slot, 0, 0); /* the bucket full: only the ban holds */
	{
		struct sg_bucket bk;

		st_bucket_get(dp, "sg_buckets", slot, &bk);
		bk.ban_until_ns = seen.ban.rec.expires_ns;
		st_bucket_put(dp, "sg_buckets", slot, &bk);
	}
	st_expect(dp, &a, SG_V_DROP, SG_R_BANNED, "entry ban: host A is drop/banned");
	st_expect(dp, &b, SG_V_DROP, SG_R_BANNED, "entry ban: host B is drop/banned");
	st_expect_to(dp, NET_C, RELAY_PLAIN, TCPF_SYN, SG_V_DROP, SG_R_BANNED,
		     "entry ban: any other host of the /24 is drop/banned");
	st_expect_to(dp, NET_HOST, RELAY_PLAIN, TCPF_SYN, SG_V_PASS, SG_R_TRUSTED,
		     "entry ban: a host entry of its own inside the /24 still passes");
	st_expect_to(dp, SRC_CONN, RELAY_PLAIN, TCPF_SYN, SG_V_PASS, SG_R_TRUSTED,
		     "entry ban: another entry still passes");
	tap_check(sg_dp_auto_ban_del(dp, slot, NULL) == 0, "entry ban: lifted by slot", "failed");
	st_expect(dp, &a, SG_V_PASS, SG_R_TRUSTED, "entry ban: lifted: host A passes again");
	st_bucket_set(dp, "sg_buckets", slot, 0, 0);
}

/* Spoofed sources inside a trusted prefix, the bucket exhausted, one
 * violation bans (the policy of this test): however many sources, the
 * data plane makes one ban (the entry's) and sg_bans, the manual bans,
 * gets nothing, so an operator's ban still goes in afterwards. */
#define FLOOD_SOURCES 70000 /* more than SG_MAX_BANS */

static void test_auto_ban_flood(struct sg_dp *dp)
{
	uint32_t slot = st_slot(dp, NET_FLOOD);
	struct sg_addr manual = st_addr(SRC_MANUAL);
	struct sg_err err = { 0 };
	uint64_t stats_before = st_stat(dp, SG_STAT_BAN_FAILED);
	struct auto_seen seen;
	int dropped = 0, rc;
	char src[32];

	for (int i = 0; i < FLOOD_SOURCES; i++) {
		struct pkt_spec s;

		if (i % 1000 == 0) { /* lift the ban now and then: many bans */
			sg_dp_auto_ban_del(dp, slot, NULL);
			st_bucket_set(dp, "sg_buckets", slot, sg_boot_ns() + 100 * ST_SEC, 0);
		}
		snprintf(src, sizeof(src), "10.%d.%d.%d", 64 + (i >> 16), (i >> 8) & 255, i & 255);
		s = syn(src, RELAY_PLAIN);
		dropped += st_xdp(dp, &s) == XDP_DROP;
	}
	seen = auto_bans(dp, slot);
	tap_check(dropped == FLOOD_SOURCES && seen.found == 1 && seen.total == 1,
		  "ban flood: 70000 spoofed sources in " NET_FLOOD " dropped, one ban record "
		  "(the entry's)",
		  "%d dropped, %d records", dropped, seen.total);
	tap_check(st_ban_count(dp) == 0 && st_stat(dp, SG_STAT_BAN_FAILED) == stats_before,
		  "ban flood: sg_bans untouched, no ban failed", "%d bans, %llu failed",
		  st_ban_count(dp),
		  (unsigned long long)(st_stat(dp, SG_STAT_BAN_FAILED) - stats_before));
	rc = sg_dp_ban_put(dp, &manual, 0, SG_BAN_MANUAL, &err);
	tap_check(rc == 0, "ban flood: a manual ban_put still succeeds afterwards", "%s",
		  err.msg);
	st_expect_to(dp, SRC_MANUAL, RELAY_PLAIN, TCPF_SYN, SG_V_DROP, SG_R_BANNED,
		     "ban flood: ... and applies");
	sg_dp_ban_del(dp, &manual, NULL);
	sg_dp_auto_ban_del(dp, slot, NULL);
	st_bucket_set(dp, "sg_buckets", slot, 0, 0);
}

struct ban_seen {
	struct sg_addr want;
	struct sg_ban ban;
	int found, total;
};

static int ban_cb(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	struct ban_seen *s = ctx;

	s->total++;
	if (!memcmp(a, &s->want, sizeof(*a))) {
		s->found++;
		s->ban = *b;
	}
	return 0;
}

static int stop_cb(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	(void)a;
	(void)b;
	++*(int *)ctx;
	return 42;
}

static void test_manual_ban(struct sg_dp *dp)
{
	struct pkt_spec s = syn(SRC_MANUAL, RELAY_PLAIN);
	struct ban_seen seen = { .want = st_addr(SRC_MANUAL) };
	struct sg_addr other = st_addr(SRC_UNREG_BAN);
	struct sg_err err = { 0 };
	uint64_t before, after;
	int calls = 0, rc;

	before = sg_boot_ns();
	rc = sg_dp_ban_put(dp, &seen.want, 0, SG_BAN_MANUAL, &err);
	after = sg_boot_ns();
	tap_check(rc == 0, "manual ban: ban_put succeeds", "%s", err.msg);
	st_expect(dp, &s, SG_V_DROP, SG_R_BANNED, "manual ban: trusted source is drop/banned");
	sg_dp_ban_foreach(dp, ban_cb, &seen);
	tap_check(seen.found == 1 && seen.ban.flags == SG_BAN_MANUAL && seen.ban.expires_ns == 0 &&
			  st_in(seen.ban.since_ns, before, after),
		  "manual ban: foreach lists it: MANUAL, no deadline, since = now",
		  "found %d flags %u expires %llu", seen.found, seen.ban.flags,
		  (unsigned long long)seen.ban.expires_ns);
	tap_check(seen.total == st_ban_count(dp), "manual ban: foreach visits every ban",
		  "%d visited, %d in the map", seen.total, st_ban_count(dp));

	rc = sg_dp_ban_put(dp, &other, 5 * ST_SEC, SG_BAN_MANUAL, &err);
	st_expect_to(dp, SRC_UNREG_BAN, NOT_RELAY, TCPF_SYN, SG_V_DROP, SG_R_BANNED,
		     "manual ban: a ban precedes the unregistered verdict");
	seen = (struct ban_seen){ .want = other };
	sg_dp_ban_foreach(dp, ban_cb, &seen);
	tap_check(rc == 0 && seen.found == 1 &&
			  seen.ban.expires_ns == seen.ban.since_ns + 5 * ST_SEC,
		  "manual ban: duration 5 s -> expires = since + 5 s", "found %d delta %lld",
		  seen.found, (long long)(seen.ban.expires_ns - seen.ban.since_ns));
	rc = sg_dp_ban_foreach(dp, stop_cb, &calls);
	tap_check(rc == 42 && calls == 1, "manual ban: a callback's non-zero return stops foreach",
		  "rc %d calls %d", rc, calls);

	seen.want = st_addr(SRC_MANUAL);
	rc = sg_dp_ban_del(dp, &seen.want, &err);
	tap_check(rc == 0, "manual ban: ban_del succeeds", "%s", err.msg);
	st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED, "manual ban: unbanned source passes again");
	err = (struct sg_err){ 0 };
	rc = sg_dp_ban_del(dp, &seen.want, &err);
	tap_check(rc == -ENOENT && strstr(err.msg, "not banned") && strstr(err.msg, SRC_MANUAL),
		  "manual ban: deleting a missing ban fails: -ENOENT, names the address",
		  "rc %d msg \"%s\"", rc, err.msg);
	sg_dp_ban_del(dp, &other, NULL);
}

int main(void)
{
	struct sg_dp *dp = h_open();

	build_policy();
	h_apply(dp, &pol);
	test_conn_dimension(dp);
	test_bytes_dimension(dp);
	test_both_dimensions(dp);
	test_unlimited(dp);
	test_clock_memo(dp);
	test_relay_cap(dp);
	test_throttle(dp);
	test_cap_share(dp);
	test_multi_cpu(dp);

	pol.ban_enabled = true;
	pol.ban_violations = 3;
	pol.ban_window_sec = 10;
	pol.ban_duration_sec = 60;
	h_apply(dp, &pol);
	test_auto_ban(dp);
	test_entry_ban(dp);
	test_manual_ban(dp);

	pol.ban_violations = 1;
	h_apply(dp, &pol);
	test_auto_ban_flood(dp);

	sg_policy_free(&pol);
	sg_dp_close(dp);
	return tap_done();
}
