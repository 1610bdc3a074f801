// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: approvals.  The audit trail is replayed up to the
 * period's end: trust.add adds (or changes, for a prefix already
 * approved), trust.del revokes, expire expires; what stands at the end
 * is in force, and every change inside the period is listed with who
 * made it and on which gateway.  approvals.json adds the approvals whose
 * audit record is older than the logs kept (said as such), and an
 * approval past its expiry without an "expire" record (smtpgated was not
 * running then) is listed as expired, marked unrecorded.
 */
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "load.h"
#include "report.h"

/* The prefix in its canonical text, so "198.18.0.5" and "198.18.0.5/32"
 * are one approval. */
static const char *canon(const char *text, char *buf, size_t len)
{
	struct sg_prefix p;

	if (!text || sg_prefix_parse(text, &p, NULL))
		return text;
	sg_prefix_format(&p, buf, len);
	return buf;
}

static json_t *str_or_null(json_t *v)
{
	return json_is_string(v) && json_string_length(v) ? json_incref(v) : json_null();
}

static json_t *or_null(json_t *v)
{
	return v ? v : json_null();
}

/* An approval as the report shows it, from a trust.add record. */
static json_t *approval_from(struct rpt *r, json_t *rec, const char *prefix)
{
	json_t *args = json_object_get(rec, "args");
	const char *exp = json_string_value(json_object_get(args, "expires"));
	long long expires_t = -1;
	json_t *a;

	if (exp && sg_parse_rfc3339(exp, &expires_t))
		expires_t = -1;
	/* "o*": a record without relays still makes an approval (with
	 * none), instead of failing the whole pack and vanishing. */
	a = json_pack("{s:s, s:o*, s:o, s:o, s:o, s:o, s:o, s:O, s:{s:O, s:O}, s:s, s:I, s:s}",
		      "prefix", prefix, "relays", json_deep_copy(json_object_get(args, "relays")),
		      "ticket", str_or_null(json_object_get(args, "ticket")),
		      "owner", str_or_null(json_object_get(args, "owner")),
		      "contact", str_or_null(json_object_get(args, "contact")),
		      "expires", str_or_null(json_object_get(args, "expires")),
		      "note", str_or_null(json_object_get(args, "note")),
		      "approved", json_object_get(rec, "time"),
		      "approved_by", "uid", or_null(json_object_get(rec, "uid")),
		      "user", or_null(json_object_get(rec, "user")),
		      "gateway", rpt_gateway(r, rec), "_expires_t", (json_int_t)expires_t,
		      "evidence", "audit");
	if (a && !json_object_get(a, "relays"))
		json_object_set_new(a, "relays", json_array());
	return a;
}

/* A change inside the period: kind, the approval it concerns (may be
 * NULL), and who made it (rec; NULL: smtpgated, unrecorded). */
static void change(struct rpt *r, json_t *changes, json_t *rec, long long t, const char *kind,
		   const char *prefix, json_t *appr, bool recorded)
{
	char when[32];
	json_t *c;

	if (t < r->since || t >= r->until || !(c = json_object()))
		return;
	json_object_set_new(c, "time", json_string(rpt_when(t, when, sizeof(when))));
	json_object_set_new(c, "change", json_string(kind));
	json_object_set_new(c, "prefix", json_string(prefix));
	/* A revocation carries the ticket that authorised it. */
	if (rec && !strcmp(kind, "revoked"))
		json_object_set_new(c, "ticket", str_or_null(json_object_get(rec, "ticket")));
	else
		json_object_set(c, "ticket", or_null(json_object_get(appr, "ticket")));
	json_object_set(c, "owner", or_null(json_object_get(appr, "owner")));
	json_object_set(c, "contact", or_null(json_object_get(appr, "contact")));
	json_object_set_new(c, "uid", rec ? json_incref(or_null(json_object_get(rec, "uid")))
					  : json_integer(-1));
	json_object_set_new(c, "user", rec ? json_incref(or_null(json_object_get(rec, "user")))
					   : json_string("smtpgated"));
	json_object_set_new(c, "gateway", json_string(rec ? rpt_gateway(r, rec) : r->hostname));
	json_object_set(c, "approved_by", or_null(json_object_get(appr, "approved_by")));
	json_object_set_new(c, "recorded", json_boolean(recorded));
	json_array_append_new(changes, c);
}

