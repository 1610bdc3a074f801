/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A counted set of prefixes (exact match, not longest match): an open
 * addressing hash table, O(1) to add, remove and look up.  The policy
 * keeps one of its policy.json prefixes, so that "is this approval
 * shadowed?" no longer scans the whole policy (which made start, reload
 * and trust list quadratic in the number of entries).
 */
#ifndef SG_PREFIX_SET_H
#define SG_PREFIX_SET_H

#include <stdbool.h>
#include <stddef.h>
#include "addr.h"

struct sg_prefix_set;

/* An empty set sized for about n prefixes (it grows), or NULL. */
struct sg_prefix_set *sg_prefix_set_new(size_t n);
void sg_prefix_set_free(struct sg_prefix_set *s);
/* Counts one more of p: 0 or -ENOMEM (the set is then unchanged). */
int sg_prefix_set_add(struct sg_prefix_set *s, const struct sg_prefix *p);
/* Counts one fewer of p; nothing if it is not in the set. */
void sg_prefix_set_del(struct sg_prefix_set *s, const struct sg_prefix *p);
bool sg_prefix_set_has(const struct sg_prefix_set *s, const struct sg_prefix *p);
/* Distinct prefixes in the set. */
size_t sg_prefix_set_size(const struct sg_prefix_set *s);

#endif
