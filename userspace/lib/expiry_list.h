/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The list /metrics shows as smtpgate_approval_expiry_timestamp_seconds:
 * copies of the (at most max) entries that expire soonest
 * (sg_expiry_pick), each a prefix, an expiry and its ticket's offset in
 * one exact-sized text, and how many entries expire in all.
 *
 * Built by a pass over the policy, which at a million entries takes
 * 2-3 ms: too much for every `trust add --expires`.  A single change is
 * applied to the list instead, where that gives exactly what a new pass
 * would: an entry appended to the policy, or one removed from it.  Where
 * it cannot tell (ties it cannot order, a listed entry removed while
 * others wait beyond the list), it says so and the caller builds anew.
 */
#ifndef SG_EXPIRY_LIST_H
#define SG_EXPIRY_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "policy.h"

struct sg_expiry_item {
	struct sg_prefix prefix;
	uint32_t ticket;        /* offset in the list's text */
	int64_t expires;        /* unix seconds */
};

struct sg_expiry_list {
	struct sg_expiry_item *items; /* in no particular order */
	size_t n;
	char *text;             /* the tickets, each NUL-terminated ("" for none) */
	size_t text_len;
	size_t n_expiring;      /* entries with an expiry, listed or not */
	/* Built (or changed) from the policy as it is.  A list that is not
	 * (zeroed, or its build ran out of memory) takes no change: each
	 * says SG_EXPIRY_REBUILD, so the metrics mend at the next one. */
	bool valid;
};

/* What a change did to the list, besides 0 (a new list in *out) and
 * -ENOMEM (nothing done):
 *   SG_EXPIRY_KEEP     the items stay as they are, only n_expiring moves
 *                      (+1 after an append, -1 after a removal); *out is
 *                      not set
 *   SG_EXPIRY_REBUILD  it cannot be applied exactly: build anew */
#define SG_EXPIRY_KEEP 1
#define SG_EXPIRY_REBUILD 2

/* *out = the list of p (a pass over it).  0, or -ENOMEM (*out empty). */
int sg_expiry_list_build(struct sg_expiry_list *out, const struct sg_policy *p, size_t max);
/* cur after entry t, which expires, was appended to the policy (it is
 * the last entry), for a list of at most max. */
int sg_expiry_list_appended(struct sg_expiry_list *out, const struct sg_expiry_list *cur,
			    const struct sg_trusted_entry *t, size_t max);
/* cur after an entry of this prefix and (nonzero) expiry left the
 * policy. */
int sg_expiry_list_removed(struct sg_expiry_list *out, const struct sg_expiry_list *cur,
			   const struct sg_prefix *prefix, int64_t expires);
void sg_expiry_list_free(struct sg_expiry_list *l);

#endif
