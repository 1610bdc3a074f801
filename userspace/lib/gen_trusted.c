// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A new generation's trusted tables (generation.c builds the rest and
 * switches).  Each entry keeps its slot, and so its rate state, for as
 * long as its prefix stays; a new entry gets a free slot, reset before
 * it becomes visible.
 *
 * Placing the entries is most of a large apply: an index probe, a
 * compile and a kernel hash insert per entry.  Above SG_SECOND_THREAD_MIN
 * entries a second thread places the second half, into queues of its
 * own, both for the entries that stay and for the new ones (once this
 * thread has given them slots); both only read the index, and they
 * claim slots with atomic operations, so that a prefix listed twice
 * across the halves is still refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "compile.h"
#include "gen_internal.h"
#include "threads.h"

#define BATCH 8192 /* elements per BPF_MAP_UPDATE_BATCH */

static unsigned long two_thread_applies;

unsigned long sg_dp_two_thread_applies(void)
{
	return __atomic_load_n(&two_thread_applies, __ATOMIC_RELAXED);
}

/* The message for a refused batch: the key the kernel stopped at. */
static int batch_error(const struct sg_map_batch *q, bool host, int rc, struct sg_err *err)
{
	char text[SG_PREFIX_STRLEN];
	struct sg_prefix p;

	if (host) {
		memcpy(&p.addr, q->bad_key, sizeof(p.addr));
		p.len = 128;
	} else {
		struct sg_lpm_key k;

		memcpy(&k, q->bad_key, sizeof(k));
		p.addr = k.addr;
		p.len = k.prefixlen;
	}
	sg_prefix_format(&p, text, sizeof(text));
	return sg_errf(err, rc, "trusted %s: %s", text,
		       rc == -E2BIG || rc == -ENOSPC ? "trusted table full" : strerror(-rc));
}

/* The message for a prefix met twice in one build. */
static int listed_twice(const struct sg_trusted_entry *e, struct sg_err *err)
{
	char text[SG_PREFIX_STRLEN];

	sg_prefix_format(&e->prefix, text, sizeof(text));
	return sg_errf(err, -EEXIST, "trusted prefix %s is listed twice", text);
}

/* Puts entry e into the generation being built, at slot (marked taken
 * by the caller): queued in q, sent by the batch (the generation is not
 * visible before the switch). */
static int place_trusted(struct sg_dp *dp, struct gen_queue *q, const struct sg_trusted_entry *e,
			 uint32_t slot, uint32_t gen, struct sg_err *err)
{
	bool host = sg_prefix_is_host(&e->prefix);
	struct sg_lpm_key k = lpm_key(&e->prefix);
	struct sg_trusted v;
	int rc;

	sg_bloom_set(dp, gen, &e->prefix);
	sg_compile_trusted(e, &v);
	v.slot = slot;
	rc = host ? sg_map_batch_add(&q->hosts, &e->prefix.addr, &v)
		  : sg_map_batch_add(&q->nets, &k, &v);
	if (rc)
		return batch_error(host ? &q->hosts : &q->nets, host, rc, err);
	q->n_trusted++;
	q->n_hosts += host;
	return 0;
}

/* Marks slot s taken; false if it was already (the same prefix twice).
 * Atomic: the two halves of step (1) mark slots at the same time. */
static bool slot_claim(uint64_t *bm, uint32_t s)
{
	uint64_t bit = 1ull << (s % 64);

	return !(__atomic_fetch_or(&bm[s / 64], bit, __ATOMIC_RELAXED) & bit);
}

static int queue_init(struct gen_queue *q, const struct build *b)
{
	/* BPF_ANY: batches take no other flag, and a prefix listed twice
	 * is refused before it is queued. */
	if (sg_map_batch_init(&q->hosts, b->fd[T_HOSTS], sizeof(struct sg_addr),
			      sizeof(struct sg_trusted), BPF_ANY, BATCH) ||
	    sg_map_batch_init(&q->nets, b->fd[T_NETS], sizeof(struct sg_lpm_key),
			      sizeof(struct sg_trusted), BPF_ANY, BATCH))
		return -ENOMEM;
	return 0;
}

