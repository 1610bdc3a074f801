// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The soonest-expiring entries (expiry_pick.h): the index heap
 * (index_heap.h) keeping the max smallest by (expires, index).
 */
#include "expiry_pick.h"
#include "index_heap.h"

static int by_expiry(const void *ctx, size_t a, size_t b)
{
	const struct sg_trusted_entry *t = ctx;

	if (t[a].expires != t[b].expires)
		return t[a].expires < t[b].expires ? -1 : 1;
	return a < b ? -1 : a > b;
}

size_t sg_expiry_pick(const struct sg_policy *p, size_t max, size_t *out, size_t *n_expiring)
{
	struct sg_index_heap h = { .idx = out, .cap = max, .cmp = by_expiry, .ctx = p->trusted };
	size_t expiring = 0;

	for (size_t i = 0; i < p->n_trusted; i++) {
		if (!p->trusted[i].expires)
			continue;
		expiring++;
		sg_index_heap_offer(&h, i);
	}
	if (n_expiring)
		*n_expiring = expiring;
	return h.n;
}
