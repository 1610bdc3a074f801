// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Differential test: the reference model (tests/lib/refmodel.c, written
 * from docs/semantics.md only) against the BPF programs, on random
 * policies and >= 100,000 random and mutated frames.
 *
 * Per frame: the program's return value must be the model's action, and
 * the counters of slot 0 must have moved by exactly the model's (verdict,
 * reason, ip_bytes, is_conn), or not at all for a frame that is not
 * governed; so must the per-source statistics of the source the model
 * read (its verdict's packets; if passed, its bytes and connection; if
 * dropped or rejected, its reason: tests/lib/src_snap.h).  A RST must be the RST docs/semantics.md §4 describes; any other
 * frame must come out unchanged.  About 10 % of the frames go through the
 * TC ingress program instead of XDP.
 *
 * State that depends on time is pinned down: automatic bans of entries
 * written as state (in force for an hour or forever, or ended a second
 * ago), none made during the run, rate buckets and relay caps (and their
 * unregistered shares) unlimited or exhausted for an hour, expiries an
 * hour in the past or a month ahead.
 *
 *   test_differential [-s SEED] [-p POLICIES] [-n PACKETS] [-k ONLY_POLICY] [-v]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "unit.h"
#include "clock.h"
#include "harness.h"
#include "randpkt.h"
#include "refmodel.h"
#include "src_snap.h"
#include "world_state.h"
#include "tap.h"

#define DEFAULT_SEED 0x5347446966660001ull /* "SGDiff" */
#define DEFAULT_POLICIES 24
#define DEFAULT_PACKETS 4500
#define PRE_APPLY_PACKETS 200   /* run before the policy is applied */
#define MIN_TOTAL 100000
#define MAX_REPORTS 8           /* mismatches printed in full */
#define TC_SHARE_PCT 10
#define SLOT0_CELLS (SG_V_COUNT * SG_R_COUNT)
#define OUT_MAX 4096
#define NS_PER_SEC 1000000000ull

struct options {
	uint64_t seed;
	int policies;
	int packets;
	int only;               /* -1: every policy */
	bool verbose;
};

/* ---- counters of slot 0, in one syscall ----------------------------- */

struct counter_reader {
	int fd;
	int ncpu;
	bool batch;             /* bpf_map_lookup_batch works */
	__u32 keys[SLOT0_CELLS];
	struct sg_counter *vals; /* SLOT0_CELLS * ncpu */
};

static void reader_init(struct counter_reader *cr, struct sg_dp *dp)
{
	cr->fd = sg_dp_map_fd(dp, "sg_counters");
	cr->ncpu = libbpf_num_possible_cpus();
	if (cr->fd < 0 || cr->ncpu <= 0)
		tap_bail("counters map: fd %d, %d cpus", cr->fd, cr->ncpu);
	free(cr->vals);
	cr->vals = calloc((size_t)SLOT0_CELLS * (size_t)cr->ncpu, sizeof(*cr->vals));
	if (!cr->vals)
		tap_bail("out of memory");
	cr->batch = true;
}

/* Slot 0 is cells 0 .. SLOT0_CELLS-1 of the per-CPU array (see
 * sg_counter_index), so one batch from the start reads all of it. */
static bool read_batch(struct counter_reader *cr, h_snap_t out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = SLOT0_CELLS, next;

	if (bpf_map_lookup_batch(cr->fd, NULL, &next, cr->keys, cr->vals, &count, &opts) &&
	    errno != ENOENT)
		return false;
	if (count != SLOT0_CELLS)
		return false;
	memset(out, 0, sizeof(h_snap_t));
	for (__u32 i = 0; i < count; i++) {
		__u32 k = cr->keys[i];

		if (k >= SLOT0_CELLS)
			return false;
		for (int c = 0; c < cr->ncpu; c++) {
			const struct sg_counter *v = &cr->vals[(size_t)i * (size_t)cr->ncpu + (size_t)c];

			out[k / SG_R_COUNT][k % SG_R_COUNT].packets += v->packets;
			out[k / SG_R_COUNT][k % SG_R_COUNT].bytes += v->bytes;
			out[k / SG_R_COUNT][k % SG_R_COUNT].conns += v->conns;
		}
	}
	return true;
}

