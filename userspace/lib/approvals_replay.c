// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reading the approvals journal (approvals_journal.h) over the snapshot.
 * Linear in snapshot + journal: the last record of each prefix decides
 * it, so one pass backwards finds the deciding records, one pass drops
 * the snapshot's entries of every prefix the journal names, and the
 * deciding "add" records go in, in journal order.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "approvals_journal.h"
#include "load_internal.h"
#include "prefix_set.h"

static const char *const record_keys[] = { "op", "approval", "addr", NULL };

struct record {
	struct sg_prefix prefix;
	json_t *rec;            /* owned */
	size_t line;            /* 1-based, for messages */
	bool add;
	bool decides;           /* the last record of its prefix */
};

struct replay {
	const char *file;       /* basename, for messages */
	struct record *r;
	size_t n, cap;
};

/* A record's own context: "approvals.journal: line 7: ...". */
static void record_ctx(struct sg_jctx *c, const struct replay *rp, size_t line,
		       struct sg_diag *d, char *label, size_t len)
{
	snprintf(label, len, "%s: line %zu", rp->file, line);
	sg_j_init(c, label, d);
}

/* Parses one complete line into rp (the approval itself is resolved
 * later, and only if its record decides). */
static void parse_line(struct replay *rp, const char *text, size_t len, size_t line,
		       struct sg_diag *d)
{
	char label[PATH_MAX + 32];
	struct sg_jctx c;
	struct sg_err err = { 0 };
	const char *op = NULL, *addr = NULL;
	json_t *rec, *a = NULL;
	struct record *r;

	record_ctx(&c, rp, line, d, label, sizeof(label));
	rec = sg_j_parse(label, text, len, d);
	if (!rec)
		return;
	if (!json_is_object(rec)) {
		sg_j_error(&c, "a record must be a JSON object ({...})");
		goto bad;
	}
	sg_j_check_keys(&c, rec, record_keys);
	if (sg_j_get_text(&c, rec, "op", true, 8, &op) <= 0)
		goto bad;
	if (!strcmp(op, "add")) {
		if (sg_j_get(&c, rec, "approval", JSON_OBJECT, true, &a) <= 0)
			goto bad;
		if (!json_is_string(json_object_get(a, "addr"))) {
			sg_j_error_at(&c, "approval", "has no \"addr\"");
			goto bad;
		}
		addr = json_string_value(json_object_get(a, "addr"));
	} else if (!strcmp(op, "del")) {
		if (sg_j_get_text(&c, rec, "addr", true, SG_PREFIX_STRLEN, &addr) <= 0)
			goto bad;
	} else {
		sg_j_error_at(&c, "op", "\"%s\" is neither \"add\" nor \"del\"", op);
		goto bad;
	}
	if (rp->n == rp->cap) {
		size_t cap = rp->cap ? 2 * rp->cap : 64;
		struct record *more = realloc(rp->r, cap * sizeof(*more));

		if (!more) {
			sg_j_error(&c, "out of memory");
			goto bad;
		}
		rp->r = more;
		rp->cap = cap;
	}
	r = &rp->r[rp->n];
	memset(r, 0, sizeof(*r));
	if (sg_prefix_parse(addr, &r->prefix, &err)) {
		if (a)
			sg_j_push_key(&c, "approval");
		sg_j_error_at(&c, "addr", "%s", err.msg);
		goto bad;
	}
	r->rec = rec;
	r->line = line;
	r->add = a != NULL;
	rp->n++;
	return;
bad:
	json_decref(rec);
}

static void read_records(struct replay *rp, const char *buf, size_t len, struct sg_diag *d)
{
	size_t line = 0, start = 0;

	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);

		line++;
		if (!nl) {
			/* A crash while writing it: never acknowledged. */
			sg_diag_add(d, false, "%s: line %zu: an incomplete last record (a change "
				    "interrupted before it was acknowledged) is ignored", rp->file,
				    line);
			return;
		}
		parse_line(rp, buf + start, (size_t)(nl - (buf + start)), line, d);
		start = (size_t)(nl - buf) + 1;
	}
}

/* Marks the last record of each prefix; fills touched with every prefix. */
static int decide(struct replay *rp, struct sg_prefix_set *touched)
{
	for (size_t i = rp->n; i > 0; i--) {
		struct record *r = &rp->r[i - 1];

		if (sg_prefix_set_has(touched, &r->prefix))
			continue;
		if (sg_prefix_set_add(touched, &r->prefix))
			return -ENOMEM;
		r->decides = true;
	}
	return 0;
}

/* Drops the snapshot's entries (from first on) for prefixes the journal
 * decides. */
static void drop_touched(struct sg_policy *set, size_t first, const struct sg_prefix_set *touched)
{
	size_t w = first;

	for (size_t i = first; i < set->n_trusted; i++) {
		if (sg_prefix_set_has(touched, &set->trusted[i].prefix)) {
			set->n_approvals -= set->trusted[i].origin == SG_ORIGIN_APPROVAL;
			sg_trusted_entry_free(&set->trusted[i]);
		} else {
			set->trusted[w++] = set->trusted[i];
		}
	}
	set->n_trusted = w;
}

static void add_decided(struct replay *rp, const struct sg_policy *p, long long now,
			struct sg_policy *set, struct sg_diag *d)
{
	char label[PATH_MAX + 32];

	for (size_t i = 0; i < rp->n; i++) {
		struct record *r = &rp->r[i];
		struct sg_trusted_entry t;
		struct sg_trusted_extra x;
		struct sg_jctx c;
		bool addr_ok;
		size_t s;

		if (!r->decides || !r->add)
			continue;
		record_ctx(&c, rp, r->line, d, label, sizeof(label));
		s = sg_j_push_key(&c, "approval");
		if (sg_j_trusted(&c, json_object_get(r->rec, "approval"), p, true, now, &t,
				 &x, &addr_ok) && sg_policy_add_trusted(set, &t))
			sg_j_error(&c, "out of memory");
		sg_j_pop(&c, s);
	}
}

int sg_approvals_replay(const char *approvals_path, const struct sg_policy *p,
			const struct sg_load_opts *o, long long now, struct sg_policy *set,
			size_t first, struct sg_diag *d)
{
	char path[PATH_MAX];
	struct replay rp = { 0 };
	struct sg_prefix_set *touched = NULL;
	size_t before = d->n_errors, len = 0;
	char *buf = NULL;
	int rc;

	if (sg_approvals_journal_path(approvals_path, path, sizeof(path))) {
		sg_diag_add(d, true, "%s: path too long for its journal", approvals_path);
		return -1;
	}
	rp.file = sg_basename(path);
	rc = sg_read_trusted_file(path, o, &buf, &len, d);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return -1;
	read_records(&rp, buf, len, d);
	if (d->n_errors == before && rp.n) {
		touched = sg_prefix_set_new(rp.n);
		if (!touched || decide(&rp, touched))
			sg_diag_add(d, true, "%s: out of memory", rp.file);
		else {
			drop_touched(set, first, touched);
			add_decided(&rp, p, now, set, d);
		}
	}
	sg_prefix_set_free(touched);
	for (size_t i = 0; i < rp.n; i++)
		json_decref(rp.r[i].rec);
	free(rp.r);
	free(buf);
	return d->n_errors == before ? 0 : -1;
}
