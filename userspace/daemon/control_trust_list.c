// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * trust.list: the trusted entries, sorted by prefix (policy.json's entry
 * before the approval it shadows), filtered and paged in the daemon, and
 * written as a stream (control_cmd.h, struct sgd_stream): one chunk of
 * at most CHUNK entries per turn of the event loop.
 *
 * Nothing is kept between chunks but a cursor, the last entry written.
 * Each chunk scans the policy as it is at that moment for the CHUNK
 * smallest matching entries after the cursor (a bounded heap: O(n log
 * CHUNK), no sorted copy of the policy to keep up to date), so:
 *   - memory is one chunk's text, whatever the size of the policy;
 *   - a change made while a listing is being written (trust.add between
 *     two chunks, a reload) can neither crash nor repeat an entry: the
 *     chunks after it see the new policy past the cursor.
 * Listing n entries costs n/CHUNK scans of n entries: about 250 scans
 * of a million entries, a few milliseconds each.
 *
 * Paging: "limit" entries at most, then the reply says "more": true and
 * "next": the last prefix written; "after": PREFIX starts after every
 * entry of that prefix.  A page never separates a prefix's policy entry
 * from the approval it shadows (it may hold limit + 1 entries), so the
 * cursor is always a plain prefix.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "control_cmd.h"
#include "index_heap.h"

/* Entries per chunk: about 300 KiB of text. */
#define CHUNK 1024

struct list_filter {
	bool has_within;
	struct sg_prefix within;    /* "prefix": entries inside it */
	char *ticket;               /* exact; NULL: any */
	char *owner;                /* exact; NULL: any */
	int source;                 /* SG_ORIGIN_*, or -1: any */
	bool has_window;
	long long window;           /* "expiring_within_sec" */
};

/* A position in the listing's order. */
struct list_key {
	struct sg_prefix prefix;
	int origin;
};

struct list_state {
	struct list_filter f;
	long long now;              /* one "now" for the whole listing */
	size_t limit;               /* 0: no limit */
	size_t written;             /* entries written so far */
	bool has_cursor;            /* entries after cursor only */
	struct list_key cursor;
	bool started;               /* the reply's head is written */
	size_t *heap;               /* CHUNK + 1 indexes into the policy */
};

