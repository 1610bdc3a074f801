// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * trust.add, trust.del: the firewall team's approvals (trust.list is
 * control_trust_list.c, trust.import control_trust_import.c).
 *
 * A change is made in this order, and undone in reverse if a step fails,
 * so that a reply of "ok" means the kernel enforces it and the disk holds
 * it, and any other reply means nothing changed:
 *     1. the data plane (one map write: in force at once),
 *     2. the in-memory policy,
 *     3. the disk: one line appended to approvals.journal and
 *        fdatasync'd (approvals_save.c; approvals.json is its snapshot),
 * after the audit record (sgd_req_audit_change: no record, no change),
 * which is taken back if a step fails.
 *
 * The whole line in the file is the commit point.  A line that cannot be
 * written or synced is cut back off and the change undone; should that
 * cut fail, the journal holds the change, and undoing the first two
 * steps would only make the kernel and the reply disagree with what the
 * next reload or restart reads.  So the change is kept and reported done,
 * with a warning (reply, audit record, log, metric) that a power loss may
 * undo it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "control_cmd.h"
#include "log.h"

/* ---- an entry as trust.list shows it -------------------------------- */

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *time_or_null(long long t)
{
	char when[40];

	if (!t)
		return json_null();
	sg_format_rfc3339(t, when, sizeof(when));
	return json_string(when);
}

json_t *sgd_trust_entry_json(const struct sg_policy *p, const struct sg_trusted_entry *t,
			     long long now)
{
	char text[SG_PREFIX_STRLEN];
	json_t *relays = json_array();
	json_t *e;

	sg_prefix_format(&t->prefix, text, sizeof(text));
	for (size_t g = 0; relays && g < p->n_groups && g < 64; g++)
		if (t->groups & (1ull << g))
			json_array_append_new(relays, json_string(p->groups[g].name));
	e = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:b, s:b}",
		      "prefix", text,
		      "relays", relays ? relays : json_array(),
		      "rate", sg_entry_class(t) < p->n_classes
			      ? json_string(p->classes[sg_entry_class(t)].name) : json_null(),
		      "ticket", text_or_null(t->ticket),
		      "owner", text_or_null(t->owner),
		      "contact", text_or_null(sg_entry_contact(t)),
		      "expires", time_or_null(t->expires),
		      "note", text_or_null(sg_entry_note(t)),
		      "source", t->origin == SG_ORIGIN_APPROVAL ? "approval" : "policy",
		      "created", time_or_null(sg_entry_created(t)),
		      "created_by", text_or_null(sg_entry_created_by(t)),
		      "expired", t->expires && t->expires <= now,
		      "shadowed", sgd_is_shadowed(p, t));
	return e;
}

/* ---- trust.add ------------------------------------------------------- */

static void list_groups(const struct sg_policy *p, char *buf, size_t len)
{
	size_t off = 0;

	snprintf(buf, len, "the policy defines none");
	for (size_t g = 0; g < p->n_groups && off < len; g++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", g ? ", " : "defined: ",
					p->groups[g].name);
}

static void list_classes(const struct sg_policy *p, char *buf, size_t len)
{
	size_t off = 0;

	snprintf(buf, len, "the policy defines none");
	for (size_t k = 0; k < p->n_classes && off < len; k++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", k ? ", " : "defined: ",
					p->classes[k].name);
}

static int parse_relays(struct sgd_req *r, const struct sg_policy *p, uint64_t *mask)
{
	json_t *arr = json_object_get(r->args, "relays"), *v;
	char known[512];
	size_t i;

	*mask = 0;
	if (!arr || json_is_null(arr))
		return sgd_req_fail(r, SGD_E_INVALID, "relays", "is required (the relay groups "
				    "this source may send to)");
	if (!json_is_array(arr))
		return sgd_req_fail(r, SGD_E_INVALID, "relays", "must be an array of relay "
				    "group names");
	if (!json_array_size(arr))
		return sgd_req_fail(r, SGD_E_INVALID, "relays", "must name at least one relay "
				    "group");
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);
		int g;

		if (!name || !sg_valid_name(name))
			return sgd_req_fail(r, SGD_E_INVALID, "relays", "element %zu is not a relay "
					    "group name", i);
		g = sg_policy_group_index(p, name);
		if (g < 0) {
			list_groups(p, known, sizeof(known));
			return sgd_req_fail(r, SGD_E_INVALID, "relays", "no relay group named "
					    "\"%s\" (%s)", name, known);
		}
		if (*mask & (1ull << g))
			return sgd_req_fail(r, SGD_E_INVALID, "relays", "\"%s\" is listed twice",
					    name);
		*mask |= 1ull << g;
	}
	return 0;
}

