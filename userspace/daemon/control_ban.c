// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ban.add, ban.del, ban.list.  Manual bans (an address) live in the
 * pinned ban table, automatic ones (a trusted entry: all of a prefix) in
 * the entry's bucket with a record in sg_auto_bans: like the rest of the
 * data plane they survive a daemon restart, and they go with
 * `smtpgated --detach`.  The kernel stores CLOCK_BOOTTIME
 * instants; they are shown as wall-clock times.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "control_cmd.h"

/* Longer bans are surely typos; "until removed" is no duration at all. */
#define BAN_MAX_SEC (100LL * 366 * 86400)
#define BAN_REASON_MAX SG_NOTE_MAX

static json_t *when_json(uint64_t boot_ns)
{
	char when[40];

	sg_format_rfc3339((long long)sg_unix_from_boot(boot_ns), when, sizeof(when));
	return json_string(when);
}

static json_t *ban_json(const struct sg_addr *a, const struct sg_ban *b, uint64_t now_ns)
{
	char text[SG_PREFIX_STRLEN];

	sg_addr_format(a, text, sizeof(text));
	return json_pack("{s:s, s:s, s:o, s:o, s:b}", "addr", text,
			 "kind", b->flags & SG_BAN_MANUAL ? "manual" : "auto",
			 "since", when_json(b->since_ns),
			 "expires", b->expires_ns ? when_json(b->expires_ns) : json_null(),
			 "active", !b->expires_ns || b->expires_ns > now_ns);
}

/* An automatic ban: "addr" is the banned entry (a prefix bans all of it),
 * "source" the address whose violation reached the threshold. */
static json_t *auto_ban_json(const struct sg_entry_ban *b, uint64_t now_ns)
{
	char entry[SG_PREFIX_STRLEN], src[SG_PREFIX_STRLEN];

	if (b->known)
		sg_prefix_format(&b->entry, entry, sizeof(entry));
	else
		snprintf(entry, sizeof(entry), "(entry gone, slot %u)", b->rec.slot);
	sg_addr_format(&b->rec.src, src, sizeof(src));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b}", "addr", entry, "kind", "auto",
			 "scope", "entry", "source", src, "since", when_json(b->rec.since_ns),
			 "expires", b->rec.expires_ns ? when_json(b->rec.expires_ns) : json_null(),
			 "active", !b->rec.expires_ns || b->rec.expires_ns > now_ns);
}

struct auto_find {
	uint32_t slot;
	struct sg_entry_ban ban;
	bool found;
};

static int auto_find_cb(const struct sg_entry_ban *b, void *ctx)
{
	struct auto_find *f = ctx;

	if (b->rec.slot != f->slot)
		return 0;
	f->ban = *b;
	f->found = true;
	return 1;
}

/* Lifts the automatic ban of the entry for exactly `prefix`.  1 if there
 * was one (reply sent), 0 if not, -1 on failure (reply sent). */
static int auto_ban_del(struct sgd_req *r, const struct sg_prefix *prefix)
{
	struct auto_find f = { 0 };
	struct sg_err err = { 0 };
	struct sg_trusted t;
	json_t *result;

	if (sg_dp_trust_get(r->d->dp, prefix, &t))
		return 0;
	f.slot = t.slot;
	sg_dp_auto_ban_foreach(r->d->dp, auto_find_cb, &f);
	if (!f.found)
		return 0;
	result = auto_ban_json(&f.ban, sg_boot_ns());
	if (sg_dp_auto_ban_del(r->d->dp, t.slot, &err)) {
		json_decref(result);
		if (err.code == -ENOENT)
			return 0;
		sgd_req_fail(r, SGD_E_FAILED, NULL, "data plane: %s", err.msg);
		return -1;
	}
	sgd_req_ok(r, result);
	return 1;
}

struct ban_find {
	const struct sg_addr *want;
	struct sg_ban ban;
	bool found;
};

static int find_cb(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	struct ban_find *f = ctx;

	if (memcmp(a, f->want, sizeof(*a)))
		return 0;
	f->ban = *b;
	f->found = true;
	return 1;
}

static bool ban_get(struct sg_dp *dp, const struct sg_addr *a, struct sg_ban *out)
{
	struct ban_find f = { .want = a };

	sg_dp_ban_foreach(dp, find_cb, &f);
	*out = f.ban;
	return f.found;
}

