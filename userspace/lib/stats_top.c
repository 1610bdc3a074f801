// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Choosing the top sources of a snapshot (see stats_top.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stats_top.h"

uint64_t sg_stats_source_total(const struct sg_stats_source *s)
{
	uint64_t t = 0;

	for (int v = 0; v < SG_V_COUNT; v++)
		t += s->packets[v];
	return t;
}

static uint64_t blocked_packets(const struct sg_stats_source *s)
{
	return sg_stats_source_total(s) - s->packets[SG_V_PASS];
}

typedef struct sg_stats_top_heap top_heap;

/* a ranks above b: a higher score, or as high and a lower address. */
static bool ranks_above(const top_heap *h, const struct sg_stats_source *a,
			const struct sg_stats_source *b)
{
	uint64_t sa = h->score(a), sb = h->score(b);

	if (sa != sb)
		return sa > sb;
	return memcmp(&a->addr, &b->addr, sizeof(a->addr)) < 0;
}

static void swap(struct sg_stats_source *a, struct sg_stats_source *b)
{
	struct sg_stats_source tmp = *a;

	*a = *b;
	*b = tmp;
}

static void heap_sift_down(top_heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, worst = i;

		if (l < h->n && ranks_above(h, &h->e[worst], &h->e[l]))
			worst = l;
		if (r < h->n && ranks_above(h, &h->e[worst], &h->e[r]))
			worst = r;
		if (worst == i)
			return;
		swap(&h->e[i], &h->e[worst]);
		i = worst;
	}
}

static void heap_sift_up(top_heap *h, size_t i)
{
	while (i) {
		size_t parent = (i - 1) / 2;

		if (!ranks_above(h, &h->e[parent], &h->e[i]))
			return;
		swap(&h->e[i], &h->e[parent]);
		i = parent;
	}
}

static void heap_offer(top_heap *h, const struct sg_stats_source *s)
{
	if (!h->cap || !h->score(s))
		return; /* a source with nothing to rank by never makes a list */
	if (h->n < h->cap) {
		h->e[h->n] = *s;
		heap_sift_up(h, h->n++);
	} else if (ranks_above(h, s, &h->e[0])) {
		h->e[0] = *s;
		heap_sift_down(h, 0);
	}
}

static int by_addr(const void *a, const void *b)
{
	return memcmp(&((const struct sg_stats_source *)a)->addr,
		      &((const struct sg_stats_source *)b)->addr, sizeof(struct sg_addr));
}

static int by_total_desc(const void *pa, const void *pb)
{
	const struct sg_stats_source *a = pa, *b = pb;
	uint64_t ta = sg_stats_source_total(a), tb = sg_stats_source_total(b);

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return by_addr(a, b);
}

int sg_stats_top_init(struct sg_stats_top *t, unsigned top_n, bool blocked)
{
	memset(t, 0, sizeof(*t));
	t->by_total.score = sg_stats_source_total;
	t->by_blocked.score = blocked_packets;
	if (!top_n)
		return 0;
	t->by_total.e = calloc(top_n, sizeof(struct sg_stats_source));
	t->by_blocked.e = blocked ? calloc(top_n, sizeof(struct sg_stats_source)) : NULL;
	if (!t->by_total.e || (blocked && !t->by_blocked.e)) {
		sg_stats_top_free(t);
		return -ENOMEM;
	}
	t->by_total.cap = top_n;
	t->by_blocked.cap = blocked ? top_n : 0;
	return 0;
}

void sg_stats_top_offer(struct sg_stats_top *t, const struct sg_stats_source *s)
{
	t->seen++;
	heap_offer(&t->by_total, s);
	heap_offer(&t->by_blocked, s);
}

void sg_stats_top_free(struct sg_stats_top *t)
{
	free(t->by_total.e);
	free(t->by_blocked.e);
	t->by_total.e = t->by_blocked.e = NULL;
	t->by_total.n = t->by_blocked.n = 0;
}

size_t sg_stats_top_finish(struct sg_stats_top *t, struct sg_stats_source *out)
{
	size_t n = 0, kept = 0;

	for (size_t i = 0; i < t->by_total.n; i++)
		out[n++] = t->by_total.e[i];
	for (size_t i = 0; i < t->by_blocked.n; i++)
		out[n++] = t->by_blocked.e[i];
	sg_stats_top_free(t);
	qsort(out, n, sizeof(*out), by_addr);
	for (size_t i = 0; i < n; i++)
		if (!kept || by_addr(&out[kept - 1], &out[i]))
			out[kept++] = out[i];
	qsort(out, kept, sizeof(*out), by_total_desc);
	return kept;
}

size_t sg_stats_select_sources(const struct sg_stats_source *src, size_t n, unsigned top_n,
			       struct sg_stats_source *out)
{
	struct sg_stats_top t;

	if (sg_stats_top_init(&t, top_n, true))
		return 0;
	for (size_t i = 0; i < n; i++)
		sg_stats_top_offer(&t, &src[i]);
	return sg_stats_top_finish(&t, out);
}