static int parse_rate(struct sgd_req *r, const struct sg_policy *p, uint32_t *class_idx)
{
	json_t *v = json_object_get(r->args, "rate");
	char known[512];
	int k;

	*class_idx = sg_default_class(p);
	if (!v)
		return 0;
	if (json_is_null(v)) {
		/* As in policy.json: an explicit "no rate limit". */
		*class_idx = SG_NO_CLASS;
		return 0;
	}
	if (!json_is_string(v) || !sg_valid_name(json_string_value(v)))
		return sgd_req_fail(r, SGD_E_INVALID, "rate", "must be a rate class name");
	k = sg_policy_class_index(p, json_string_value(v));
	if (k < 0) {
		list_classes(p, known, sizeof(known));
		return sgd_req_fail(r, SGD_E_INVALID, "rate", "no rate class named \"%s\" (%s)",
				    json_string_value(v), known);
	}
	*class_idx = (uint32_t)k;
	return 0;
}

/* The entry the request describes, checked by the rules of a policy.json
 * entry, plus those of a new approval: the expiry is in the future and
 * the prefix is not trusted yet.  Strings point into the request. */
int sgd_trust_parse_entry(struct sgd_req *r, long long now, struct sg_trusted_entry *t,
			  struct sg_trusted_extra *x)
{
	const struct sg_policy *p = &r->d->policy;
	const char *ticket = NULL, *owner = NULL, *contact = NULL, *note = NULL;
	uint32_t class_idx;
	long long expires;
	char when[40];

	memset(t, 0, sizeof(*t));
	t->origin = SG_ORIGIN_APPROVAL;
	if (sgd_arg_prefix(r, "prefix", &t->prefix) < 0 || parse_relays(r, p, &t->groups) ||
	    sgd_arg_text(r, "ticket", true, SG_TICKET_MAX, &ticket) < 0 ||
	    sgd_arg_text(r, "owner", true, SG_OWNER_MAX, &owner) < 0 ||
	    parse_rate(r, p, &class_idx) ||
	    sgd_arg_text(r, "contact", false, SG_CONTACT_MAX, &contact) < 0 ||
	    sgd_arg_text(r, "note", false, SG_NOTE_MAX, &note) < 0)
		return -1;
	sg_entry_set_class(t, class_idx);
	switch (sgd_arg_time(r, "expires", false, &expires)) {
	case -1:
		return -1;
	case 1:
		if (expires <= now) {
			sg_format_rfc3339(expires, when, sizeof(when));
			return sgd_req_fail(r, SGD_E_INVALID, "expires", "%s is in the past", when);
		}
		if (expires > SG_EXPIRES_MAX) {
			sg_format_rfc3339(expires, when, sizeof(when));
			return sgd_req_fail(r, SGD_E_INVALID, "expires", "%s is after "
					    SG_EXPIRES_MAX_TEXT ", the last expiry the data "
					    "plane's clock can hold; for an approval that never "
					    "expires, leave out --expires", when);
		}
		t->expires = expires;
		break;
	}
	/* The strings stay the request's and x the caller's;
	 * sg_policy_add_trusted copies them. */
	t->ticket = (char *)ticket;
	t->owner = (char *)owner;
	memset(x, 0, sizeof(*x));
	x->contact = (char *)contact;
	x->note = (char *)note;
	x->created = now;
	t->extra = x;
	return 0;
}

static int check_new(struct sgd_req *r, const struct sg_trusted_entry *t)
{
	const struct sg_policy *p = &r->d->policy;
	long i = sg_policy_find_trusted(p, &t->prefix);
	char text[SG_PREFIX_STRLEN];

	sg_prefix_format(&t->prefix, text, sizeof(text));
	if (i >= 0)
		return sgd_req_fail(r, SGD_E_CONFLICT, "prefix", "%s is already trusted (%s, "
				    "ticket %s)", text,
				    p->trusted[i].origin == SG_ORIGIN_APPROVAL ? "an approval"
									       : "policy.json",
				    p->trusted[i].ticket ? p->trusted[i].ticket : "?");
	if (p->n_trusted >= SG_MAX_TRUSTED)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "the policy already has %d trusted "
				    "entries, the limit", SG_MAX_TRUSTED);
	return 0;
}

