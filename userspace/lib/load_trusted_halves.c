// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * policy.json's trusted[] (or approvals.json's approvals[]) read by two
 * threads, each over half of its elements (pass 1 marked where the
 * second half begins, json_stream.h).  jansson's parse of a million
 * elements is most of a large policy's load, and the second CPU has
 * nothing else to do meanwhile.
 *
 * It is only a faster way to the same policy.  Each half fills its own
 * stretch of the entries reserved in the policy, with its strings in a
 * pool of its own and its messages in a list of its own.  If either half
 * meets anything to report (an error, a warning, an element without a
 * valid address) or the stream does (a fallback, a read error, a file
 * changed), both halves' work is thrown away and the caller reads
 * trusted[] again in one pass, which words and orders every message as
 * it always has.  So a clean policy is read by two threads, and a policy
 * with a message costs about one and a half reads.
 */
#include <stdatomic.h>
#include <string.h>
#include "json_stream.h"
#include "load_internal.h"
#include "strpool.h"
#include "threads.h"

static atomic_ulong two_thread_reads;

unsigned long sg_load_two_thread_reads(void)
{
	return atomic_load(&two_thread_reads);
}

struct half {
	const struct sg_halves_job *job;
	struct sg_jctx c;
	struct sg_diag d;
	struct sg_jsrc src;
	struct sg_jpart part;
	struct sg_strpool *pool;
	atomic_bool *give_up;   /* shared: either half met something */
	int rc;
};

static void half_one(json_t *v, size_t i, void *ctx)
{
	struct half *h = ctx;
	struct sg_trusted_entry t;
	struct sg_trusted_extra x;
	bool addr_ok;

	if (atomic_load_explicit(h->give_up, memory_order_relaxed))
		return;
	sg_j_trusted(&h->c, v, h->job->resolve, h->job->approval, h->job->now, &t, &x, &addr_ok);
	/* The counts too: a line lost to ENOMEM still counts. */
	if (!addr_ok || h->d.n || h->d.n_errors || h->d.n_warnings ||
	    sg_policy_fill_trusted(h->job->p, i, &t, h->pool))
		atomic_store_explicit(h->give_up, true, memory_order_relaxed);
}

static void half_run(void *arg)
{
	struct half *h = arg;

	h->rc = sg_jsplit_each_part(&h->src, &h->part, half_one, h);
	if (h->rc)
		atomic_store(h->give_up, true);
}

static void half_free(struct half *h)
{
	sg_jsrc_free(&h->src);
	sg_diag_free(&h->d);
	sg_strpool_free(h->pool);
}

bool sg_trusted_halves(const struct sg_halves_job *job)
{
	struct sg_jpart parts[2];
	struct half h[2];
	atomic_bool give_up = false;
	bool ok = true, threaded = false;

	if (!job->src || !sg_second_thread_worth(job->split->count) ||
	    !sg_jsplit_halves(job->split, SG_SECOND_THREAD_MIN, parts))
		return false;
	memset(h, 0, sizeof(h));
	for (int k = 0; k < 2; k++) {
		h[k].job = job;
		h[k].part = parts[k];
		h[k].give_up = &give_up;
		sg_j_init(&h[k].c, job->file, &h[k].d);
		if (sg_jsrc_dup(job->src, &h[k].src) || !(h[k].pool = sg_strpool_new()))
			ok = false;
	}
	if (ok) {
		threaded = sg_run_beside(half_run, &h[0], half_run, &h[1]);
		ok = !atomic_load(&give_up);
	}
	if (ok) {
		struct sg_strpool *pools[2] = { h[0].pool, h[1].pool };

		ok = !sg_policy_commit_trusted(job->p, job->split->count, pools, 2);
		if (ok)
			h[0].pool = h[1].pool = NULL;
		if (ok && threaded)
			atomic_fetch_add(&two_thread_reads, 1);
	}
	half_free(&h[0]);
	half_free(&h[1]);
	return ok;
}

bool sg_pp_trusted_halves(struct sg_policy_parse *pp, struct sg_trusted_source *ts)
{
	struct sg_halves_job job = {
		.p = pp->p, .resolve = pp->p, .file = pp->c.file, .now = pp->now,
		.src = ts->src, .split = ts->split,
	};

	if (pp->one_thread || pp->p->n_trusted)
		return false;
	return sg_trusted_halves(&job);
}
