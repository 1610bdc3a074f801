// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * policy.json's trusted[]: up to a million elements, each parsed as it
 * comes (from the whole file's tree, or streamed one at a time,
 * json_stream.h) straight into the policy, then the checks over all of
 * them (a prefix listed twice, too many prefix lengths).
 */
#include <stdlib.h>
#include <string.h>
#include "json_stream.h"
#include "load_internal.h"

struct trusted_walk {
	struct sg_policy_parse *pp;
	size_t n;                       /* elements in trusted[] */
	/* Of each entry added, its index in trusted[]: NULL while the two
	 * are the same (no element skipped), as they are in a valid policy,
	 * so that a million entries do not carry 4 MB more at the peak of
	 * a reload. */
	uint32_t *json_index;
	bool oom;
};

/* Element i was skipped: from now on entries and elements differ. */
static void note_skipped(struct trusted_walk *w)
{
	size_t added = w->pp->p->n_trusted;

	if (w->json_index || w->oom)
		return;
	w->json_index = malloc((w->n + 1) * sizeof(*w->json_index));
	if (!w->json_index) {
		w->oom = true;
		sg_j_oom(&w->pp->c);
		return;
	}
	for (size_t k = 0; k < added; k++)
		w->json_index[k] = (uint32_t)k;
}

/* Every entry whose address is valid goes into the policy, valid or not
 * (an invalid one has been reported, so the policy will be refused): the
 * duplicate and prefix-length checks then read the policy itself rather
 * than a copy of every prefix. */
static void trusted_one(json_t *v, size_t i, void *ctx)
{
	struct trusted_walk *w = ctx;
	struct sg_jctx *c = &w->pp->c;
	size_t s1 = sg_j_push_index(c, i);
	struct sg_trusted_entry t;
	struct sg_trusted_extra x;
	bool addr_ok;

	sg_j_trusted(c, v, w->pp->p, false, w->pp->now, &t, &x, &addr_ok);
	if (addr_ok && sg_policy_add_trusted_pooled(w->pp->p, &t)) {
		sg_j_oom(c);
		addr_ok = false;
	}
	if (!addr_ok)
		note_skipped(w);
	else if (w->json_index)
		w->json_index[w->pp->p->n_trusted - 1] = (uint32_t)i;
	sg_j_pop(c, s1);
}

static int entry_prefix_cmp(const void *a, const void *b, void *ctx)
{
	const struct sg_trusted_entry *t = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = memcmp(&t[x].prefix.addr, &t[y].prefix.addr, sizeof(t[x].prefix.addr));

	if (c)
		return c;
	if (t[x].prefix.len != t[y].prefix.len)
		return t[x].prefix.len < t[y].prefix.len ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Prefixes listed twice, reported as sg_j_prefix_duplicates does: it is
 * given only the entries involved, found by sorting the policy's
 * positions (4 bytes an entry, where a copy of every prefix took 32). */
static void trusted_duplicates(struct sg_jctx *c, const struct sg_policy *p,
			       const uint32_t *json_index)
{
	size_t n = p->n_trusted, n_dup = 0;
	struct sg_prefix_at *dup = NULL;
	uint32_t *pos;

	if (n < 2)
		return;
	pos = malloc(n * sizeof(*pos));
	if (!pos) {
		sg_j_oom(c);
		return;
	}
	for (size_t i = 0; i < n; i++)
		pos[i] = (uint32_t)i;
	qsort_r(pos, n, sizeof(*pos), entry_prefix_cmp, p->trusted);
	for (size_t i = 0, first = 0; i < n; i++) {
		const struct sg_prefix *a = &p->trusted[pos[i]].prefix;
		bool same_next = i + 1 < n && sg_prefix_equal(a, &p->trusted[pos[i + 1]].prefix);
		bool same_prev = i > first;

		if (!same_next && !same_prev) {
			first = i + 1;
			continue;
		}
		if (!(n_dup & (n_dup + 1))) {
			struct sg_prefix_at *m = realloc(dup, 2 * (n_dup + 1) * sizeof(*dup));

			if (!m) {
				sg_j_oom(c);
				break;
			}
			dup = m;
		}
		dup[n_dup].prefix = *a;
		dup[n_dup++].index = json_index ? json_index[pos[i]] : pos[i];
		if (!same_next)
			first = i + 1;
	}
	free(pos);
	sg_j_prefix_duplicates(c, "trusted", "addr", dup, n_dup);
	free(dup);
}

static void trusted_prefix_lens(struct sg_jctx *c, const struct sg_policy *p)
{
	bool seen[129] = { false };
	unsigned distinct = 0;

	for (size_t i = 0; i < p->n_trusted; i++) {
		unsigned len = p->trusted[i].prefix.len;

		if (len >= 128 || seen[len])
			continue;
		seen[len] = true;
		distinct++;
	}
	if (distinct > SG_MAX_PREFIX_LENS)
		sg_j_error_at(c, "trusted", "uses %u distinct prefix lengths, at most %d (each "
			      "length costs the data plane one probe per packet)", distinct,
			      SG_MAX_PREFIX_LENS);
}

void sg_pp_trusted(struct sg_policy_parse *pp, struct sg_trusted_source *ts)
{
	struct sg_jctx *c = &pp->c;
	struct trusted_walk w = { .pp = pp };
	size_t n, i, s0;
	json_t *arr, *v;

	if (sg_j_get(c, pp->root, "trusted", JSON_ARRAY, false, &arr) <= 0)
		return;
	n = ts->src ? ts->split->count : json_array_size(arr);
	if (n > SG_MAX_TRUSTED) {
		sg_j_error_at(c, "trusted", "lists %zu entries, at most %d", n, SG_MAX_TRUSTED);
		return;
	}
	/* Room for every entry at once: no doubling, no copy of a large array. */
	w.n = n;
	if (n && sg_policy_reserve_trusted(pp->p, n)) {
		sg_j_oom(c);
		return;
	}
	s0 = sg_j_push_key(c, "trusted");
	if (sg_pp_trusted_halves(pp, ts))
		ts->rc = 0;
	else if (ts->src)
		ts->rc = sg_jsplit_each(ts->src, ts->split, trusted_one, &w);
	else
		json_array_foreach(arr, i, v)
			trusted_one(v, i, &w);
	sg_j_pop(c, s0);
	if (!ts->rc) {
		trusted_duplicates(c, pp->p, w.json_index);
		trusted_prefix_lens(c, pp->p);
	}
	free(w.json_index);
}