static void read_slot0(struct counter_reader *cr, struct sg_dp *dp, h_snap_t out)
{
	if (cr->batch && read_batch(cr, out))
		return;
	if (cr->batch)
		tap_diag("batch lookup of sg_counters failed (%s): per-element reads",
			 strerror(errno));
	cr->batch = false;
	h_snapshot(dp, out);
}

/* ---- data plane state the model assumes ----------------------------- */

static void write_bans(struct sg_dp *dp, struct rp_rng *r, const struct rm_world *w)
{
	int fd = sg_dp_map_fd(dp, "sg_bans");
	uint64_t now = sg_boot_ns();

	for (size_t i = 0; i < w->n_bans; i++) {
		struct sg_err err = { 0 };

		if (w->bans[i].active) {
			uint64_t duration = rp_pct(r, 50) ? 0 : 3600ull * NS_PER_SEC;

			if (sg_dp_ban_put(dp, &w->bans[i].addr, duration, SG_BAN_MANUAL, &err))
				tap_bail("ban: %s", err.msg);
		} else {
			struct sg_ban b = { .since_ns = now - 2 * NS_PER_SEC,
					    .expires_ns = now - NS_PER_SEC,
					    .flags = SG_BAN_MANUAL };

			if (fd < 0 || bpf_map_update_elem(fd, &w->bans[i].addr, &b, 0))
				tap_bail("expired ban: %s", strerror(errno));
		}
	}
}

/* Makes the data plane hold the state rp->world describes. */
static void set_state(struct sg_dp *dp, struct rp_rng *r, const struct rp_policy *rp)
{
	uint64_t until = sg_boot_ns() + 3600ull * NS_PER_SEC;

	ws_apply(dp, rp, until, rp_pct(r, 50) ? SG_BAN_FOREVER : until);
	write_bans(dp, r, &rp->world);
}

/* ---- one frame ------------------------------------------------------ */

struct bpf_answer {
	int ret;
	uint8_t out[OUT_MAX];
	uint32_t out_len;
	h_snap_t before, after;
	bool src_read;                /* the model read a source: src_* are its */
	struct sg_source_stats src_before, src_after;
};

static void run_frame(int fd, int hook, const uint8_t *frame, size_t len, struct bpf_answer *b)
{
	struct __sk_buff skb = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = b->out, .data_size_out = sizeof(b->out), .repeat = 1);

	if (hook != SG_HOOK_XDP) {
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(fd, &o))
		tap_bail("test run of a %zu-byte frame (hook %s): %s", len, h_hook_name(hook),
			 strerror(errno));
	b->ret = (int)o.retval;
	b->out_len = o.data_size_out;
}

/* NULL if the program did what the model says; else what differs. */
static const char *compare(const struct rm_answer *m, const struct rp_packet *pkt, int hook,
			   const struct bpf_answer *b)
{
	static char why[1024];
	struct h_expect e = {
		.action = m->action,
		.verdict = m->governed ? m->verdict : H_NOT_GOVERNED,
		.reason = m->reason,
		.bytes = m->ip_bytes,
		.conns = m->is_conn,
	};
	const char *bad;

	why[0] = 0;
	if (b->ret != h_hook_ret(hook, m->action))
		ut_appendf(why, sizeof(why), "returned %d, want %d; ", b->ret,
			h_hook_ret(hook, m->action));
	bad = h_delta_error((struct sg_counter(*)[SG_R_COUNT])b->before,
			    (struct sg_counter(*)[SG_R_COUNT])b->after, &e);
	if (bad)
		ut_appendf(why, sizeof(why), "counters: %s", bad);
	if (b->src_read) {
		static const struct sg_addr none;
		struct sg_source_stats want;

		/* An all-zero source is not tracked (bpf/wcache.h). */
		src_expect_one(&want, m->governed && memcmp(&m->pkt.src, &none, sizeof(none)) ?
			       m->verdict : -1, m->reason, m->ip_bytes, m->is_conn);
		bad = src_one_delta_error(&b->src_before, &b->src_after, &want);
		if (bad)
			ut_appendf(why, sizeof(why), "per source: %s; ", bad);
	}
	if (m->action == RM_RST && b->ret == h_hook_ret(hook, RM_RST)) {
		bad = rm_check_rst(pkt->frame, pkt->len, &m->pkt, b->out, b->out_len);
		if (!bad && !pkt->mutated && !pkt->spec.l4_len_override && !pkt->spec.ip_len_delta &&
		    !pkt->spec.doff_override)
			bad = pkt_check_rst(b->out, b->out_len, &pkt->spec);
		if (bad)
			ut_appendf(why, sizeof(why), "RST: %s; ", bad);
	} else if (m->action != RM_RST &&
		   (b->out_len != pkt->len || memcmp(b->out, pkt->frame, pkt->len))) {
		ut_appendf(why, sizeof(why), "frame changed (%u bytes out of %zu); ", b->out_len,
			pkt->len);
	}
	return why[0] ? why : NULL;
}