/* One audit record, applied to the approvals at its time. */
static void replay(struct rpt *r, json_t *state, json_t *changes, json_t *rec)
{
	const char *cmd = json_string_value(json_object_get(rec, "command"));
	const char *res = json_string_value(json_object_get(rec, "result"));
	json_t *args = json_object_get(rec, "args");
	long long t = rpt_time(rec);
	char buf[64];
	const char *prefix;
	json_t *old;

	if (!cmd || !res || strcmp(res, "ok"))
		return;
	prefix = json_string_value(json_object_get(args, strcmp(cmd, "expire") ? "prefix" : "addr"));
	if (!prefix)
		return;
	prefix = canon(prefix, buf, sizeof(buf));
	old = json_object_get(state, prefix);
	if (!strcmp(cmd, "trust.add") || (!strncmp(cmd, "trust.", 6) && strcmp(cmd, "trust.del") &&
					 strcmp(cmd, "trust.list"))) {
		json_t *a = approval_from(r, rec, prefix);

		change(r, changes, rec, t, old ? "changed" : "added", prefix, a, true);
		json_object_set_new(state, prefix, a);
	} else if (!strcmp(cmd, "trust.del") && old) {
		change(r, changes, rec, t, "revoked", prefix, old, true);
		json_object_del(state, prefix);
	} else if (!strcmp(cmd, "trust.del")) {
		change(r, changes, rec, t, "revoked", prefix, NULL, true);
	} else if (!strcmp(cmd, "expire")) {
		const char *src = json_string_value(json_object_get(args, "source"));

		change(r, changes, rec, t, src && !strcmp(src, "policy.json") ?
		       "expired (policy.json entry)" : "expired", prefix, old, true);
		if (old)
			json_object_del(state, prefix);
	}
}

/* approvals.json's approvals that the audit trail does not know: added
 * before the oldest audit record kept. */
static void from_file(struct rpt *r, json_t *state)
{
	char path[4096], buf[64];
	json_error_t jerr;
	json_t *doc, *a;
	size_t i;

	snprintf(path, sizeof(path), "%s/approvals.json", r->state_dir);
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		if (strstr(jerr.text, "No such file") == NULL)
			rpt_skipped(r, "%s: %s: approvals added before the audit log begins may be "
				    "missing", path, jerr.text);
		return;
	}
	json_array_foreach(json_object_get(doc, "approvals"), i, a) {
		const char *p = canon(json_string_value(json_object_get(a, "addr")), buf, sizeof(buf));
		const char *created = json_string_value(json_object_get(a, "created"));
		const char *exp = json_string_value(json_object_get(a, "expires"));
		long long ct, et = -1;

		if (!p || !created || sg_parse_rfc3339(created, &ct) || ct >= r->until ||
		    json_object_get(state, p))
			continue;
		if (exp && sg_parse_rfc3339(exp, &et))
			et = -1;
		/* Deleted since by a record we have?  Then the replay knows it. */
		json_object_set_new(state, p, json_pack(
			"{s:s, s:O, s:o, s:o, s:o, s:o, s:o, s:s, s:{s:n, s:o}, s:s, s:I, s:s}",
			"prefix", p, "relays", or_null(json_object_get(a, "relays")),
			"ticket", str_or_null(json_object_get(a, "ticket")),
			"owner", str_or_null(json_object_get(a, "owner")),
			"contact", str_or_null(json_object_get(a, "contact")),
			"expires", str_or_null(json_object_get(a, "expires")),
			"note", str_or_null(json_object_get(a, "note")), "approved", created,
			"approved_by", "uid", "user", str_or_null(json_object_get(a, "created_by")),
			"gateway", r->hostname, "_expires_t", (json_int_t)et,
			"evidence", "approvals.json (its audit record is older than the audit log)"));
	}
	json_decref(doc);
}

