/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The k smallest of a stream of indexes (into a policy's entries, say)
 * under an order the caller gives: a bounded max-heap whose top is the
 * largest kept, the one a smaller newcomer replaces.  O(n log k) for n
 * offers, no memory but the k slots.  Used for `trust list`'s chunks
 * and for the entries /metrics lists with their expiry.
 */
#ifndef SG_INDEX_HEAP_H
#define SG_INDEX_HEAP_H

#include <stdbool.h>
#include <stddef.h>

struct sg_index_heap {
	size_t *idx;            /* cap slots, the caller's */
	size_t n, cap;
	/* <0, 0, >0 as index a comes before, with or after index b. */
	int (*cmp)(const void *ctx, size_t a, size_t b);
	const void *ctx;
};

/* Would i be kept now: room left, or i before the largest kept? */
bool sg_index_heap_takes(const struct sg_index_heap *h, size_t i);
/* Keeps i if sg_index_heap_takes(h, i), dropping the largest kept. */
void sg_index_heap_offer(struct sg_index_heap *h, size_t i);
/* Sorts the kept indexes in place, smallest first; the heap is spent. */
void sg_index_heap_sort(struct sg_index_heap *h);

#endif
