// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loading approvals.json (the format is in approvals.c) and the journal
 * over it.
 *
 * The file is read through a window (json_stream.h), its approvals
 * parsed one at a time: as one jansson tree an approval took about
 * 3.5 KB, fourteen times its text, so 10,000 approvals raised a reload's
 * peak by 35 MB and 100,000 (one trust import) by 350 MB.  Anything the
 * stream's scanner does not expect sends the file to the plain whole
 * parse, whose messages are the ones users have always seen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "approvals_journal.h"
#include "json_stream.h"
#include "load_internal.h"

static const char *const approvals_keys[] = { "version", "approvals", NULL };
static unsigned long streamed_reads;

unsigned long sg_approvals_streamed_reads(void)
{
	return __atomic_load_n(&streamed_reads, __ATOMIC_RELAXED);
}

/* Moves the entries of scratch (which own their strings) onto *out. */
static int append_entries(struct sg_policy *scratch, struct sg_trusted_entry **out, size_t *n)
{
	struct sg_trusted_entry *a;

	if (!scratch->n_trusted)
		return 0;
	a = realloc(*out, (*n + scratch->n_trusted) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a + *n, scratch->trusted, scratch->n_trusted * sizeof(*a));
	*out = a;
	*n += scratch->n_trusted;
	/* The strings and extras now belong to *out. */
	scratch->n_trusted = 0;
	scratch->n_approvals = 0;
	return 0;
}

/* The approvals[] walk: each element appended to set, each prefix noted
 * for the duplicate check. */
struct walk {
	struct sg_jctx *c;
	const struct sg_policy *p;
	long long now;
	struct sg_policy *set;  /* may be p itself */
	bool pooled;            /* texts into set's pool, not malloc'd */
	bool one_thread;        /* sg_load_opts.one_thread */
	struct sg_prefix_at *at;
	size_t n_at;
};

static void approval_one(json_t *v, size_t i, void *ctx)
{
	struct walk *w = ctx;
	size_t s1 = sg_j_push_index(w->c, i);
	struct sg_trusted_entry t;
	struct sg_trusted_extra x;
	bool addr_ok;

	if (sg_j_trusted(w->c, v, w->p, true, w->now, &t, &x, &addr_ok) &&
	    (w->pooled ? sg_policy_add_trusted_pooled(w->set, &t)
		       : sg_policy_add_trusted(w->set, &t)))
		sg_j_error(w->c, "out of memory");
	if (addr_ok) {
		w->at[w->n_at].prefix = t.prefix;
		w->at[w->n_at++].index = i;
	}
	sg_j_pop(w->c, s1);
}

/* Many approvals (a trust import's) are read by two threads, as
 * policy.json's entries are (load_trusted_halves.c), when their texts
 * go to the pool and nothing is to be reported; then each element's
 * prefix is noted for the duplicate check from what was appended. */
static bool walk_halves(struct walk *w, size_t count, struct sg_jsrc *src,
			const struct sg_jsplit *sp)
{
	struct sg_halves_job job = {
		.p = w->set, .resolve = w->p, .file = w->c->file, .approval = true,
		.now = w->now, .src = src, .split = sp,
	};
	size_t first = w->set->n_trusted;

	if (!w->pooled || w->one_thread || !sg_trusted_halves(&job))
		return false;
	for (size_t i = 0; i < count; i++) {
		w->at[w->n_at].prefix = w->set->trusted[first + i].prefix;
		w->at[w->n_at++].index = i;
	}
	return true;
}

/* The approvals (count of them): the elements of arr or, with arr
 * NULL, those sg_jsplit_each hands over from src and sp.  0, or what the stream
 * returned (SG_JS_FALLBACK, -ESTALE, -errno). */
static int walk_approvals(struct walk *w, size_t count, size_t already, json_t *arr,
			  struct sg_jsrc *src, const struct sg_jsplit *sp)
{
	size_t s0, i;
	json_t *v;
	int rc = 0;