/* The counter cells that moved, as "drop/malformed +1 pkt +60 B +0 conn". */
static void describe_moves(const struct bpf_answer *b, char *buf, size_t cap)
{
	buf[0] = 0;
	for (int v = 0; v < SG_V_COUNT; v++) {
		for (int r = 0; r < SG_R_COUNT; r++) {
			uint64_t dp = b->after[v][r].packets - b->before[v][r].packets;
			uint64_t db = b->after[v][r].bytes - b->before[v][r].bytes;
			uint64_t dc = b->after[v][r].conns - b->before[v][r].conns;

			if (dp || db || dc)
				ut_appendf(buf, cap, "%s/%s +%" PRIu64 " pkt +%" PRIu64 " B +%" PRIu64
					" conn; ", sg_verdict_names[v], sg_reason_names[r], dp, db, dc);
		}
	}
	if (!buf[0])
		snprintf(buf, cap, "no counter moved");
}

static void hexdump(const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < len; i += 16) {
		printf("#   %04zx:", i);
		for (size_t j = i; j < i + 16 && j < len; j++)
			printf(" %02x", f[j]);
		printf("\n");
	}
}

/* ---- mismatch bookkeeping ------------------------------------------- */

#define MAX_KINDS 32

struct mismatch_kind {
	char text[200];
	uint64_t count;
};

struct totals {
	uint64_t packets;
	uint64_t mismatches;
	uint64_t governed;
	uint64_t rst;
	uint64_t tc;
	uint64_t by_verdict[SG_V_COUNT][SG_R_COUNT];
	/* What the parser saw, to show the frames reach every rule. */
	uint64_t early;                  /* pass-early */
	uint64_t parse[3][3];            /* [know][problem], not pass-early */
	uint64_t first_frag[7];          /* [RM_FF_*] */
	uint64_t mutated;
	uint64_t before_apply;
	uint64_t ff_governed[7];         /* governed first fragments */
	uint64_t ff_short_v4;            /* governed IPv4 first fragments, TCP header < 20 bytes */
	uint64_t ff_conn_reject;         /* REJECT of a first-fragment SYN (must drop) */
	uint64_t monitor_reject;         /* REJECT turned MONITOR */
	int reported;
	struct mismatch_kind kinds[MAX_KINDS];
	int n_kinds;
};

static void count_parse(struct totals *t, const struct rm_answer *m, const struct rp_packet *pkt,
			bool applied)
{
	if (m->pkt.pass_early)
		t->early++;
	else
		t->parse[m->pkt.know][m->pkt.problem]++;
	t->first_frag[m->pkt.first_frag]++;
	if (m->governed && m->pkt.first_frag) {
		t->ff_governed[m->pkt.first_frag]++;
		t->ff_short_v4 += m->pkt.first_frag == RM_FF_V4 && m->pkt.tcp_short;
		t->ff_conn_reject += m->enforce_verdict == SG_V_REJECT && m->is_conn;
	}
	t->monitor_reject += m->governed && m->enforce_verdict == SG_V_REJECT &&
			     m->verdict == SG_V_MONITOR;
	t->mutated += pkt->mutated;
	t->before_apply += !applied;
}

