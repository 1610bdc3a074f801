/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Token buckets per uid, in a small fixed table: how much of something
 * (audit records of refusals, bytes of audit log read) a peer that is
 * not an admin may have.  Uids beyond the table share one more bucket,
 * so the total stays bounded however many accounts take part.
 */
#ifndef SGD_UID_RATE_H
#define SGD_UID_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define SGD_UID_RATE_SLOTS 32

struct sgd_uid_bucket {
	bool used;
	unsigned uid;
	int64_t at_ms;          /* when tokens was last brought up to date */
	int64_t milli;          /* tokens x 1000 (may be negative: a debt) */
	uint64_t denied;        /* refusals since the last grant */
};

struct sgd_uid_rate {
	int64_t burst;          /* tokens, at most */
	int64_t per_sec;        /* tokens added per second */
	struct sgd_uid_bucket slot[SGD_UID_RATE_SLOTS], shared;
};

/* Takes cost tokens from uid's bucket if it has them: true, and *denied
 * is how many were refused since the last grant.  Otherwise false, the
 * refusal is counted, and *denied is how many were refused in a row,
 * this one included. */
bool sgd_uid_rate_take(struct sgd_uid_rate *r, unsigned uid, int64_t cost, uint64_t *denied);
/* May uid start something whose cost is known only afterwards (it has
 * tokens left)?  false counts a refusal; *wait_s says when it may. */
bool sgd_uid_rate_ready(struct sgd_uid_rate *r, unsigned uid, int64_t *wait_s);
/* Charges cost afterwards: the bucket may go into debt (at most one
 * burst), paid back by the refill. */
void sgd_uid_rate_charge(struct sgd_uid_rate *r, unsigned uid, int64_t cost);

#endif
