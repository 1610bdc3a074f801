// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Cost of one /metrics scrape with the tables full: every attachment slot
 * recorded (64, each with its per-CPU counters) and 100,000 sources in
 * sg_sources (per-CPU values), rendered with the top 20.  The target is
 * under 50 ms (docs/metrics.md).
 *
 * A scrape is what smtpgated does per request: sg_mt_collect() (read the
 * kernel's counters and tables) then sg_mt_render_buffer() (the text).
 * Timed as wall time (a scrape's latency), median over --runs, after one
 * warm-up.  For comparison it also times reading the same sources one
 * entry at a time (sg_dp_source_foreach, two syscalls per entry), which
 * is what the batched read replaces.
 *
 * Before timing, the output is checked: the largest source must head the
 * list with its exact per-verdict counts, the most-blocked source must be
 * listed, and the source series must stay within 2 x top x verdicts.  A
 * mismatch exits 1; the timings themselves never fail the run.
 *
 *   bench_scrape [--sources N] [--attachments N] [--top N] [--runs N] [--verbose]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane.h"
#include "metrics_text.h"

#define MAX_RUNS 101
#define TARGET_MS 50.0

static struct {
	unsigned sources, attachments, top;
	int runs, verbose;
} opt = { .sources = 100000, .attachments = SG_MAX_ATTACH, .top = 20, .runs = 11 };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_scrape [--sources N] [--attachments N] [--top N] [--runs N] [--verbose]\n"
		"  --sources N      entries written to sg_sources (default 100000, max %d)\n"
		"  --attachments N  attachment slots recorded (default %d)\n"
		"  --top N          metrics.top_sources (default 20)\n"
		"  --runs N         timed scrapes (default 11, 3..%d)\n"
		"  --verbose        print every run's time and the rendered text's size\n",
		SG_MAX_SOURCES, SG_MAX_ATTACH, MAX_RUNS);
}

