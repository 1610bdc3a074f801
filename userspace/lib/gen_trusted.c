// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A new generation's trusted tables (generation.c builds the rest and
 * switches).  Each entry keeps its slot, and so its rate state, for as
 * long as its prefix stays; a new entry gets a free slot, reset before
 * it becomes visible.
 *
 * Placing the entries that stay is most of a large reload's apply: an
 * index probe, a compile and a kernel hash insert per entry.  Above
 * SG_SECOND_THREAD_MIN entries a second thread places the second half,
 * into queues of its own; both only read the index, and they claim
 * slots with atomic operations, so that a prefix listed twice across
 * the halves is still refused.
 */
#include <errno.h>
#include <pthread.h>
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
		if ((rc = queue_reset(dp, b, (uint32_t)slot)))
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

/* Step (1) over entries [from, to): those whose prefix the index has
 * keep their slot.  Only reads the index; slots are claimed atomically
 * and each range's bits of b->placed are words of its own. */
struct kept_range {
	struct sg_dp *dp;
	struct build *b;
	const struct sg_policy *p;
	uint32_t gen;
	size_t from, to;
	struct gen_queue *q;
	size_t n_new;           /* entries the index does not have */
	struct sg_err err;
	int rc;
};

static int place_kept(struct kept_range *r)
{
	for (size_t i = r->from; i < r->to; i++) {
		const struct sg_trusted_entry *e = &r->p->trusted[i];
		long slot;
		int rc;

		if (sg_policy_is_shadowed(r->p, e))
			continue;
		slot = index_find(r->dp->slot_index, &e->prefix);
		if (slot < 0) {
			r->n_new++;
			continue;
		}
		if (!slot_claim(r->b->used, (uint32_t)slot))
			return listed_twice(e, &r->err);
		if ((rc = place_trusted(r->dp, r->q, e, (uint32_t)slot, r->gen, &r->err)))
			return rc;
		sg_slot_set(r->b->placed, (uint32_t)i);
	}
	return 0;
}

/* The second half's thread: it sends its own queues, so that its share
 * of the kernel's inserts is made on its CPU too. */
static void *place_kept_thread(void *arg)
{
	struct kept_range *r = arg;

	r->rc = place_kept(r);
	if (!r->rc)
		r->rc = queue_flush(r->q, &r->err);
	return NULL;
}

/* Step (1) over every entry, in two threads for a large policy (an index
 * probe, a compile and a kernel hash insert each: most of a reload's
 * apply).  The first range's error wins, as one thread would find it
 * first. */
static int place_all_kept(struct sg_dp *dp, struct build *b, const struct sg_policy *p,
			  uint32_t gen, size_t *n_new, struct sg_err *err)
{
	struct gen_queue q2 = { 0 };
	struct kept_range r[2] = {
		{ .dp = dp, .b = b, .p = p, .gen = gen, .to = p->n_trusted, .q = &b->q },
		{ .dp = dp, .b = b, .p = p, .gen = gen, .to = p->n_trusted, .q = &q2 },
	};
	pthread_t second;
	bool two = dp->slot_index && sg_second_thread_worth(p->n_trusted) && !queue_init(&q2, b);
	int rc;

	/* Split on a multiple of 64: the halves' bits of b->placed lie in
	 * words of their own. */
	r[0].to = r[1].from = two ? (p->n_trusted / 2) & ~(size_t)63 : p->n_trusted;
	if (two && pthread_create(&second, NULL, place_kept_thread, &r[1]))
		r[0].to = r[1].from = p->n_trusted, two = false;
	r[0].rc = place_kept(&r[0]);
	if (two) {
		pthread_join(second, NULL);
		__atomic_fetch_add(&two_thread_applies, 1, __ATOMIC_RELAXED);
	}
	*n_new = r[0].n_new + r[1].n_new;
	b->q.n_trusted += q2.n_trusted;
	b->q.n_hosts += q2.n_hosts;
	sg_gen_queue_free(&q2);
	rc = r[0].rc ? r[0].rc : r[1].rc;
	if (rc && err)
		*err = r[0].rc ? r[0].err : r[1].err;
	return rc;
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

	if (queue_init(&b->q, b) ||
	    sg_map_batch_init(&b->resets, bpf_map__fd(dp->skel->maps.sg_buckets), sizeof(__u32),
			      sizeof(struct sg_bucket), BPF_ANY, BATCH) ||
	    !(b->placed = calloc(p->n_trusted / 64 + 1, sizeof(uint64_t))))
		return sg_errf(err, -ENOMEM, "out of memory");
	/* (1) The entries that stay first, so that their slots are known
	 * to be taken before any new entry looks for one.  Approvals that
	 * policy.json shadows (same prefix) are not the data plane's: the
	 * policy.json entry is. */
	if ((rc = place_all_kept(dp, b, p, gen, &n_new, err)))
		return rc;
	/* (2) */
	if (dp->slot_index) {
		sg_prefix_map_retain(dp->slot_index, slot_kept, b);
		if (sg_prefix_map_reserve(dp->slot_index, n_new))
			return sg_errf(err, -ENOMEM, "out of memory");
	}
	/* (3) The others.  One of them found in the index now was added by
	 * this loop already (the entries that stay were all found by (1)):
	 * the same prefix twice. */
	for (size_t i = 0; i < p->n_trusted; i++) {
		const struct sg_trusted_entry *e = &p->trusted[i];
		long slot;

		if (sg_slot_test(b->placed, (uint32_t)i) || sg_policy_is_shadowed(p, e))
			continue;
		if (index_find(dp->slot_index, &e->prefix) >= 0)
			return listed_twice(e, err);
		slot = new_slot(dp, b, err);
		if (slot < 0)
			return (int)slot;
		if ((rc = index_add(&dp->slot_index, &e->prefix, (uint32_t)slot, n_new)))
			return sg_errf(err, rc, "out of memory");
		sg_slot_set(b->used, (uint32_t)slot);
		if ((rc = place_trusted(dp, &b->q, e, (uint32_t)slot, gen, err)))
			return rc;
	}
	if ((rc = queue_flush(&b->q, err)))
		return rc;
	if ((rc = sg_map_batch_flush(&b->resets)))
		return sg_errf(err, rc, "reset bucket: %s", strerror(-rc));
	return 0;
}
