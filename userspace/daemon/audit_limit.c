// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * How often an unprivileged peer's refusals are recorded.  Refusals are
 * audited so that an attempt can be investigated, but a read-only user
 * (or anyone able to connect) must not be able to fill the disk by
 * repeating one: each uid has a token bucket of REFUSAL_BURST records,
 * refilled at one per REFUSAL_REFILL_MS.  The table is small and fixed;
 * uids beyond it share one more bucket, so the total stays bounded
 * however many accounts take part.  What is not recorded is counted
 * (smtpgate_audit_refusals_suppressed_total) and the next record of the
 * uid says how many were skipped before it.
 */
#include <stdint.h>
#include <time.h>
#include "daemon.h"
#include "log.h"

#define REFUSAL_SLOTS     32
#define REFUSAL_BURST     20
#define REFUSAL_REFILL_MS 10000

struct bucket {
	bool used;
	unsigned uid;
	int64_t at_ms;          /* when tokens was last brought up to date */
	int64_t tokens_ms;      /* tokens, in ms of refill: REFUSAL_REFILL_MS each */
	uint64_t suppressed;    /* since the last record admitted */
};

static struct bucket slots[REFUSAL_SLOTS], shared;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct bucket *bucket_of(unsigned uid)
{
	struct bucket *free_slot = NULL;

	for (int i = 0; i < REFUSAL_SLOTS; i++) {
		if (slots[i].used && slots[i].uid == uid)
			return &slots[i];
		if (!slots[i].used && !free_slot)
			free_slot = &slots[i];
	}
	if (!free_slot)
		return &shared;
	free_slot->used = true;
	free_slot->uid = uid;
	free_slot->at_ms = 0;
	return free_slot;
}

bool sgd_refusal_admit(struct sgd *d, unsigned uid, uint64_t *suppressed)
{
	const int64_t full = (int64_t)REFUSAL_BURST * REFUSAL_REFILL_MS;
	struct bucket *b = bucket_of(uid);
	int64_t now = now_ms();

	if (!b->at_ms) {
		b->tokens_ms = full;
	} else {
		b->tokens_ms += now - b->at_ms;
		if (b->tokens_ms > full)
			b->tokens_ms = full;
	}
	b->at_ms = now;
	if (b->tokens_ms >= REFUSAL_REFILL_MS) {
		b->tokens_ms -= REFUSAL_REFILL_MS;
		*suppressed = b->suppressed;
		b->suppressed = 0;
		return true;
	}
	if (!b->suppressed++)
		sgd_warn("control: uid %u is refused more than %d times in a row, faster than "
			 "once per %d s: its refusals are counted "
			 "(smtpgate_audit_refusals_suppressed_total) but not recorded or logged "
			 "until it slows down", uid, REFUSAL_BURST, REFUSAL_REFILL_MS / 1000);
	pthread_mutex_lock(&d->lock);
	d->audit_refusals_suppressed++;
	pthread_mutex_unlock(&d->lock);
	return false;
}
