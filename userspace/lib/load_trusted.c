// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One trusted entry, as policy.json's trusted[] and approvals.json's
 * approvals[] both write it.  The only differences: approvals also carry
 * who created them and when, and an approval that names a group or class
 * the policy lost is refused with a message that says which approval
 * would be orphaned, because nothing approved may silently disappear.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "load_internal.h"

static const char *const trusted_keys[] = {
	"addr", "relays", "rate", "ticket", "owner", "contact", "expires", "note", NULL
};

static const char *const approval_keys[] = {
	"addr", "relays", "rate", "ticket", "owner", "contact", "expires", "note",
	"created", "created_by", NULL
};

/* Which entry a message is about, for approvals: "10.20.1.5 (ticket
 * CHG-7)".  Written out only when a message needs it: a million entries
 * load without one, and formatting each cost a tenth of the load. */
struct entry_ref {
	const char *addr;       /* as written; NULL: none */
	const struct sg_trusted_entry *t;
	bool prefix_ok;         /* t->prefix is addr parsed */
};

static const char *entry_ref_text(const struct entry_ref *who, char *buf, size_t len)
{
	char addr[SG_PREFIX_STRLEN + 64];

	if (who->prefix_ok)
		sg_prefix_format(&who->t->prefix, addr, sizeof(addr));
	else
		snprintf(addr, sizeof(addr), "%.64s", who->addr ? who->addr : "?");
	snprintf(buf, len, "%s (ticket %s)", addr, who->t->ticket ? who->t->ticket : "?");
	return buf;
}

typedef void (*list_names_fn)(const struct sg_policy *p, char *buf, size_t len);

static void missing_name(struct sg_jctx *c, const struct sg_policy *p, bool approval,
			 const struct entry_ref *who, const char *kind, const char *name,
			 list_names_fn list)
{
	char known[256], text[SG_PREFIX_STRLEN + SG_TICKET_MAX * 4 + 96];

	if (approval) {
		sg_j_error(c, "the policy has no %s \"%.64s\" any more, which approval %s uses; "
			   "restore it in policy.json or remove the approval first "
			   "(smtpgatectl trust del)", kind, name,
			   entry_ref_text(who, text, sizeof(text)));
		return;
	}
	list(p, known, sizeof(known));
	if (known[0])
		sg_j_error(c, "no %s named \"%.64s\" (defined: %s)", kind, name, known);
	else
		sg_j_error(c, "no %s named \"%.64s\" (the policy defines none)", kind, name);
}

static void parse_relays(struct sg_jctx *c, json_t *obj, const struct sg_policy *p,
			 bool approval, const struct entry_ref *who, struct sg_trusted_entry *t)
{
	char buf[64];
	size_t i, s0;
	json_t *arr, *v;

	if (sg_j_get(c, obj, "relays", JSON_ARRAY, true, &arr) <= 0)
		return;
	s0 = sg_j_push_key(c, "relays");
	if (!json_array_size(arr))
		sg_j_error(c, "must name at least one relay group");
	json_array_foreach(arr, i, v) {
		size_t s1 = sg_j_push_index(c, i);
		int g;

		if (!json_is_string(v)) {
			sg_j_error(c, "must be a relay group name, not %s",
				   sg_j_describe(v, buf, sizeof(buf)));
		} else if ((g = sg_policy_group_index(p, json_string_value(v))) < 0) {
			missing_name(c, p, approval, who, "relay group", json_string_value(v),
				     sg_j_list_groups);
		} else if (t->groups & (1ull << g)) {
			sg_j_error(c, "\"%s\" is listed twice", json_string_value(v));
		} else {
			t->groups |= 1ull << g;
		}
		sg_j_pop(c, s1);
	}
	sg_j_pop(c, s0);
}

static void parse_rate(struct sg_jctx *c, json_t *obj, const struct sg_policy *p,
		       bool approval, const struct entry_ref *who, struct sg_trusted_entry *t)
{
	json_t *v = json_object_get(obj, "rate");
	char buf[64];
	size_t s0;
	int k;

	sg_entry_set_class(t, sg_default_class(p));
	if (!v)
		return;
	s0 = sg_j_push_key(c, "rate");
	if (json_is_null(v)) {
		/* Extension: an explicit "no rate limit", even when a class
		 * named "default" exists. */
		sg_entry_set_class(t, SG_NO_CLASS);
	} else if (!json_is_string(v)) {
		sg_j_error(c, "must be a rate class name or null, not %s",
			   sg_j_describe(v, buf, sizeof(buf)));
	} else if ((k = sg_policy_class_index(p, json_string_value(v))) < 0) {
		missing_name(c, p, approval, who, "rate class", json_string_value(v),
			     sg_j_list_classes);
	} else {
		sg_entry_set_class(t, (uint32_t)k);
	}
	sg_j_pop(c, s0);
}