/* Groups mismatches as "model drop, drop/malformed | bpf pass, pass/trusted". */
static const char *action_name(int hook, int ret)
{
	static const char *const names[] = { "pass", "drop", "rst" };

	for (int a = RM_PASS; a <= RM_RST; a++)
		if (ret == h_hook_ret(hook, a))
			return names[a];
	return "unknown action";
}

static void count_kind(struct totals *t, int hook, const struct rm_answer *m,
		       const struct bpf_answer *b)
{
	char model[80], bpf[96];
	char key[200];
	int v_moved = -1, r_moved = -1;

	rm_answer_text(m, model, sizeof(model));
	/* Drop the byte count from the key: it varies per frame. */
	for (char *p = strstr(model, " bytes"); p; p = NULL)
		*p = 0;
	for (int v = 0; v < SG_V_COUNT; v++)
		for (int r = 0; r < SG_R_COUNT; r++)
			if (b->after[v][r].packets != b->before[v][r].packets && v_moved < 0) {
				v_moved = v;
				r_moved = r;
			}
	if (v_moved >= 0)
		snprintf(bpf, sizeof(bpf), "%s, %s/%s", action_name(hook, b->ret),
			 sg_verdict_names[v_moved], sg_reason_names[r_moved]);
	else
		snprintf(bpf, sizeof(bpf), "%s, no packet counted", action_name(hook, b->ret));
	snprintf(key, sizeof(key), "model %s | bpf %s", model, bpf);
	for (int i = 0; i < t->n_kinds; i++) {
		if (!strcmp(t->kinds[i].text, key)) {
			t->kinds[i].count++;
			return;
		}
	}
	if (t->n_kinds < MAX_KINDS) {
		snprintf(t->kinds[t->n_kinds].text, sizeof(t->kinds[0].text), "%s", key);
		t->kinds[t->n_kinds++].count = 1;
	}
}

static void report(const struct options *opt, int k, int i, int hook, const struct rp_policy *rp,
		   const struct rp_packet *pkt, const struct rm_answer *m,
		   const struct bpf_answer *b, const char *why, bool print_policy)
{
	char text[160], moves[512];

	printf("# MISMATCH seed %#" PRIx64 " policy %d packet %d hook %s%s"
	       " (replay: test_differential -s %#" PRIx64 " -k %d -n %d -v)\n",
	       opt->seed, k, i, h_hook_name(hook), rp->world.applied ? "" : " (before apply)",
	       opt->seed, k, opt->packets);
	if (print_policy) {
		printf("#  policy %d:\n", k);
		rp_policy_print(rp, stdout);
	}
	printf("#  frame: %s (%zu bytes%s)\n", pkt->how, pkt->len, pkt->mutated ? ", mutated" : "");
	hexdump(pkt->frame, pkt->len);
	printf("#  model: %s (know %d problem %d first_frag %d l3 %zu)\n",
	       rm_answer_text(m, text, sizeof(text)), m->pkt.know, m->pkt.problem,
	       m->pkt.first_frag, m->pkt.l3);
	describe_moves(b, moves, sizeof(moves));
	printf("#  bpf:   ret %d (%s); %s\n", b->ret, action_name(hook, b->ret), moves);
	printf("#  why:   %s\n", why);
}

/* BPF_PROG_TEST_RUN refuses skb frames whose EtherType is IPv4 or IPv6
 * but that are too short for the fixed IP header (EINVAL); such frames
 * can only go through XDP. */
static bool tc_can_run(const struct rp_packet *pkt)
{
	uint16_t type = (uint16_t)(pkt->frame[12] << 8 | pkt->frame[13]);

	if (type == 0x0800)
		return pkt->len >= 14 + 20;
	if (type == 0x86dd)
		return pkt->len >= 14 + 40;
	return true;
}

/* ---- one policy ----------------------------------------------------- */