static int prefix_cmp(const struct sg_prefix *a, const struct sg_prefix *b)
{
	int c = memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int key_cmp(const struct list_key *a, const struct sg_trusted_entry *t)
{
	int c = prefix_cmp(&a->prefix, &t->prefix);

	return c ? c : a->origin - (int)t->origin;
}

static int entry_cmp(const struct sg_trusted_entry *x, const struct sg_trusted_entry *y)
{
	int c = prefix_cmp(&x->prefix, &y->prefix);

	return c ? c : (int)x->origin - (int)y->origin;
}

static bool matches(const struct list_state *s, const struct sg_trusted_entry *t)
{
	const struct list_filter *f = &s->f;

	if (f->source >= 0 && (int)t->origin != f->source)
		return false;
	if (f->has_within && (t->prefix.len < f->within.len ||
			      !sg_prefix_contains(&f->within, &t->prefix.addr)))
		return false;
	if (f->ticket && (!t->ticket || strcmp(f->ticket, t->ticket)))
		return false;
	if (f->owner && (!t->owner || strcmp(f->owner, t->owner)))
		return false;
	if (f->has_window && (!t->expires || t->expires > s->now + f->window))
		return false;
	return true;
}

/* ---- the smallest entries after the cursor ---------------------------- */

static int by_listing_order(const void *ctx, size_t a, size_t b)
{
	const struct sg_policy *p = ctx;

	return entry_cmp(&p->trusted[a], &p->trusted[b]);
}

/* The want smallest matching entries after the cursor, sorted, into
 * s->heap (index_heap.h); returns how many. */
static size_t select_next(struct list_state *s, const struct sg_policy *p, size_t want)
{
	struct sg_index_heap h = { .idx = s->heap, .cap = want, .cmp = by_listing_order,
				   .ctx = p };

	for (size_t i = 0; i < p->n_trusted; i++) {
		const struct sg_trusted_entry *t = &p->trusted[i];

		if (s->has_cursor && key_cmp(&s->cursor, t) >= 0)
			continue;
		/* Before the filters, which cost more. */
		if (!sg_index_heap_takes(&h, i) || !matches(s, t))
			continue;
		sg_index_heap_offer(&h, i);
	}
	sg_index_heap_sort(&h);
	return h.n;
}

/* ---- the chunks ----------------------------------------------------- */

struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 64 * 1024;
		char *b;

		while (cap < t->len + n + 1)
			cap *= 2;
		if (!(b = realloc(t->buf, cap))) {
			t->failed = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void put_str(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void put_entry(struct text *t, const struct sg_policy *p,
		      const struct sg_trusted_entry *e, long long now, bool first)
{
	json_t *o = sgd_trust_entry_json(p, e, now);
	char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!js) {
		t->failed = true;
		return;
	}
	if (!first)
		put(t, ",", 1);
	put_str(t, js);
	free(js);
}

/* The end of the reply: whether more follow the page, and from where. */
static void put_end(struct text *t, const struct list_state *s, bool more)
{
	char next[SG_PREFIX_STRLEN];

	put_str(t, "],\"more\":");
	put_str(t, more ? "true" : "false");
	if (more) {
		sg_prefix_format(&s->cursor.prefix, next, sizeof(next));
		put_str(t, ",\"next\":\"");
		put_str(t, next);
		put_str(t, "\"");
	}
	put_str(t, "}");
}

static int list_next(struct sgd *d, void *state, char **buf, size_t *len)
{
	struct list_state *s = state;
	const struct sg_policy *p = &d->policy;
	struct text t = { 0 };
	size_t n, k = 0;
	bool page_full = false;
	int rc = 1;

	if (!s->started)
		put_str(&t, "{\"ok\":true,\"result\":[");
	/* One more than a chunk: to know whether the listing ends here. */
	n = select_next(s, p, CHUNK + 1);
	for (; k < n && k < CHUNK; k++) {
		const struct sg_trusted_entry *e = &p->trusted[s->heap[k]];

		/* At the limit, only the approval that goes with the policy
		 * entry just written (same prefix) still belongs to the page. */
		if (s->limit && s->written >= s->limit &&
		    (!s->has_cursor || !sg_prefix_equal(&s->cursor.prefix, &e->prefix))) {
			page_full = true;
			break;
		}
		put_entry(&t, p, e, s->now, !s->started && !s->written);
		s->written++;
		s->has_cursor = true;
		s->cursor.prefix = e->prefix;
		s->cursor.origin = (int)e->origin;
	}
	s->started = true;
	if (page_full) {
		put_end(&t, s, true);
		rc = 0;
	} else if (k == n) {
		put_end(&t, s, false);
		rc = 0;
	}
	if (t.failed) {
		free(t.buf);
		return -1;
	}
	*buf = t.buf;
	*len = t.len;
	return rc;
}

static void list_free(void *state)
{
	struct list_state *s = state;

	if (!s)
		return;
	free(s->f.ticket);
	free(s->f.owner);
	free(s->heap);
	free(s);
}

/* ---- the request ----------------------------------------------------- */

static int parse_source(struct sgd_req *r, int *source)
{
	const char *v;
	int rc = sgd_arg_text(r, "source", false, 16, &v);

	*source = -1;
	if (rc <= 0)
		return rc;
	if (!strcmp(v, "policy"))
		*source = SG_ORIGIN_POLICY;
	else if (!strcmp(v, "approval"))
		*source = SG_ORIGIN_APPROVAL;
	else
		return sgd_req_fail(r, SGD_E_INVALID, "source", "\"%s\" is neither \"policy\" nor "
				    "\"approval\"", v);
	return 1;
}

/* Given, and not null (null is "absent", as for every argument). */
static bool present(struct sgd_req *r, const char *key)
{
	json_t *v = json_object_get(r->args, key);

	return v && !json_is_null(v);
}

static int parse_filter(struct sgd_req *r, struct list_state *s)
{
	const char *ticket = NULL, *owner = NULL;
	long long limit = 0;
	int rc;

	if ((rc = sgd_arg_int(r, "expiring_within_sec", false, 0, 100LL * 366 * 86400,
			      &s->f.window)) < 0)
		return -1;
	s->f.has_window = rc > 0;
	if (present(r, "prefix")) {
		if (sgd_arg_prefix(r, "prefix", &s->f.within) < 0)
			return -1;
		s->f.has_within = true;
	}
	if (present(r, "after")) {
		if (sgd_arg_prefix(r, "after", &s->cursor.prefix) < 0)
			return -1;
		/* After every entry of that prefix, the approval included. */
		s->has_cursor = true;
		s->cursor.origin = SG_ORIGIN_APPROVAL;
	}
	if (sgd_arg_text(r, "ticket", false, SG_TICKET_MAX, &ticket) < 0 ||
	    sgd_arg_text(r, "owner", false, SG_OWNER_MAX, &owner) < 0 ||
	    parse_source(r, &s->f.source) < 0 ||
	    sgd_arg_int(r, "limit", false, 1, SG_MAX_TRUSTED, &limit) < 0)
		return -1;
	s->limit = (size_t)limit;
	if ((ticket && !(s->f.ticket = strdup(ticket))) || (owner && !(s->f.owner = strdup(owner))))
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	return 0;
}

int sgd_cmd_trust_list(struct sgd_req *r)
{
	struct list_state *s = calloc(1, sizeof(*s));
	struct sgd_stream *st = calloc(1, sizeof(*st));

	if (!s || !st || !(s->heap = calloc(CHUNK + 1, sizeof(*s->heap)))) {
		list_free(s);
		free(st);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	}
	s->now = (long long)time(NULL);
	if (parse_filter(r, s)) {
		list_free(s);
		free(st);
		return -1;
	}
	st->next = list_next;
	st->free = list_free;
	st->state = s;
	r->stream = st;
	return 0;
}