	if (count + already > SG_MAX_TRUSTED) {
		sg_j_error_at(w->c, "approvals", "%zu approvals and %zu other entries exceed the "
			      "limit of %d trusted entries", count, already, SG_MAX_TRUSTED);
		return 0;
	}
	/* Room for them all at once: grown by doubling, the array would
	 * hold up to twice its entries' room while the policy before it is
	 * held too (a reload's peak). */
	w->at = calloc(count + 1, sizeof(*w->at));
	if (!w->at || sg_policy_reserve_trusted(w->set, count)) {
		free(w->at);
		w->at = NULL;
		sg_j_error(w->c, "out of memory");
		return 0;
	}
	s0 = sg_j_push_key(w->c, "approvals");
	if (arr)
		json_array_foreach(arr, i, v)
			approval_one(v, i, w);
	else if (!walk_halves(w, count, src, sp))
		rc = sg_jsplit_each(src, sp, approval_one, w);
	sg_j_pop(w->c, s0);
	/* Two approvals of one prefix: which one is in force would be an
	 * accident.  (An approval of a prefix policy.json also lists is
	 * fine: the policy entry shadows it, and the daemon says so.) */
	if (!rc)
		sg_j_prefix_duplicates(w->c, "approvals", "addr", w->at, w->n_at);
	free(w->at);
	w->at = NULL;
	return rc;
}

/* The top level, from the whole tree or from the stream's small text
 * (where "approvals" is [] when the stream took its elements out). */
static int parse_root(struct walk *w, json_t *root, size_t already, struct sg_jsrc *src,
		      const struct sg_jsplit *sp)
{
	json_t *arr, *v;

	if (!json_is_object(root)) {
		sg_j_error(w->c, "the top level must be a JSON object ({...})");
		return 0;
	}
	sg_j_check_keys(w->c, root, approvals_keys);
	if (sg_j_get(w->c, root, "version", JSON_INTEGER, true, &v) > 0 &&
	    json_integer_value(v) != SG_APPROVALS_VERSION)
		sg_j_error_at(w->c, "version", "%lld is not supported (this smtpgate reads "
			      "version %d)", (long long)json_integer_value(v),
			      SG_APPROVALS_VERSION);
	if (sg_j_get(w->c, root, "approvals", JSON_ARRAY, true, &arr) <= 0)
		return 0;
	if (sp && sp->has_trusted)
		return walk_approvals(w, sp->count, already, NULL, src, sp);
	return walk_approvals(w, json_array_size(arr), already, arr, NULL, NULL);
}

/* The plain way: the whole file as one tree (none: no snapshot yet). */
static void load_whole(const char *path, const struct sg_load_opts *o, struct walk *w,
		       size_t already)
{
	size_t len = 0;
	json_t *root;
	char *buf = NULL;

	if (!sg_read_trusted_file(path, o, &buf, &len, w->c->d) &&
	    (root = sg_j_parse(w->c->file, buf, len, w->c->d))) {
		parse_root(w, root, already, NULL, NULL);
		json_decref(root);
	}
	free(buf);
}

/* Through the window: 0 (read, with any errors in the walk's diag; or
 * no file, no snapshot yet), or SG_JS_FALLBACK (read it whole instead:
 * what was added must go). */
static int load_stream(const char *path, const struct sg_load_opts *o, struct walk *w,
		       size_t already)
{
	struct sg_jsplit sp;
	struct sg_jsrc src;
	json_t *root;
	int rc;

	/* A refusal (a link, a file too large) is worded by the plain way:
	 * this one's message stays in the walk's quiet diag. */
	rc = sg_open_trusted_stream(path, o, false, &src, w->c->d);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return SG_JS_FALLBACK;
	rc = sg_jsplit_array(&src, "approvals", &sp);
	if (!rc) {
		/* (An "approvals" the scanner did not take out, written with
		 * an escape, is in the small text's tree like any other key.) */
		root = json_loadb(sp.rest, sp.rest_len, JSON_REJECT_DUPLICATES, NULL);
		rc = root ? parse_root(w, root, already, &src, &sp) : SG_JS_FALLBACK;
		if (!rc && sp.has_trusted)
			__atomic_fetch_add(&streamed_reads, 1, __ATOMIC_RELAXED);
		json_decref(root);
		sg_jsplit_free(&sp);
	}
	sg_close_trusted_stream(&src);
	if (rc == -ESTALE) {
		sg_j_error(w->c, "changed while it was being read; nothing was loaded");
		rc = 0;
	}
	return rc ? SG_JS_FALLBACK : 0;
}