static int queue_flush(struct gen_queue *q, struct sg_err *err)
{
	int rc;

	if ((rc = sg_map_batch_flush(&q->hosts)))
		return batch_error(&q->hosts, true, rc, err);
	if ((rc = sg_map_batch_flush(&q->nets)))
		return batch_error(&q->nets, false, rc, err);
	return 0;
}

void sg_gen_queue_free(struct gen_queue *q)
{
	sg_map_batch_free(&q->hosts);
	sg_map_batch_free(&q->nets);
}

/* The slots sg_auto_bans has a record for: few (one per banned entry),
 * read once per build instead of one delete per new entry. */
static int read_banned(struct sg_dp *dp, struct build *b)
{
	int fd = bpf_map__fd(dp->skel->maps.sg_auto_bans);
	__u32 key, next, *prev = NULL;

	b->banned = calloc(SG_SLOT_WORDS, sizeof(uint64_t));
	if (!b->banned)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key < SG_MAX_TRUSTED)
			sg_slot_set(b->banned, key);
	}
	return 0;
}

/* sg_gen_reset_bucket for a slot no live entry uses, queued: the bucket is
 * zeroed by the batch before the switch, the ban record (rare) now. */
static int queue_reset(struct sg_dp *dp, struct build *b, uint32_t slot)
{
	struct sg_bucket zero = {};

	if (!b->banned && read_banned(dp, b))
		return -ENOMEM;
	if (sg_slot_test(b->banned, slot)) {
		if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.sg_auto_bans), &slot) &&
		    errno != ENOENT)
			return -errno;
		sg_slot_clear(b->banned, slot);
	}
	return sg_map_batch_add(&b->resets, &slot, &zero);
}

/* A slot for a new entry: preferably one neither generation uses (reset
 * before the switch, before the entry is visible); else one only the
 * running generation uses, whose entry this build removes (every entry
 * that stays has its slot marked in b->used already), reset after the
 * switch.  Fails only when the new generation itself has more entries
 * than there are slots. */
static long new_slot(struct sg_dp *dp, struct build *b, struct sg_err *err)
{
	long slot = sg_gen_alloc_slot(dp, dp->slot_used, b->used);
	int rc;

	if (slot >= 0) {
		if (!b->pristine && (rc = queue_reset(dp, b, (uint32_t)slot)))
			return sg_errf(err, rc, "reset bucket: %s", strerror(-rc));
		return slot;
	}
	slot = sg_gen_alloc_slot(dp, b->used, NULL);
	if (slot < 0)
		return sg_errf(err, -ENOSPC, "more than %d trusted entries, the most the data "
			       "plane holds", SG_MAX_TRUSTED);
	if (b->n_reused == b->cap_reused) {
		size_t cap = b->cap_reused ? 2 * b->cap_reused : 256;
		uint32_t *r = realloc(b->reused, cap * sizeof(*r));

		if (!r)
			return sg_errf(err, -ENOMEM, "out of memory");
		b->reused = r;
		b->cap_reused = cap;
	}
	b->reused[b->n_reused++] = (uint32_t)slot;
	return slot;
}

static bool slot_kept(uint32_t slot, void *ctx)
{
	const struct build *b = ctx;

	return slot < SG_MAX_TRUSTED && sg_slot_test(b->used, slot);
}

/* A new entry and the slot step (3) gave it, to be placed. */
struct fresh {
	uint32_t entry, slot;
};

/* One thread's share of a placing step: entries [from, to) of the
 * policy in step (1), items [from, to) of the fresh list in step (3).
 * Each thread has its own queues; both only read the index, claim slots
 * atomically, and own whole words of b->placed. */
struct place_job {
	struct sg_dp *dp;
	struct build *b;
	const struct sg_policy *p;
	uint32_t gen;
	const struct fresh *fresh;      /* step (3)'s list; NULL in step (1) */
	size_t from, to;
	struct gen_queue *q;
	size_t n_new;           /* step (1): entries the index does not have */
	struct sg_err err;
	int rc;
};

/* How far ahead the index's slot for an entry is fetched into the
 * cache: a million-entry index is mostly cache misses otherwise. */
