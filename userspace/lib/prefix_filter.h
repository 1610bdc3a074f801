/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A Bloom filter of prefixes: "never added" for certain, or "maybe".
 * About 2 bytes a prefix for a false "maybe" about once in 1,700
 * lookups, where an exact set of a million prefixes takes 27 MB.  The
 * policy's index keeps one of its policy.json prefixes (policy_index.c),
 * so that a new approval is known in O(1) to be no policy entry's.
 */
#ifndef SG_PREFIX_FILTER_H
#define SG_PREFIX_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include "addr.h"

struct sg_prefix_filter;

/* An empty filter sized for n prefixes, or NULL (out of memory). */
struct sg_prefix_filter *sg_prefix_filter_new(size_t n);
void sg_prefix_filter_free(struct sg_prefix_filter *f);
void sg_prefix_filter_add(struct sg_prefix_filter *f, const struct sg_prefix *p);
/* False: p was never added.  True: it may have been. */
bool sg_prefix_filter_may_have(const struct sg_prefix_filter *f, const struct sg_prefix *p);
/* More prefixes were added than it was sized for: "maybe" grows
 * common.  Its owner should build a larger one. */
bool sg_prefix_filter_full(const struct sg_prefix_filter *f);
/* The prefixes it was sized for. */
size_t sg_prefix_filter_room(const struct sg_prefix_filter *f);

#endif
