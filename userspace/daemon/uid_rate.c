// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Token buckets per uid (uid_rate.h). */
#include <time.h>
#include "clock.h"
#include "uid_rate.h"

/* uid's bucket, brought up to date. */
static struct sgd_uid_bucket *bucket(struct sgd_uid_rate *r, unsigned uid)
{
	const int64_t full = r->burst * 1000;
	struct sgd_uid_bucket *b = NULL, *free_slot = NULL;
	int64_t now = sg_mono_ms();

	for (int i = 0; i < SGD_UID_RATE_SLOTS && !b; i++) {
		if (r->slot[i].used && r->slot[i].uid == uid)
			b = &r->slot[i];
		else if (!r->slot[i].used && !free_slot)
			free_slot = &r->slot[i];
	}
	if (!b && free_slot) {
		b = free_slot;
		b->used = true;
		b->uid = uid;
		b->at_ms = 0;
	}
	if (!b)
		b = &r->shared;
	if (!b->at_ms)
		b->milli = full;
	else
		b->milli += (now - b->at_ms) * r->per_sec;
	if (b->milli > full)
		b->milli = full;
	b->at_ms = now;
	return b;
}

bool sgd_uid_rate_take(struct sgd_uid_rate *r, unsigned uid, int64_t cost, uint64_t *denied)
{
	struct sgd_uid_bucket *b = bucket(r, uid);

	if (b->milli < cost * 1000) {
		*denied = ++b->denied;
		return false;
	}
	b->milli -= cost * 1000;
	*denied = b->denied;
	b->denied = 0;
	return true;
}

bool sgd_uid_rate_ready(struct sgd_uid_rate *r, unsigned uid, int64_t *wait_s)
{
	struct sgd_uid_bucket *b = bucket(r, uid);

	if (b->milli > 0) {
		b->denied = 0;
		return true;
	}
	b->denied++;
	*wait_s = (-b->milli) / (r->per_sec * 1000) + 1;
	return false;
}

void sgd_uid_rate_charge(struct sgd_uid_rate *r, unsigned uid, int64_t cost)
{
	struct sgd_uid_bucket *b = bucket(r, uid);

	b->milli -= cost * 1000;
	if (b->milli < -r->burst * 1000)
		b->milli = -r->burst * 1000;
}
