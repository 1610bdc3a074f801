// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "index_heap.h"

static void swap(size_t *a, size_t *b)
{
	size_t t = *a;

	*a = *b;
	*b = t;
}

static bool above(const struct sg_index_heap *h, size_t a, size_t b)
{
	return h->cmp(h->ctx, h->idx[a], h->idx[b]) > 0;
}

static void sift_down(struct sg_index_heap *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && above(h, l, m))
			m = l;
		if (r < n && above(h, r, m))
			m = r;
		if (m == i)
			return;
		swap(&h->idx[i], &h->idx[m]);
		i = m;
	}
}

static void sift_up(struct sg_index_heap *h, size_t i)
{
	while (i && above(h, i, (i - 1) / 2)) {
		swap(&h->idx[i], &h->idx[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

bool sg_index_heap_takes(const struct sg_index_heap *h, size_t i)
{
	return h->n < h->cap || (h->n && h->cmp(h->ctx, i, h->idx[0]) < 0);
}

void sg_index_heap_offer(struct sg_index_heap *h, size_t i)
{
	if (h->n < h->cap) {
		h->idx[h->n] = i;
		sift_up(h, h->n++);
	} else if (sg_index_heap_takes(h, i)) {
		h->idx[0] = i;
		sift_down(h, h->n, 0);
	}
}

void sg_index_heap_sort(struct sg_index_heap *h)
{
	for (size_t k = h->n; k > 1; k--) {
		swap(&h->idx[0], &h->idx[k - 1]);
		sift_down(h, k - 1, 0);
	}
}