static void run_packets(const struct options *opt, int k, int n, int fds[4],
			struct counter_reader *cr, struct sg_dp *dp, struct rp_rng *r,
			const struct rp_policy *rp, struct totals *t, int *policy_bad)
{
	static struct rp_packet pkt;
	static struct bpf_answer b;
	struct rm_answer m;
	bool policy_printed = false;

	read_slot0(cr, dp, b.after);
	for (int i = 0; i < n; i++) {
		const char *why;
		int hook;

		rp_packet_make(r, rp, &pkt);
		hook = rp_pct(r, TC_SHARE_PCT) && tc_can_run(&pkt) ? SG_HOOK_TC_INGRESS
								   : SG_HOOK_XDP;
		rm_decide(&rp->world, pkt.frame, pkt.len, &m);
		memcpy(b.before, b.after, sizeof(h_snap_t));
		b.src_read = m.pkt.know >= RM_SRC;
		if (b.src_read && sg_dp_source_get(dp, &m.pkt.src, &b.src_before))
			tap_bail("sg_dp_source_get failed");
		run_frame(fds[hook], hook, pkt.frame, pkt.len, &b);
		read_slot0(cr, dp, b.after);
		if (b.src_read && sg_dp_source_get(dp, &m.pkt.src, &b.src_after))
			tap_bail("sg_dp_source_get failed");
		t->packets++;
		t->tc += hook != SG_HOOK_XDP;
		if (m.governed) {
			t->governed++;
			t->by_verdict[m.verdict][m.reason]++;
		}
		t->rst += m.action == RM_RST;
		count_parse(t, &m, &pkt, rp->world.applied);
		why = compare(&m, &pkt, hook, &b);
		if (!why)
			continue;
		t->mismatches++;
		(*policy_bad)++;
		count_kind(t, hook, &m, &b);
		if (t->reported < MAX_REPORTS || opt->verbose) {
			report(opt, k, i, hook, rp, &pkt, &m, &b, why, !policy_printed);
			policy_printed = true;
			t->reported++;
		}
	}
}

static void run_policy(const struct options *opt, int k, struct counter_reader *cr,
		       struct totals *t)
{
	struct rp_policy *rp = calloc(1, sizeof(*rp));
	struct sg_err err = { 0 };
	struct rp_rng r;
	struct sg_dp *dp;
	int fds[4] = { -1, -1, -1, -1 }, bad = 0, n = 0;
	uint64_t before = t->packets;
	char name[96];

	if (!rp)
		tap_bail("out of memory");
	/* Each policy has its own stream: -k K replays policy K alone. */
	rp_seed(&r, opt->seed ^ (0x100000001b3ull * (uint64_t)(k + 1)));
	rp_policy_make(&r, rp, h_unix_now(), (unsigned)k);
	dp = h_open();
	reader_init(cr, dp);
	fds[SG_HOOK_XDP] = sg_dp_prog_fd(dp, SG_HOOK_XDP, 0, &err);
	fds[SG_HOOK_TC_INGRESS] = sg_dp_prog_fd(dp, SG_HOOK_TC_INGRESS, 0, &err);
	if (fds[SG_HOOK_XDP] < 0 || fds[SG_HOOK_TC_INGRESS] < 0)
		tap_bail("program fds: %s", err.msg);

	/* No policy yet: nothing is governed, not even malformed frames. */
	rp->world.applied = false;
	run_packets(opt, k, PRE_APPLY_PACKETS, fds, cr, dp, &r, rp, t, &bad);
	rp->world.applied = true;

	h_apply(dp, &rp->pol);
	set_state(dp, &r, rp);
	run_packets(opt, k, opt->packets, fds, cr, dp, &r, rp, t, &bad);

	/* The batch reader and the library's reader must agree. */
	{
		h_snap_t mine, lib;

		read_slot0(cr, dp, mine);
		h_snapshot(dp, lib);
		if (memcmp(mine, lib, sizeof(mine)))
			tap_bail("batch counter read disagrees with sg_dp_read_counters");
	}
	n = (int)(t->packets - before);
	snprintf(name, sizeof(name), "policy %d: all %d packets agree", k, n);
	tap_check(!bad, name, "%d of %d packets disagree with the model", bad, n);
	sg_dp_close(dp);
	rp_policy_free(rp);
	free(rp);
}