#define PREFETCH_AHEAD 8

/* Step (1): entries whose prefix the index has keep their slot. */
static int place_kept(struct place_job *j)
{
	const struct sg_trusted_entry *t = j->p->trusted;

	for (size_t i = j->from; i < j->to; i++) {
		const struct sg_trusted_entry *e = &t[i];
		long slot;
		int rc;

		if (i + PREFETCH_AHEAD < j->to)
			sg_prefix_map_prefetch(j->dp->slot_index, &t[i + PREFETCH_AHEAD].prefix);
		if (sg_policy_is_shadowed(j->p, e))
			continue;
		slot = index_find(j->dp->slot_index, &e->prefix);
		if (slot < 0) {
			j->n_new++;
			continue;
		}
		if (!slot_claim(j->b->used, (uint32_t)slot))
			return listed_twice(e, &j->err);
		if ((rc = place_trusted(j->dp, j->q, e, (uint32_t)slot, j->gen, &j->err)))
			return rc;
		sg_slot_set(j->b->placed, (uint32_t)i);
	}
	return 0;
}

/* Step (3)'s second half: the new entries, at the slots given them. */
static int place_fresh(struct place_job *j)
{
	for (size_t k = j->from; k < j->to; k++) {
		const struct fresh *f = &j->fresh[k];
		int rc = place_trusted(j->dp, j->q, &j->p->trusted[f->entry], f->slot, j->gen,
				       &j->err);

		if (rc)
			return rc;
	}
	return 0;
}

static void place_job_run(void *arg)
{
	struct place_job *j = arg;

	j->rc = j->fresh ? place_fresh(j) : place_kept(j);
}

/* The second half sends its own queues, so that its share of the
 * kernel's inserts is made on its CPU too. */
static void place_job_sending(void *arg)
{
	struct place_job *j = arg;

	place_job_run(j);
	if (!j->rc)
		j->rc = queue_flush(j->q, &j->err);
}

/* A placing step over n items, in two threads when there are enough
 * (an index probe, a compile and a kernel hash insert each: most of an
 * apply).  The first half's error wins, as one thread would have found
 * it first.  *n_new: step (1)'s count of entries the index lacks. */
static int place_step(struct sg_dp *dp, struct build *b, const struct sg_policy *p,
		      uint32_t gen, const struct fresh *fresh, size_t n, size_t *n_new,
		      struct sg_err *err)
{
	struct gen_queue q2 = { 0 };
	struct place_job j[2] = {
		{ .dp = dp, .b = b, .p = p, .gen = gen, .fresh = fresh, .to = n, .q = &b->q },
		{ .dp = dp, .b = b, .p = p, .gen = gen, .fresh = fresh, .to = n, .q = &q2 },
	};
	/* Step (1) without an index finds nothing to keep: one pass counts. */
	bool two = (fresh || dp->slot_index) && sg_second_thread_worth(n) && !queue_init(&q2, b);
	int rc;

	/* Split on a multiple of 64: the halves' bits of b->placed lie in
	 * words of their own. */
	j[0].to = j[1].from = two ? (n / 2) & ~(size_t)63 : n;
	if (!two)
		place_job_run(&j[0]);
	else if (sg_run_beside(place_job_run, &j[0], place_job_sending, &j[1]))
		__atomic_fetch_add(&two_thread_applies, 1, __ATOMIC_RELAXED);
	if (n_new)
		*n_new = j[0].n_new + j[1].n_new;
	b->q.n_trusted += q2.n_trusted;
	b->q.n_hosts += q2.n_hosts;
	sg_gen_queue_free(&q2);
	rc = j[0].rc ? j[0].rc : j[1].rc;
	if (rc && err)
		*err = j[0].rc ? j[0].err : j[1].err;
	return rc;
}

/* Step (3)'s first half, in this thread: each new entry gets a slot
 * and its place in the index (one probe: an entry already there was
 * added by this loop, the same prefix twice), listed in *out to be
 * placed.  Its count in *n_out. */