int sgd_cmd_ban_add(struct sgd_req *r)
{
	struct sg_err err = { 0 };
	long long duration = 0;
	const char *reason, *ticket;
	struct sg_addr a;
	struct sg_ban b;

	if (sgd_arg_addr(r, "addr", &a) < 0 ||
	    sgd_arg_int(r, "duration_sec", false, 1, BAN_MAX_SEC, &duration) < 0 ||
	    sgd_arg_text(r, "reason", false, BAN_REASON_MAX, &reason) < 0 ||
	    sgd_arg_text(r, "ticket", false, SG_TICKET_MAX, &ticket) < 0)
		return -1;
	if (sgd_req_audit_change(r))
		return -1;
	if (r->d->store) {
		/* In force here once the store's watch brings it back. */
		if (sgd_fleet_ban(r, &a, duration, reason, ticket))
			return -1;
	} else if (sg_dp_ban_put(r->d->dp, &a, (uint64_t)duration * 1000000000ull, SG_BAN_MANUAL,
				 &err)) {
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "data plane: %s", err.msg);
	}
	if (!ban_get(r->d->dp, &a, &b))
		return sgd_req_fail(r, SGD_E_FAILED, NULL, r->d->store
				    ? "the ban is in the fleet store but not yet applied here"
				    : "the ban vanished from the ban table");
	return sgd_req_ok(r, ban_json(&a, &b, sg_boot_ns()));
}

int sgd_cmd_ban_del(struct sgd_req *r)
{
	struct sg_err err = { 0 };
	const char *reason, *ticket;
	char text[SG_PREFIX_STRLEN];
	struct sg_prefix p;
	struct sg_addr a;
	struct sg_ban b;
	json_t *result;
	int rc;

	if (sgd_arg_prefix(r, "addr", &p) < 0 ||
	    sgd_arg_text(r, "reason", false, BAN_REASON_MAX, &reason) < 0 ||
	    sgd_arg_text(r, "ticket", false, SG_TICKET_MAX, &ticket) < 0)
		return -1;
	sg_prefix_format(&p, text, sizeof(text));
	a = p.addr;
	/* An address: its manual ban; else (or a prefix) the automatic ban
	 * of the trusted entry for exactly that prefix. */
	if (!sg_prefix_is_host(&p) || !ban_get(r->d->dp, &a, &b)) {
		rc = auto_ban_del(r, &p);
		if (rc)
			return rc < 0 ? -1 : 0;
		return sgd_req_fail(r, SGD_E_NOT_FOUND, "addr", "%s is not banned", text);
	}
	result = ban_json(&a, &b, sg_boot_ns());
	if (sgd_req_audit_change(r)) {
		json_decref(result);
		return -1;
	}
	/* With a fleet store its ban goes there; one the store never had
	 * (an end missed while away) is lifted here only. */
	rc = r->d->store ? sgd_fleet_unban(r, &a, ticket) : 1;
	if (rc <= 0) {
		if (rc)
			json_decref(result);
		return rc ? -1 : sgd_req_ok(r, result);
	}
	rc = sg_dp_ban_del(r->d->dp, &a, &err);
	if (rc == -ENOENT) {
		json_decref(result);
		return sgd_req_fail(r, SGD_E_NOT_FOUND, "addr", "%s is not banned", text);
	}
	if (rc) {
		json_decref(result);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "data plane: %s", err.msg);
	}
	return sgd_req_ok(r, result);
}

struct ban_list {
	struct sg_addr *addrs;
	struct sg_ban *bans;
	size_t n, cap;
};

static int list_cb(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	struct ban_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct sg_addr *na = realloc(l->addrs, cap * sizeof(*na));
		struct sg_ban *nb;

		if (!na)
			return -ENOMEM;
		l->addrs = na;
		nb = realloc(l->bans, cap * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		l->bans = nb;
		l->cap = cap;
	}
	l->addrs[l->n] = *a;
	l->bans[l->n++] = *b;
	return 0;
}

static const struct ban_list *sort_list;

static int order_cmp(const void *a, const void *b)
{
	return memcmp(&sort_list->addrs[*(const size_t *)a], &sort_list->addrs[*(const size_t *)b],
		      sizeof(struct sg_addr));
}

static int auto_list_cb(const struct sg_entry_ban *b, void *ctx)
{
	json_array_append_new(ctx, auto_ban_json(b, sg_boot_ns()));
	return 0;
}

int sgd_cmd_ban_list(struct sgd_req *r)
{
	struct ban_list l = { 0 };
	uint64_t now = sg_boot_ns();
	json_t *arr = json_array();
	size_t *order = NULL;
	int rc = sg_dp_ban_foreach(r->d->dp, list_cb, &l);

	if (!rc && l.n)
		order = calloc(l.n, sizeof(*order));
	if (rc || !arr || (l.n && !order)) {
		free(l.addrs);
		free(l.bans);
		free(order);
		json_decref(arr);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "reading the ban table: %s",
				    strerror(rc ? -rc : ENOMEM));
	}
	for (size_t i = 0; i < l.n; i++)
		order[i] = i;
	sort_list = &l;
	if (l.n)
		qsort(order, l.n, sizeof(*order), order_cmp);
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, ban_json(&l.addrs[order[i]], &l.bans[order[i]], now));
	/* Then the automatic bans, one per banned entry. */
	sg_dp_auto_ban_foreach(r->d->dp, auto_list_cb, arr);
	free(l.addrs);
	free(l.bans);
	free(order);
	return sgd_req_ok(r, arr);
}