static void parse_expires(struct sg_jctx *c, json_t *obj, long long now,
			  struct sg_trusted_entry *t)
{
	char when[40];
	long long e;

	if (sg_j_get_time(c, obj, "expires", false, &e) <= 0)
		return;
	if (e > SG_EXPIRES_MAX) {
		sg_format_rfc3339(e, when, sizeof(when));
		sg_j_error_at(c, "expires", "%s is after " SG_EXPIRES_MAX_TEXT ", the last expiry "
			      "the data plane's clock can hold; for an entry that never expires, "
			      "leave \"expires\" out", when);
		return;
	}
	/* 0 means "never" in memory; a time at or before the epoch is
	 * simply long past. */
	t->expires = e > 0 ? e : 1;
	if (e <= now) {
		size_t s0 = sg_j_push_key(c, "expires");

		sg_format_rfc3339(e, when, sizeof(when));
		sg_j_warn(c, "%s is in the past: the entry is loaded but passes no traffic", when);
		sg_j_pop(c, s0);
	}
}

static void parse_addr(struct sg_jctx *c, json_t *obj, struct sg_trusted_entry *t,
		       struct entry_ref *who, bool *ok)
{
	struct sg_err err = { 0 };
	json_t *v;

	*ok = false;
	who->t = t;
	who->addr = NULL;
	who->prefix_ok = false;
	if (sg_j_get(c, obj, "addr", JSON_STRING, true, &v) <= 0)
		return;
	who->addr = json_string_value(v);
	if (sg_prefix_parse(json_string_value(v), &t->prefix, &err)) {
		sg_j_error_at(c, "addr", "%s", err.msg);
		return;
	}
	who->prefix_ok = true;
	*ok = true;
}

bool sg_j_trusted(struct sg_jctx *c, json_t *obj, const struct sg_policy *p, bool approval,
		  long long now, struct sg_trusted_entry *t, struct sg_trusted_extra *x,
		  bool *addr_ok)
{
	size_t before = c->d->n_errors;
	struct entry_ref who;
	const char *s;
	char buf[64];
	long long created;

	memset(t, 0, sizeof(*t));
	memset(x, 0, sizeof(*x));
	t->extra = x;
	t->origin = approval ? SG_ORIGIN_APPROVAL : SG_ORIGIN_POLICY;
	sg_entry_set_class(t, sg_default_class(p));
	*addr_ok = false;
	if (!json_is_object(obj)) {
		sg_j_error(c, "must be an object, not %s", sg_j_describe(obj, buf, sizeof(buf)));
		return false;
	}
	sg_j_check_keys(c, obj, approval ? approval_keys : trusted_keys);
	parse_addr(c, obj, t, &who, addr_ok);
	/* The strings stay json-owned; the caller deep-copies the entry. */
	if (sg_j_get_text(c, obj, "ticket", true, SG_TICKET_MAX, &s) > 0)
		t->ticket = (char *)s;
	if (sg_j_get_text(c, obj, "owner", true, SG_OWNER_MAX, &s) > 0)
		t->owner = (char *)s;
	if (sg_j_get_text(c, obj, "contact", false, SG_CONTACT_MAX, &s) > 0)
		x->contact = (char *)s;
	if (sg_j_get_text(c, obj, "note", false, SG_NOTE_MAX, &s) > 0)
		x->note = (char *)s;
	parse_relays(c, obj, p, approval, &who, t);
	parse_rate(c, obj, p, approval, &who, t);
	parse_expires(c, obj, now, t);
	if (approval) {
		if (sg_j_get_time(c, obj, "created", true, &created) > 0)
			x->created = created;
		if (sg_j_get_text(c, obj, "created_by", true, SG_CREATED_BY_MAX, &s) > 0)
			x->created_by = (char *)s;
	}
	return *addr_ok && c->d->n_errors == before;
}