/* A prefix no scope prefix covers is never governed: approving it
 * changes nothing, which the operator should hear about. */
static void warn_out_of_scope(struct sgd_req *r, const struct sg_trusted_entry *t)
{
	const struct sg_policy *p = &r->d->policy;
	char text[SG_PREFIX_STRLEN];

	if (!p->n_scope)
		return;
	for (size_t i = 0; i < p->n_scope; i++)
		if (p->scope[i].len <= t->prefix.len &&
		    sg_prefix_contains(&p->scope[i], &t->prefix.addr))
			return;
	sg_prefix_format(&t->prefix, text, sizeof(text));
	sgd_req_warn(r, "%s is outside the policy's scope: its mail is not governed, so the "
		     "approval has no effect", text);
}

/* Undoing a data-plane change failed: rebuild the data plane from the
 * in-memory policy (a new generation, as a reload does), so the kernel
 * enforces what the reply says.  0 if it does now; else -1 with why in
 * err (the caller's reply must then say the kernel disagrees). */
int sgd_trust_resync(struct sgd *d, const char *what, struct sg_err *err)
{
	if (!sgd_apply_policy(d, err)) {
		sgd_warn("%s: undoing the data-plane change failed; the data plane was rebuilt "
			 "from the policy in memory instead", what);
		return 0;
	}
	sgd_err("%s: the data plane could not be put back (%s); it disagrees with the policy "
		"until `smtpgatectl reload` succeeds", what, err->msg);
	return -1;
}

int sgd_cmd_trust_add(struct sgd_req *r)
{
	struct sgd *d = r->d;
	struct sg_trusted_entry t;
	struct sg_trusted_extra x;
	struct sg_err err = { 0 };
	long long now = (long long)time(NULL);
	char by[SG_CREATED_BY_MAX];
	int rc;

	if (sgd_trust_parse_entry(r, now, &t, &x) || check_new(r, &t))
		return -1;
	snprintf(by, sizeof(by), "%s (uid %u)", r->peer->user, (unsigned)r->peer->uid);
	x.created_by = by;
	if (sgd_req_audit_change(r))
		return -1;
	if (d->store)
		return sgd_fleet_trust_add(r, &t);
	if (sg_dp_trust_put(d->dp, &t, &err))
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "data plane: %s", err.msg);
	if (sg_policy_add_trusted(&d->policy, &t)) {
		if (sg_dp_trust_del(d->dp, &t.prefix, NULL) && sgd_trust_resync(d, "trust.add", &err))
			return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory, and the data "
					    "plane still holds the entry (%s): run smtpgatectl "
					    "reload", err.msg);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	}
	rc = sgd_save_approval_added(d, &d->policy.trusted[d->policy.n_trusted - 1], &err);
	if (rc == SG_SAVED_NOT_DURABLE)
		sgd_req_warn(r, "the approval is made and in approvals.json, but may not survive a "
			     "power loss: %s", err.msg);
	else if (rc) {
		struct sg_err undo = { 0 };

		/* Not on disk: not done.  Undo both steps exactly. */
		sg_policy_remove_trusted(&d->policy, d->policy.n_trusted - 1);
		rc = sg_dp_trust_del(d->dp, &t.prefix, NULL) && sgd_trust_resync(d, "trust.add", &undo);
		sgd_snapshot_after(d, t.expires);
		if (rc)
			return sgd_req_fail(r, SGD_E_FAILED, NULL, "cannot save the approval (%s), "
					    "and the data plane still holds it (%s): it passes "
					    "until smtpgatectl reload succeeds", err.msg, undo.msg);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "cannot save the approval, so it was "
				    "not made: %s", err.msg);
	}
	sgd_snapshot_added(d, &d->policy.trusted[d->policy.n_trusted - 1]);
	warn_out_of_scope(r, &t);
	return sgd_req_ok(r, sgd_trust_entry_json(&d->policy, &d->policy.trusted[d->policy.n_trusted - 1],
					now));
}

/* ---- trust.del ------------------------------------------------------- */

