/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The trusted entries that expire soonest: what /metrics lists as
 * smtpgate_approval_expiry_timestamp_seconds.  A series per expiring
 * entry would make a million series for a million-entry policy (a
 * scrape of about 100 MB, and the daemon holding a record for each);
 * metrics.expiry_series bounds it, and the entries nearest their
 * expiry (or past it) are the ones an operator acts on.
 */
#ifndef SG_EXPIRY_PICK_H
#define SG_EXPIRY_PICK_H

#include <stddef.h>
#include "policy.h"

/* Fills out[] with the indices in p->trusted of the (at most) max
 * entries with an expiry that expire first, ties going to the earlier
 * entry, in no particular order; returns how many.  *n_expiring (may be
 * NULL): how many entries have an expiry in all.  O(n log max) time,
 * no memory but out[]. */
size_t sg_expiry_pick(const struct sg_policy *p, size_t max, size_t *out, size_t *n_expiring);

#endif
