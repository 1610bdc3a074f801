// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading counters and per-source state (the bans are dp_bans.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "dp_internal.h"

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

int sg_dp_read_counters(struct sg_dp *dp, uint32_t slot,
			struct sg_counter out[SG_V_COUNT][SG_R_COUNT])
{
	int fd = bpf_map__fd(dp->skel->maps.sg_counters), n = ncpus();
	struct sg_counter *percpu = calloc((size_t)n, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(struct sg_counter) * SG_V_COUNT * SG_R_COUNT);
	for (uint32_t v = 0; v < SG_V_COUNT; v++) {
		for (uint32_t r = 0; r < SG_R_COUNT; r++) {
			__u32 idx = sg_counter_index(slot, v, r);

			if (bpf_map_lookup_elem(fd, &idx, percpu)) {
				free(percpu);
				return -errno;
			}
			for (int c = 0; c < n; c++) {
				out[v][r].packets += percpu[c].packets;
				out[v][r].bytes += percpu[c].bytes;
				out[v][r].conns += percpu[c].conns;
			}
		}
	}
	free(percpu);
	return 0;
}

int sg_dp_read_stats(struct sg_dp *dp, uint64_t out[SG_STAT_COUNT])
{
	int fd = bpf_map__fd(dp->skel->maps.sg_stats), n = ncpus();
	__u64 *percpu = calloc((size_t)n, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	for (__u32 s = 0; s < SG_STAT_COUNT; s++) {
		out[s] = 0;
		if (bpf_map_lookup_elem(fd, &s, percpu)) {
			free(percpu);
			return -errno;
		}
		for (int c = 0; c < n; c++)
			out[s] += percpu[c];
	}
	free(percpu);
	return 0;
}

/* Per-CPU cache entries not yet flushed into sg_sources (see abi.h). */
struct sg_source_cached {
	struct sg_wc *wc;
	int n;
};

static void read_pending(struct sg_dp *dp, struct sg_source_cached *p)
{
	struct sg_cpu *cpu = calloc((size_t)ncpus(), sizeof(*cpu));
	__u32 zero = 0;

	p->n = 0;
	p->wc = calloc((size_t)ncpus(), sizeof(*p->wc));
	if (p->wc && cpu && !bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sg_cpu), &zero, cpu)) {
		p->n = ncpus();
		for (int c = 0; c < p->n; c++)
			p->wc[c] = cpu[c].wc;
	}
	free(cpu);
}

static int addr_eq(const struct sg_addr *a, const struct sg_addr *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Adds one CPU's statistics of a source to sum. */
static void add_stats(struct sg_source_stats *sum, const struct sg_source_stats *s)
{
	for (int v = 0; v < SG_V_COUNT; v++)
		sum->packets[v] += s->packets[v];
	sum->bytes += s->bytes;
	sum->conns += s->conns;
	for (int r = 0; r < SG_SRC_BLOCK_REASONS; r++)
		sum->blocked[r] += s->blocked[r];
}

/* Adds the pending counts for source a, as the data plane's flush would
 * (bpf/wcache.h, sg_source_add); marks them consumed. */
static void add_pending(struct sg_source_cached *p, const struct sg_addr *a,
			struct sg_source_stats *sum)
{
	for (int c = 0; c < p->n; c++) {
		struct sg_wc *w = &p->wc[c];
		uint32_t blocked = (uint32_t)w->reason - SG_SRC_FIRST_BLOCK;

		if (!w->valid || !w->pending || !addr_eq(&w->src, a))
			continue;
		sum->packets[w->verdict & (SG_V_COUNT - 1)] += w->pending;
		if (w->verdict == SG_V_PASS) {
			sum->bytes += w->bytes;
			sum->conns += w->conns;
		} else if (w->verdict != SG_V_MONITOR && blocked < SG_SRC_BLOCK_REASONS) {
			sum->blocked[blocked] += w->pending;
		}
		w->pending = 0;
	}
}

struct sg_source_cached *sg_dp_source_cached(struct sg_dp *dp)
{
	struct sg_source_cached *p = malloc(sizeof(*p));

	if (p)
		read_pending(dp, p);
	return p;
}

void sg_source_cached_add(struct sg_source_cached *p, const struct sg_addr *a,
			  struct sg_source_stats *sum)
{
	if (p)
		add_pending(p, a, sum);
}

int sg_source_cached_rest(struct sg_source_cached *p, sg_dp_source_cb cb, void *ctx)
{
	int rc = 0;

	for (int c = 0; p && !rc && c < p->n; c++) {
		struct sg_wc *w = &p->wc[c];
		struct sg_source_stats sum = { 0 };
		struct sg_addr src = w->src;

		if (!w->valid || !w->pending ||
		    !(src.w[0] | src.w[1] | src.w[2] | src.w[3]))
			continue;
		add_pending(p, &src, &sum);
		rc = cb(&src, &sum, ctx);
	}
	return rc;
}

void sg_source_cached_free(struct sg_source_cached *p)
{
	if (p)
		free(p->wc);
	free(p);
}

/* The cache is read before the LRU: a flush in between may count a few
 * packets twice for a moment, never lose them; callers exporting
 * counters keep them monotonic. */
int sg_dp_source_foreach(struct sg_dp *dp, sg_dp_source_cb cb, void *ctx)
{
	int fd = bpf_map__fd(dp->skel->maps.sg_sources), n = ncpus(), rc = 0;
	struct sg_source_stats *percpu = calloc((size_t)n, sizeof(*percpu));
	struct sg_addr key, next, *prev = NULL;
	struct sg_source_cached pending;

	if (!percpu)
		return -ENOMEM;
	read_pending(dp, &pending);
	while (!rc && !bpf_map_get_next_key(fd, prev, &next)) {
		struct sg_source_stats sum = { 0 };

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue; /* evicted meanwhile */
		for (int c = 0; c < n; c++)
			add_stats(&sum, &percpu[c]);
		add_pending(&pending, &key, &sum);
		rc = cb(&key, &sum, ctx);
	}
	/* Sources whose only packets are still in a cache. */
	if (!rc)
		rc = sg_source_cached_rest(&pending, cb, ctx);
	free(pending.wc);
	free(percpu);
	return rc;
}

int sg_dp_source_get(struct sg_dp *dp, const struct sg_addr *a, struct sg_source_stats *out)
{
	int fd = bpf_map__fd(dp->skel->maps.sg_sources), n = ncpus(), rc = 0;
	struct sg_source_stats *percpu = calloc((size_t)n, sizeof(*percpu));
	struct sg_source_cached pending;

	memset(out, 0, sizeof(*out));
	if (!percpu)
		return -ENOMEM;
	read_pending(dp, &pending);
	if (!bpf_map_lookup_elem(fd, a, percpu))
		for (int c = 0; c < n; c++)
			add_stats(out, &percpu[c]);
	else if (errno != ENOENT)
		rc = -errno;
	add_pending(&pending, a, out);
	free(pending.wc);
	free(percpu);
	return rc;
}