static int parse_args(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "sources", required_argument, NULL, 's' },
		{ "attachments", required_argument, NULL, 'a' },
		{ "top", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	/* tests/bench/run.sh hands its arguments to every benchmark: an
	 * option meant for another one is not an error here. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 's': opt.sources = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'a': opt.attachments = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': opt.top = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': opt.runs = atoi(optarg); break;
		case 'v': opt.verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default:
			fprintf(stderr, "bench_scrape: ignoring %s (not an option of this benchmark)\n",
				argv[optind - 1]);
			break;
		}
	}
	if (opt.sources > SG_MAX_SOURCES || opt.attachments > SG_MAX_ATTACH || !opt.top ||
	    opt.top > SG_MAX_TOP_SOURCES || opt.runs < 3 || opt.runs > MAX_RUNS) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* This thread's CPU time, syscalls included: steadier than wall time
 * when other work shares the machine. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* ---- filling the maps ---- */

/* Source i: 10.x.y.z as IPv4-mapped, or 2001:db8::/32 for every 4th. */
static void source_addr(unsigned i, struct sg_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (i % 4 == 3) {
		a->b[0] = 0x20, a->b[1] = 0x01, a->b[2] = 0x0d, a->b[3] = 0xb8;
		memcpy(a->b + 12, &i, sizeof(i));
	} else {
		a->b[10] = 0xff, a->b[11] = 0xff, a->b[12] = 10;
		a->b[13] = (unsigned char)(i >> 16);
		a->b[14] = (unsigned char)(i >> 8);
		a->b[15] = (unsigned char)i;
	}
}

/* Per-verdict packets of source i (summed over CPUs).  Source 0 has the
 * most packets overall (pass), source 1 the most dropped ones, and the
 * rest a spread of small counts, as a spoofed flood would leave. */
static void source_packets(unsigned i, uint64_t p[SG_V_COUNT])
{
	memset(p, 0, sizeof(uint64_t) * SG_V_COUNT);
	if (i == 0) {
		p[SG_V_PASS] = 9000000;
		p[SG_V_DROP] = 3;
	} else if (i == 1) {
		p[SG_V_DROP] = 700000;
	} else {
		p[SG_V_PASS] = i % 97;
		p[SG_V_DROP] = (i * 7919u) % 5003;
		p[SG_V_REJECT] = i % 3;
	}
}

static int fill_sources(struct sg_dp *dp, int ncpus)
{
	int fd = sg_dp_map_fd(dp, "sg_sources");
	struct sg_source_stats *percpu = calloc((size_t)ncpus, sizeof(*percpu));

	if (fd < 0 || !percpu) {
		free(percpu);
		return -1;
	}
	for (unsigned i = 0; i < opt.sources; i++) {
		uint64_t p[SG_V_COUNT];
		struct sg_addr a;

		source_addr(i, &a);
		source_packets(i, p);
		/* Spread each count over the CPUs so that summing is exercised. */
		memset(percpu, 0, sizeof(*percpu) * (size_t)ncpus);
		for (int v = 0; v < SG_V_COUNT; v++) {
			percpu[0].packets[v] = p[v] - p[v] / 2;
			percpu[ncpus - 1].packets[v] += p[v] / 2;
		}
		if (bpf_map_update_elem(fd, &a, percpu, BPF_ANY)) {
			fprintf(stderr, "bench_scrape: sg_sources update %u: %s\n", i, strerror(errno));
			free(percpu);
			return -1;
		}
	}
	free(percpu);
	return 0;
}

/* Records attachment slots (no interface behind them: collected as not
 * attached, with their counters read like any other) and puts a known
 * count into slot 0. */
static int fill_attachments(struct sg_dp *dp, int ncpus)
{
	int info_fd = sg_dp_map_fd(dp, "sg_attachments"), cnt_fd = sg_dp_map_fd(dp, "sg_counters");
	struct sg_counter *percpu = calloc((size_t)ncpus, sizeof(*percpu));
	__u32 idx = sg_counter_index(0, SG_V_DROP, SG_R_UNTRUSTED_SOURCE);

	if (info_fd < 0 || cnt_fd < 0 || !percpu) {
		free(percpu);
		return -1;
	}
	for (__u32 s = 0; s < opt.attachments; s++) {
		struct sg_attach_info info = {
			.hook = s % 3 == 0 ? SG_HOOK_XDP : s % 3 == 1 ? SG_HOOK_TC_INGRESS
								  : SG_HOOK_TC_EGRESS,
			.xdp_mode = s % 3 == 0 ? XDP_FLAGS_DRV_MODE : 0,
		};

		snprintf(info.ifname, sizeof(info.ifname), "sgbench%u", s % 100);
		if (bpf_map_update_elem(info_fd, &s, &info, BPF_ANY)) {
			free(percpu);
			return -1;
		}
	}
	percpu[0].packets = 3;
	percpu[0].conns = 3;
	percpu[ncpus - 1].packets = 4;
	percpu[0].bytes = 420;
	if (bpf_map_update_elem(cnt_fd, &idx, percpu, BPF_ANY)) {
		free(percpu);
		return -1;
	}
	free(percpu);
	return 0;
}

/* ---- checking the output ---- */

static int count_lines(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	int count = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		count += !strncmp(p, prefix, n);
	return count;
}

static int expect_line(const char *text, const char *line)
{
	char *want;
	int found;

	if (asprintf(&want, "\n%s\n", line) < 0)
		return -1;
	found = strstr(text, want) != NULL;
	free(want);
	if (!found) {
		fprintf(stderr, "bench_scrape: missing from the output: %s\n", line);
		return -1;
	}
	return 0;
}

static int check_output(const char *text, const struct sg_mt_snapshot *s)
{
	int series = count_lines(text, "smtpgate_source_packets_total{");
	int rc = 0;

	if (s->kernel.sources_tracked != opt.sources) {
		fprintf(stderr, "bench_scrape: %llu sources tracked, wrote %u\n",
			(unsigned long long)s->kernel.sources_tracked, opt.sources);
		rc = -1;
	}
	if (opt.sources >= 2) {
		rc |= expect_line(text, "smtpgate_source_packets_total{source=\"10.0.0.0\","
					"verdict=\"pass\"} 9000000");
		rc |= expect_line(text, "smtpgate_source_packets_total{source=\"10.0.0.0\","
					"verdict=\"drop\"} 3");
		rc |= expect_line(text, "smtpgate_source_packets_total{source=\"10.0.0.1\","
					"verdict=\"drop\"} 700000");
		if (!s->kernel.n_sources || s->kernel.sources[0].packets[SG_V_PASS] != 9000000) {
			fprintf(stderr, "bench_scrape: the largest source is not listed first\n");
			rc = -1;
		}
	}
	/* The two lists overlap: between top and 2 x top sources. */
	if (series > (int)(2 * opt.top * SG_V_COUNT) || (opt.sources >= 2 * opt.top &&
							 series < (int)(opt.top * SG_V_COUNT))) {
		fprintf(stderr, "bench_scrape: %d source series, want %u..%u (top..2 x top, "
			"x verdicts)\n", series, opt.top * SG_V_COUNT, 2 * opt.top * SG_V_COUNT);
		rc = -1;
	}
	if (opt.attachments)
		rc |= expect_line(text, "smtpgate_packets_total{interface=\"sgbench0\",hook=\"xdp\","
					"verdict=\"drop\",reason=\"untrusted_source\"} 7");
	return rc;
}

/* ---- timing ---- */

struct one_scrape {
	double collect_ms, render_ms, total_ms, cpu_ms;
	size_t bytes;
};

static int scrape(struct sg_dp *dp, struct one_scrape *r, char **text_out,
		  struct sg_mt_snapshot *keep)
{
	struct sg_mt_snapshot s;
	double t0 = now_ms(), c0 = cpu_ms(), t1;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = sg_mt_collect(dp, NULL, 0, opt.top, &s);
	if (rc) {
		fprintf(stderr, "bench_scrape: collect: %s\n", strerror(-rc));
		return rc;
	}
	s.version = "bench";
	s.libbpf_version = libbpf_version_string();
	t1 = now_ms();
	rc = sg_mt_render_buffer(&s, &text, &len);
	r->collect_ms = t1 - t0;
	r->total_ms = now_ms() - t0;
	r->cpu_ms = cpu_ms() - c0;
	r->render_ms = r->total_ms - r->collect_ms;
	r->bytes = len;
	if (text_out)
		*text_out = text;
	else
		free(text);
	if (keep)
		*keep = s;
	else
		sg_mt_snapshot_free(&s);
	return rc;
}

/* ---- the old way, and an independent check of the selection ---- */

struct source_list {
	struct sg_stats_source *v;
	size_t n, cap;
};

static int append_source(const struct sg_addr *a, const struct sg_source_stats *s, void *ctx)
{
	struct source_list *l = ctx;

	if (l->n == l->cap)
		return -ENOSPC;
	l->v[l->n].addr = *a;
	memcpy(l->v[l->n].packets, s->packets, sizeof(l->v[0].packets));
	l->n++;
	return 0;
}

static uint64_t sum_of(const struct sg_stats_source *s, bool blocked_only)
{
	uint64_t t = 0;

	for (int v = blocked_only ? 1 : 0; v < SG_V_COUNT; v++)
		t += s->packets[v];
	return t;
}

static bool rank_blocked;

static int by_rank(const void *pa, const void *pb)
{
	const struct sg_stats_source *a = pa, *b = pb;
	uint64_t x = sum_of(a, rank_blocked), y = sum_of(b, rank_blocked);

	if (x != y)
		return x > y ? -1 : 1;
	return memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

/* By address and packets: the scrape's rows also carry the address as
 * text, which the rows read here do not. */
static bool listed(const struct sg_stats_source *v, size_t n, const struct sg_stats_source *s)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(&v[i].addr, &s->addr, sizeof(s->addr)) &&
		    !memcmp(v[i].packets, s->packets, sizeof(s->packets)))
			return true;
	return false;
}

