/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy's index (policy.c keeps it up to date): which approvals a
 * policy.json entry shadows, and which prefixes are certainly in no
 * entry, each in O(1).  Its memory grows with the approvals, not with
 * the policy: an exact set of the approvals' prefixes, the count of
 * policy.json entries for each of those, and a Bloom filter of the
 * policy.json prefixes (about 2 bytes an entry).  An exact set of every
 * policy.json prefix took 27 bytes an entry, 29 MB at a million, twice
 * that during a reload.
 */
#ifndef SG_POLICY_INDEX_H
#define SG_POLICY_INDEX_H

#include <stdbool.h>
#include "policy.h"

struct sg_policy_index;

/* The index of p as it is, or NULL (out of memory). */
struct sg_policy_index *sg_policy_index_build(const struct sg_policy *p);
void sg_policy_index_free(struct sg_policy_index *x);
/* Entry e has joined p (it is among p's entries): 0, or -ENOMEM (the
 * index is then out of date: free it). */
int sg_policy_index_joined(struct sg_policy_index *x, const struct sg_policy *p,
			   const struct sg_trusted_entry *e);
/* Entry e is about to leave p (it is still among p's entries). */
void sg_policy_index_leaving(struct sg_policy_index *x, const struct sg_trusted_entry *e);
/* Does a policy.json entry have this prefix?  Exact for the prefixes of
 * the policy's approvals (sg_policy_index_has_approval); false for any
 * other. */
bool sg_policy_index_shadowed(const struct sg_policy_index *x, const struct sg_prefix *prefix);
/* False: no entry of either origin has this prefix.  True: one may. */
bool sg_policy_index_may_have(const struct sg_policy_index *x, const struct sg_prefix *prefix);
/* Does an approval have this prefix? */
bool sg_policy_index_has_approval(const struct sg_policy_index *x,
				  const struct sg_prefix *prefix);

#endif