/* ---- main ----------------------------------------------------------- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s SEED] [-p POLICIES] [-n PACKETS] [-k ONLY_POLICY] [-v]\n"
		"  -s  PRNG seed (default %#llx)\n"
		"  -p  random policies (default %d)\n"
		"  -n  packets per policy after it is applied (default %d)\n"
		"  -k  run only policy K of the sequence (reproduces it)\n"
		"  -v  print every mismatch, not only the first %d\n",
		prog, (unsigned long long)DEFAULT_SEED, DEFAULT_POLICIES, DEFAULT_PACKETS,
		MAX_REPORTS);
	exit(2);
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	int c;

	*opt = (struct options){ .seed = DEFAULT_SEED, .policies = DEFAULT_POLICIES,
				 .packets = DEFAULT_PACKETS, .only = -1 };
	while ((c = getopt(argc, argv, "s:p:n:k:vh")) != -1) {
		switch (c) {
		case 's':
			opt->seed = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			opt->policies = atoi(optarg);
			break;
		case 'n':
			opt->packets = atoi(optarg);
			break;
		case 'k':
			opt->only = atoi(optarg);
			break;
		case 'v':
			opt->verbose = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (opt->policies <= 0 || opt->packets < 0)
		usage(argv[0]);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void print_summary(const struct totals *t, int policies, double secs)
{
	static const char *const know[] = { "nothing", "src", "ports" };
	static const char *const problem[] = { "ok", "fragment", "malformed" };

	printf("# %" PRIu64 " governed, %" PRIu64 " RSTs, %" PRIu64
	       " through TC ingress; governed by verdict/reason:\n",
	       t->governed, t->rst, t->tc);
	for (int v = 0; v < SG_V_COUNT; v++)
		for (int r = 0; r < SG_R_COUNT; r++)
			if (t->by_verdict[v][r])
				printf("#   %s/%s %" PRIu64 "\n", sg_verdict_names[v],
				       sg_reason_names[r], t->by_verdict[v][r]);
	printf("# parser: pass-early %" PRIu64, t->early);
	for (int k = 0; k < 3; k++)
		for (int p = 0; p < 3; p++)
			printf(", %s/%s %" PRIu64, know[k], problem[p], t->parse[k][p]);
	printf("\n# first fragments: IPv4 %" PRIu64 ", IPv6 %" PRIu64 "; mutated %" PRIu64
	       "; before apply %" PRIu64 "\n", t->first_frag[RM_FF_V4], t->first_frag[RM_FF_V6],
	       t->mutated, t->before_apply);
	printf("# rare cases: governed first fragments IPv4 %" PRIu64 " (short TCP header %" PRIu64
	       "), IPv6 %" PRIu64 "; rejected first-fragment SYNs %" PRIu64
	       "; rejects in monitor mode %" PRIu64 "\n",
	       t->ff_governed[RM_FF_V4], t->ff_short_v4, t->ff_governed[RM_FF_V6],
	       t->ff_conn_reject, t->monitor_reject);
	for (int i = 0; i < t->n_kinds; i++)
		printf("# mismatch kind x%" PRIu64 ": %s\n", t->kinds[i].count, t->kinds[i].text);
	printf("# %.1f s\n", secs);
	printf("# compared %" PRIu64 " packets over %d policies: %" PRIu64 " mismatches\n",
	       t->packets, policies, t->mismatches);
}

int main(int argc, char **argv)
{
	static struct totals t;
	struct counter_reader cr = { 0 };
	struct options opt;
	struct timespec t0;
	int policies = 0;

	parse_options(argc, argv, &opt);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# seed %#" PRIx64 ", %d policies, %d packets each (+%d before apply)\n", opt.seed,
	       opt.policies, opt.packets, PRE_APPLY_PACKETS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < opt.policies; k++) {
		if (opt.only >= 0 && k != opt.only)
			continue;
		run_policy(&opt, k, &cr, &t);
		policies++;
	}
	print_summary(&t, policies, seconds_since(&t0));
	tap_check(t.packets >= MIN_TOTAL, ">= 100000 packets compared", "only %" PRIu64,
		  t.packets);
	free(cr.vals);
	return tap_done();
}