/* The approvals in force appended to set (which has no index: its
 * entries before them are not the approvals'), resolved against p, which
 * has `already` entries beside them.  set may be p itself.  0, or -1
 * (errors in d, which the caller made non-NULL; set then has what was
 * appended: sg_policy_truncate it). */
static int load_set(const char *path, const struct sg_policy *p, const struct sg_load_opts *o,
		    size_t already, bool pooled, struct sg_policy *set, struct sg_diag *d)
{
	struct sg_diag quiet = { 0 };
	struct sg_jctx c;
	struct walk w = { .c = &c, .p = p, .now = sg_now(o), .set = set, .pooled = pooled,
			  .one_thread = o && o->one_thread };
	size_t before = d->n_errors, first = set->n_trusted;

	/* The stream's messages wait in quiet: should it fall back, the
	 * whole parse words them instead. */
	sg_j_init(&c, sg_basename(path), &quiet);
	if ((o && o->read_whole) || load_stream(path, o, &w, already) == SG_JS_FALLBACK) {
		/* (Texts the stream pooled stay in the pool until the policy
		 * is freed: a fall-back is rare, and its texts are few.) */
		sg_policy_truncate(set, first);
		sg_j_init(&c, sg_basename(path), d);
		load_whole(path, o, &w, already);
	} else {
		for (size_t i = 0; i < quiet.n; i++)
			sg_diag_add(d, quiet.is_error[i], "%s", quiet.lines[i]);
		sg_j_init(&c, sg_basename(path), d);
	}
	sg_diag_free(&quiet);
	/* The changes since the snapshot; the limit holds for the result. */
	if (d->n_errors == before &&
	    !sg_approvals_replay(path, p, o, sg_now(o), set, first, d) &&
	    set->n_trusted - first + already > SG_MAX_TRUSTED)
		sg_j_error(&c, "%zu approvals (with approvals.journal) and %zu other entries "
			   "exceed the limit of %d trusted entries", set->n_trusted - first,
			   already, SG_MAX_TRUSTED);
	return d->n_errors == before ? 0 : -1;
}

int sg_approvals_load(const char *path, const struct sg_policy *p,
		      const struct sg_load_opts *o, struct sg_trusted_entry **out, size_t *n,
		      struct sg_diag *d)
{
	struct sg_diag local = { 0 };
	struct sg_policy scratch;
	int rc;

	sg_policy_init(&scratch);
	rc = load_set(path, p, o, p->n_trusted + *n, false, &scratch, d ? d : &local);
	if (!rc && append_entries(&scratch, out, n)) {
		sg_diag_add(d ? d : &local, true, "%s: out of memory", sg_basename(path));
		rc = -1;
	}
	sg_policy_free(&scratch);
	sg_diag_free(&local);
	return rc;
}

int sg_approvals_load_into(const char *path, struct sg_policy *p,
			   const struct sg_load_opts *o, struct sg_diag *d)
{
	struct sg_diag local = { 0 };
	size_t first = p->n_trusted;
	int rc;

	/* Straight into p: a scratch policy moved across afterwards would
	 * hold a second copy of the approvals' array at the reload's peak. */
	rc = load_set(path, p, o, first, true, p, d ? d : &local);
	if (rc)
		sg_policy_truncate(p, first);
	sg_policy_trim(p);
	sg_diag_free(&local);
	return rc;
}