/* Puts the copy back at index i, where it was. */
static int reinsert(struct sg_policy *p, const struct sg_trusted_entry *copy, size_t i)
{
	struct sg_trusted_entry e;

	if (sg_policy_add_trusted(p, copy))
		return -ENOMEM;
	e = p->trusted[p->n_trusted - 1];
	memmove(&p->trusted[i + 1], &p->trusted[i], (p->n_trusted - 1 - i) * sizeof(e));
	p->trusted[i] = e;
	return 0;
}

int sgd_cmd_trust_del(struct sgd_req *r)
{
	struct sgd *d = r->d;
	struct sg_policy saved;
	struct sg_prefix prefix;
	struct sg_err err = { 0 };
	char text[SG_PREFIX_STRLEN];
	const char *ticket;
	bool shadowed, dp_removed = false;
	json_t *result;
	int64_t expires;
	long i;
	int rc;

	if (sgd_arg_prefix(r, "prefix", &prefix) < 0 ||
	    sgd_arg_text(r, "ticket", true, SG_TICKET_MAX, &ticket) < 0)
		return -1;
	sg_prefix_format(&prefix, text, sizeof(text));
	i = sg_policy_find_approval(&d->policy, &prefix);
	if (i < 0)
		return sgd_req_fail(r, SGD_E_NOT_FOUND, "prefix", "%s is not an approval%s", text,
				    sg_policy_find_trusted(&d->policy, &prefix) >= 0
				    ? " (it is an entry of policy.json: change it there)"
				    : " (smtpgatectl trust list shows them)");
	shadowed = sgd_is_shadowed(&d->policy, &d->policy.trusted[i]);
	result = sgd_trust_entry_json(&d->policy, &d->policy.trusted[i], (long long)time(NULL));
	sg_policy_init(&saved);
	if (!result || sg_policy_add_trusted(&saved, &d->policy.trusted[i])) {
		json_decref(result);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	}
	if (sgd_req_audit_change(r)) {
		sg_policy_free(&saved);
		json_decref(result);
		return -1;
	}
	if (d->store) {
		sg_policy_free(&saved);
		return sgd_fleet_trust_del(r, &prefix, ticket, result);
	}
	/* A shadowed approval is not in the data plane: policy.json's entry
	 * for the prefix is, and stays. */
	if (!shadowed) {
		rc = sg_dp_trust_del(d->dp, &prefix, &err);

		if (rc && rc != -ENOENT) {
			sg_policy_free(&saved);
			json_decref(result);
			return sgd_req_fail(r, SGD_E_FAILED, NULL, "data plane: %s", err.msg);
		}
		dp_removed = !rc;
	}
	sg_policy_remove_trusted(&d->policy, (size_t)i);
	rc = sgd_save_approval_removed(d, &prefix, &err);
	if (rc == SG_SAVED_NOT_DURABLE)
		sgd_req_warn(r, "the approval is removed, also from approvals.json, but a power "
			     "loss may bring it back: %s", err.msg);
	else if (rc) {
		struct sg_err undo = { 0 };

		json_decref(result);
		if (reinsert(&d->policy, &saved.trusted[0], (size_t)i)) {
			/* The file still has it; memory and kernel do not. */
			sg_policy_free(&saved);
			sgd_snapshot_policy(d);
			sgd_err("trust.del rollback of %s: out of memory", text);
			return sgd_req_fail(r, SGD_E_FAILED, NULL, "cannot save approvals.json (%s), "
					    "which still has the approval, and it could not be put "
					    "back (out of memory): it is blocked until smtpgatectl "
					    "reload succeeds", err.msg);
		}
		sg_policy_free(&saved);
		rc = dp_removed && sg_dp_trust_put(d->dp, &d->policy.trusted[i], NULL) &&
		     sgd_trust_resync(d, "trust.del", &undo);
		sgd_snapshot_after(d, d->policy.trusted[i].expires);
		if (rc)
			return sgd_req_fail(r, SGD_E_FAILED, NULL, "cannot save approvals.json (%s), "
					    "so the approval stays, but the data plane could not "
					    "take it back (%s): it is blocked until smtpgatectl "
					    "reload succeeds", err.msg, undo.msg);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "cannot save approvals.json, so the "
				    "approval stays: %s", err.msg);
	}
	expires = saved.trusted[0].expires;
	sg_policy_free(&saved);
	sgd_snapshot_removed(d, &prefix, expires);
	return sgd_req_ok(r, result);
}