static int give_slots(struct sg_dp *dp, struct build *b, const struct sg_policy *p,
		      size_t n_new, struct fresh **out, size_t *n_out, struct sg_err *err)
{
	struct fresh *fresh = malloc((n_new ? n_new : 1) * sizeof(*fresh));
	size_t n = 0;
	int rc;

	*out = fresh;
	if (!fresh)
		return sg_errf(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < p->n_trusted && n < n_new; i++) {
		const struct sg_trusted_entry *e = &p->trusted[i];
		long slot;

		/* Each add is a cache miss in a large index: start the next
		 * ones' early (as place_trusted does). */
		if (i + PREFETCH_AHEAD < p->n_trusted)
			sg_prefix_map_prefetch(dp->slot_index, &p->trusted[i + PREFETCH_AHEAD].prefix);
		if (sg_slot_test(b->placed, (uint32_t)i) || sg_policy_is_shadowed(p, e))
			continue;
		slot = new_slot(dp, b, err);
		if (slot < 0)
			return (int)slot;
		rc = sg_prefix_map_add(dp->slot_index, &e->prefix, (uint32_t)slot);
		if (rc == -EEXIST)
			return listed_twice(e, err);
		if (rc)
			return sg_errf(err, rc, "out of memory");
		sg_slot_set(b->used, (uint32_t)slot);
		fresh[n++] = (struct fresh){ .entry = (uint32_t)i, .slot = (uint32_t)slot };
	}
	*n_out = n;
	return 0;
}

/* The running generation's index becomes the new one's, in place: a
 * second index beside it would cost some 27 bytes an entry at the peak
 * of a reload.  So the build (1) places the entries that stay, at their
 * slots, (2) drops the entries it removes from the index, (3) gives the
 * new entries slots and adds them.  Until the switch the index then
 * describes neither generation: a build that fails marks it stale, and
 * it is read again from the running generation's tables at its next use
 * (sg_gen_ensure_index). */
int sg_gen_build_trusted(struct sg_dp *dp, struct build *b, const struct sg_policy *p,
			 uint32_t gen, struct sg_err *err)
{
	size_t n_new = 0;
	int rc;

	/* Buckets the kernel has just created are zero, and no ban can
	 * name their slots: nothing to reset before a first generation. */
	b->pristine = !sg_dp_reused(dp) && !sg_dp_generation(dp);
	if (queue_init(&b->q, b) ||
	    sg_map_batch_init(&b->resets, bpf_map__fd(dp->skel->maps.sg_buckets), sizeof(__u32),
			      sizeof(struct sg_bucket), BPF_ANY, BATCH) ||
	    !(b->placed = calloc(p->n_trusted / 64 + 1, sizeof(uint64_t))))
		return sg_errf(err, -ENOMEM, "out of memory");
	/* (1) The entries that stay first, so that their slots are known
	 * to be taken before any new entry looks for one.  Approvals that
	 * policy.json shadows (same prefix) are not the data plane's: the
	 * policy.json entry is. */
	if ((rc = place_step(dp, b, p, gen, NULL, p->n_trusted, &n_new, err)))
		return rc;
	/* (2) The removed entries out of the index, room in it for the
	 * new ones (an index made now when there was none). */
	if (dp->slot_index) {
		sg_prefix_map_retain(dp->slot_index, slot_kept, b);
		if (sg_prefix_map_reserve(dp->slot_index, n_new))
			return sg_errf(err, -ENOMEM, "out of memory");
	} else if (n_new && !(dp->slot_index = sg_prefix_map_new(n_new))) {
		return sg_errf(err, -ENOMEM, "out of memory");
	}
	/* (3) The others: slots and the index here, then placed like (1). */
	if (n_new) {
		struct fresh *fresh;
		size_t n_fresh = 0;

		rc = give_slots(dp, b, p, n_new, &fresh, &n_fresh, err);
		if (!rc)
			rc = place_step(dp, b, p, gen, fresh, n_fresh, NULL, err);
		free(fresh);
		if (rc)
			return rc;
	}
	if ((rc = queue_flush(&b->q, err)))
		return rc;
	if ((rc = sg_map_batch_flush(&b->resets)))
		return sg_errf(err, rc, "reset bucket: %s", strerror(-rc));
	return 0;
}