static long long approved_t(json_t *a)
{
	long long t = 0;

	sg_parse_rfc3339(json_string_value(json_object_get(a, "approved")), &t);
	return t;
}

/* What stands at the end: in force, or expired without a record. */
static void settle(struct rpt *r, json_t *state, json_t *changes, json_t *in_force,
		   json_t *missing_contact, json_t *past_review, json_t *expiring)
{
	const char *prefix;
	json_t *a;

	json_object_foreach(state, prefix, a) {
		long long et = json_integer_value(json_object_get(a, "_expires_t"));
		long long at = approved_t(a);

		if (et >= 0 && et < r->until) {
			change(r, changes, NULL, et, "expired", prefix, a, false);
			continue;
		}
		json_object_del(a, "_expires_t");
		json_array_append(in_force, a);
		if (json_is_null(json_object_get(a, "contact"))) {
			json_array_append_new(missing_contact, json_string(prefix));
			rpt_finding(r, "approvals", "%s (ticket %s): no contact", prefix,
				    json_string_value(json_object_get(a, "ticket")) ?: "none");
		}
		if (at < r->until - r->review_age) {
			json_array_append_new(past_review, json_pack("{s:s, s:O, s:I}", "prefix", prefix,
				"approved", json_object_get(a, "approved"),
				"age_days", (json_int_t)((r->until - at) / 86400)));
			rpt_finding(r, "approvals", "%s: approved %s, %lld days before the period's "
				    "end: past the review age of %lld days", prefix,
				    json_string_value(json_object_get(a, "approved")),
				    (r->until - at) / 86400, r->review_age / 86400);
		}
		if (et >= 0 && et < r->until + RPT_EXPIRING_SOON_SEC)
			json_array_append_new(expiring, json_pack("{s:s, s:O, s:O, s:O, s:O}",
				"prefix", prefix, "expires", json_object_get(a, "expires"),
				"ticket", json_object_get(a, "ticket"), "owner",
				json_object_get(a, "owner"), "contact", json_object_get(a, "contact")));
	}
}

static int time_cmp(const void *x, const void *y)
{
	const char *a = json_string_value(json_object_get(*(json_t *const *)x, "time"));
	const char *b = json_string_value(json_object_get(*(json_t *const *)y, "time"));

	return strcmp(a ? a : "", b ? b : "");
}

/* The unrecorded expiries were added last: put every change in time order. */
static void sort_changes(json_t *changes)
{
	size_t n = json_array_size(changes);
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(changes, i));
	/* RFC 3339 UTC texts of one format sort as their times. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && time_cmp(&v[j - 1], &v[j]) > 0; j--) {
			json_t *x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	json_array_clear(changes);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(changes, v[i]);
	free(v);
}

void rpt_approvals(struct rpt *r)
{
	json_t *state = json_object(), *changes = json_array(), *in_force = json_array();
	json_t *missing = json_array(), *past = json_array(), *expiring = json_array();
	size_t i;
	json_t *rec;

	json_array_foreach(r->audit.records, i, rec) {
		if (rpt_time(rec) >= r->until)
			break;
		replay(r, state, changes, rec);
	}
	from_file(r, state);
	settle(r, state, changes, in_force, missing, past, expiring);
	sort_changes(changes);
	json_object_set_new(r->doc, "approvals", json_pack("{s:o, s:o, s:o, s:o, s:o}",
		"in_force", in_force, "changes", changes, "missing_contact", missing,
		"past_review_age", past, "expiring_soon", expiring));
	json_decref(state);
}
