// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * How often an unprivileged peer's refusals are recorded.  Refusals are
 * audited so that an attempt can be investigated, but a read-only user
 * (or anyone able to connect) must not be able to fill the disk by
 * repeating one: each uid has a token bucket (uid_rate.h) of
 * REFUSAL_BURST records, refilled at one per REFUSAL_REFILL_S.  What is
 * not recorded is counted (smtpgate_audit_refusals_suppressed_total) and
 * the next record of the uid says how many were skipped before it.
 */
#include "daemon.h"
#include "log.h"
#include "uid_rate.h"

#define REFUSAL_BURST    20
#define REFUSAL_REFILL_S 10

/* Tokens are tenths of a record so that the refill (per second) is whole. */
static struct sgd_uid_rate refusals = {
	.burst = REFUSAL_BURST * REFUSAL_REFILL_S,
	.per_sec = 1,
};

bool sgd_refusal_admit(struct sgd *d, unsigned uid, uint64_t *suppressed)
{
	if (sgd_uid_rate_take(&refusals, uid, REFUSAL_REFILL_S, suppressed))
		return true;
	/* The first of a series is logged; the rest only counted. */
	if (*suppressed == 1)
		sgd_warn("control: uid %u is refused more than %d times in a row, faster than "
			 "once per %d s: its refusals are counted "
			 "(smtpgate_audit_refusals_suppressed_total) but not recorded or logged "
			 "until it slows down", uid, REFUSAL_BURST, REFUSAL_REFILL_S);
	pthread_mutex_lock(&d->lock);
	d->audit_refusals_suppressed++;
	pthread_mutex_unlock(&d->lock);
	return false;
}