/* Sort everything, take the top of each ranking: the selection must be
 * exactly what the bounded heaps of the scrape chose. */
static int check_selection(struct source_list *all, const struct sg_mt_snapshot *s)
{
	size_t want = 0;

	for (int pass = 0; pass < 2; pass++) {
		rank_blocked = pass == 1;
		qsort(all->v, all->n, sizeof(*all->v), by_rank);
		for (size_t i = 0; i < all->n && i < opt.top; i++) {
			if (rank_blocked && !sum_of(&all->v[i], true))
				break;
			if (!listed(s->kernel.sources, s->kernel.n_sources, &all->v[i])) {
				fprintf(stderr, "bench_scrape: source #%zu by %s is not listed\n", i + 1,
					rank_blocked ? "blocked packets" : "total packets");
				return -1;
			}
			want++;
		}
	}
	/* The two lists overlap; the scrape lists each source once. */
	if (s->kernel.n_sources > want || s->kernel.n_sources < (want + 1) / 2) {
		fprintf(stderr, "bench_scrape: %zu sources listed for %zu chosen\n",
			s->kernel.n_sources, want);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double total[MAX_RUNS], collect[MAX_RUNS], render[MAX_RUNS], cpu[MAX_RUNS], foreach_ms[3];
	struct source_list all = { 0 };
	struct sg_stats_source *chosen;
	int ncpus = libbpf_num_possible_cpus();
	struct sg_mt_snapshot first;
	struct one_scrape r;
	struct sg_err err = { 0 };
	struct sg_dp *dp;
	char *text = NULL;
	double t0;

	if (parse_args(argc, argv))
		return 2;
	if (ncpus < 1)
		ncpus = 1;
	if (sg_dp_open(&dp, NULL, &err)) {
		fprintf(stderr, "bench_scrape: %s\n", err.msg);
		return 1;
	}
	t0 = now_ms();
	if (fill_attachments(dp, ncpus) || fill_sources(dp, ncpus)) {
		fprintf(stderr, "bench_scrape: cannot fill the maps\n");
		sg_dp_close(dp);
		return 1;
	}
	printf("filled %u sources and %u attachment slots on %d CPUs in %.0f ms\n", opt.sources,
	       opt.attachments, ncpus, now_ms() - t0);
	fflush(stdout);

	/* Warm-up, kept for the output check. */
	if (scrape(dp, &r, &text, &first) || check_output(text, &first)) {
		fprintf(stderr, "bench_scrape: the scrape's output is wrong (see above)\n");
		free(text);
		sg_mt_snapshot_free(&first);
		sg_dp_close(dp);
		return 1;
	}
	printf("output checked: %zu bytes, %zu top sources listed of %llu tracked\n", r.bytes,
	       first.kernel.n_sources, (unsigned long long)first.kernel.sources_tracked);
	free(text);
	sg_mt_snapshot_free(&first);

	for (int i = 0; i < opt.runs; i++) {
		if (scrape(dp, &r, NULL, NULL)) {
			sg_dp_close(dp);
			return 1;
		}
		total[i] = r.total_ms;
		collect[i] = r.collect_ms;
		render[i] = r.render_ms;
		cpu[i] = r.cpu_ms;
		if (opt.verbose)
			printf("  run %2d: %.2f ms (collect %.2f, render %.3f; CPU %.2f)\n", i + 1,
			       r.total_ms, r.collect_ms, r.render_ms, r.cpu_ms);
	}
	/* The old way: every source with two syscalls, then the same
	 * selection; and that selection checked against sorting them all. */
	all.cap = SG_MAX_SOURCES;
	all.v = calloc(all.cap, sizeof(*all.v));
	chosen = calloc(2 * (size_t)opt.top, sizeof(*chosen));
	if (!all.v || !chosen) {
		sg_dp_close(dp);
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		all.n = 0;
		t0 = now_ms();
		sg_dp_source_foreach(dp, append_source, &all);
		sg_stats_select_sources(all.v, all.n, opt.top, chosen);
		foreach_ms[i] = now_ms() - t0;
	}
	if (scrape(dp, &r, NULL, &first) || check_selection(&all, &first)) {
		fprintf(stderr, "bench_scrape: the top sources are not the right ones\n");
		sg_mt_snapshot_free(&first);
		sg_dp_close(dp);
		return 1;
	}
	printf("top sources checked against sorting all %zu\n", all.n);
	sg_mt_snapshot_free(&first);
	free(all.v);
	free(chosen);
	printf("scrape (collect + render), %u sources, %u attachments, top %u: median %.2f ms "
	       "over %d runs (collect %.2f ms, render %.3f ms; CPU time %.2f ms); "
	       "target < %.0f ms: %s\n",
	       opt.sources, opt.attachments, opt.top, median(total, opt.runs), opt.runs,
	       median(collect, opt.runs), median(render, opt.runs), median(cpu, opt.runs), TARGET_MS,
	       median(total, opt.runs) < TARGET_MS ? "met" : "NOT MET");
	printf("for comparison, reading the sources one entry at a time "
	       "(sg_dp_source_foreach) and selecting: median %.2f ms\n", median(foreach_ms, 3));
	sg_dp_close(dp);
	return 0;
}
