// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet store's records: keys below the prefix, their validation, the
 * in-memory state, and approval and ban values as the data plane wants
 * them.  A value comes from a store other people can write to (etcdctl,
 * another gateway of another version): each is checked on its own, and
 * one that fails is refused without stopping the others.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "load_internal.h"
#include "store.h"

static const struct {
	int kind;
	const char *dir;
} kinds[] = {
	{ SG_STORE_APPROVAL, "approvals/" },
	{ SG_STORE_BAN, "bans/" },
	{ SG_STORE_AUDIT, "audit/" },
};

int sg_store_key_suffix(int kind, const char *name, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return snprintf(buf, len, "%s%s", kinds[i].dir, name) < (int)len
				? 0 : -ENAMETOOLONG;
	return -EINVAL;
}

/* Printable ASCII only, for messages: a key is whatever someone wrote. */
static void printable(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++)
		out[o++] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[o] = '\0';
}

static bool audit_name_ok(const char *name)
{
	size_t i = 0;

	for (; i < 19; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	if (name[i++] != '-' || !name[i] || strlen(name + i) >= SG_STORE_GATEWAY_MAX)
		return false;
	return sg_name_chars_ok(name + i);
}

int sg_store_key_parse(const char *suffix, size_t len, int *kind, char *name, size_t name_len,
		       struct sg_err *err)
{
	char shown[SG_STORE_NAME_MAX + 16], canon[SG_PREFIX_STRLEN];
	struct sg_prefix p;
	struct sg_addr a;
	size_t i, dl;

	printable(suffix, len, shown, sizeof(shown));
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		dl = strlen(kinds[i].dir);
		if (len > dl && !memcmp(suffix, kinds[i].dir, dl))
			break;
	}
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return sg_errf(err, -EINVAL, "%s: not a key this smtpgate knows (approvals/, "
			       "bans/, audit/)", shown);
	if (len - dl >= name_len || len - dl >= SG_STORE_NAME_MAX || memchr(suffix, 0, len))
		return sg_errf(err, -EINVAL, "%s: the name is too long or holds a NUL", shown);
	*kind = kinds[i].kind;
	memcpy(name, suffix + dl, len - dl);
	name[len - dl] = '\0';
	switch (*kind) {
	case SG_STORE_APPROVAL:
		if (sg_prefix_parse(name, &p, NULL))
			return sg_errf(err, -EINVAL, "%s: \"%s\" is not an IP prefix", shown, name);
		sg_prefix_format(&p, canon, sizeof(canon));
		break;
	case SG_STORE_BAN:
		if (sg_addr_parse(name, &a, NULL))
			return sg_errf(err, -EINVAL, "%s: \"%s\" is not an IP address", shown, name);
		sg_addr_format(&a, canon, sizeof(canon));
		break;
	default:
		if (!audit_name_ok(name))
			return sg_errf(err, -EINVAL, "%s: an audit key is <19 digits>-<gateway>",
				       shown);
		return 0;
	}
	/* One prefix, one key: "10.1.2.9/32" and "10.1.2.9" must not both
	 * be approvals of the same host. */
	if (strcmp(canon, name))
		return sg_errf(err, -EINVAL, "%s: the name must be written %s", shown, canon);
	return 0;
}

int sg_store_value_check(int kind, const char *name, const char *value, size_t len,
			 struct sg_err *err)
{
	const char *dir = kind == SG_STORE_APPROVAL ? "approvals/" : kind == SG_STORE_BAN
			  ? "bans/" : "audit/";
	struct sg_prefix p, want;
	struct sg_addr a, wanta;
	json_error_t je;
	const char *addr;
	json_t *j;
	int rc = 0;

	if (len > SG_STORE_VALUE_MAX)
		return sg_errf(err, -EMSGSIZE, "%s%s: the value is %zu bytes, at most %u", dir,
			       name, len, SG_STORE_VALUE_MAX);
	j = json_loadb(value, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return sg_errf(err, -EINVAL, "%s%s: the value is not JSON: %s", dir, name, je.text);
	if (!json_is_object(j)) {
		rc = sg_errf(err, -EINVAL, "%s%s: the value must be a JSON object", dir, name);
		goto out;
	}
	if (kind == SG_STORE_AUDIT)
		goto out;
	addr = json_string_value(json_object_get(j, "addr"));
	if (!addr) {
		rc = sg_errf(err, -EINVAL, "%s%s: addr: missing, or not a string", dir, name);
		goto out;
	}
	if (kind == SG_STORE_APPROVAL) {
		if (sg_prefix_parse(addr, &p, NULL) || sg_prefix_parse(name, &want, NULL) ||
		    !sg_prefix_equal(&p, &want))
			rc = sg_errf(err, -EINVAL, "%s%s: addr: \"%.64s\" is not the key's prefix",
				     dir, name, addr);
	} else if (sg_addr_parse(addr, &a, NULL) || sg_addr_parse(name, &wanta, NULL) ||
		   memcmp(&a, &wanta, sizeof(a))) {
		rc = sg_errf(err, -EINVAL, "%s%s: addr: \"%.64s\" is not the key's address", dir,
			     name, addr);
	}
out:
	json_decref(j);
	return rc;
}

/* ---- the state ---------------------------------------------------------- */

void sg_store_state_free(struct sg_store_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->recs[i].value);
	free(s->recs);
	memset(s, 0, sizeof(*s));
}

static int rec_cmp(int kind, const char *name, const struct sg_store_rec *r)
{
	if (kind != r->kind)
		return kind < r->kind ? -1 : 1;
	return strcmp(name, r->name);
}

/* The index of (kind, name), or where it would go; *found says which. */
static size_t find(const struct sg_store_state *s, int kind, const char *name, bool *found)
{
	size_t lo = 0, hi = s->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = rec_cmp(kind, name, &s->recs[mid]);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

const struct sg_store_rec *sg_store_state_find(const struct sg_store_state *s, int kind,
					       const char *name)
{
	bool found;
	size_t i = find(s, kind, name, &found);

	return found ? &s->recs[i] : NULL;
}

int sg_store_state_set(struct sg_store_state *s, int kind, const char *name, const char *value,
		       int64_t mod_revision)
{
	bool found;
	size_t i = find(s, kind, name, &found);
	struct sg_store_rec *r;
	char *v = NULL;

	if (strlen(name) >= SG_STORE_NAME_MAX)
		return -ENAMETOOLONG;
	if (!value) {
		if (found) {
			free(s->recs[i].value);
			memmove(&s->recs[i], &s->recs[i + 1], (s->n - i - 1) * sizeof(*r));
			s->n--;
		}
		return 0;
	}
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	if (!found) {
		/* The capacity doubles whenever n reaches a power of two (16 at
		 * least), so it is always above n without a field of its own. */
		if ((s->n & (s->n - 1)) == 0 || s->n < 16) {
			size_t cap = s->n < 16 ? 16 : s->n * 2;

			r = realloc(s->recs, cap * sizeof(*r));
			if (!r) {
				free(v);
				return -ENOMEM;
			}
			s->recs = r;
		}
		memmove(&s->recs[i + 1], &s->recs[i], (s->n - i) * sizeof(*r));
		s->n++;
		memset(&s->recs[i], 0, sizeof(*r));
		s->recs[i].kind = kind;
		snprintf(s->recs[i].name, sizeof(s->recs[i].name), "%s", name);
	}
	free(s->recs[i].value);
	s->recs[i].value = v;
	s->recs[i].len = strlen(v);
	s->recs[i].mod_revision = mod_revision;
	return 0;
}

void sg_store_state_refuse(struct sg_store_state *s, const char *key, const char *why)
{
	const size_t keep = sizeof(s->refusals) / sizeof(s->refusals[0]);

	if (s->n_refused < keep) {
		struct sg_store_refusal *r = &s->refusals[s->n_refused];

		snprintf(r->key, sizeof(r->key), "%.*s", (int)sizeof(r->key) - 1, key);
		snprintf(r->why, sizeof(r->why), "%.*s", (int)sizeof(r->why) - 1, why);
	}
	s->n_refused++;
}

/* ---- values as the data plane wants them ------------------------------- */

/* The first error of d into err, or a generic one. */
static int diag_error(const struct sg_diag *d, struct sg_err *err, const char *what)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->is_error[i] && d->lines[i])
			return sg_errf(err, -EINVAL, "%s", d->lines[i]);
	return sg_errf(err, -EINVAL, "%s: invalid", what);
}

int sg_store_approval_parse(const struct sg_store_rec *r, const struct sg_policy *p,
			    long long now, struct sg_trusted_entry *t, struct sg_err *err)
{
	char file[SG_STORE_NAME_MAX + 16];
	struct sg_trusted_entry tmp;
	struct sg_trusted_extra x;
	struct sg_diag d = { 0 };
	struct sg_jctx c;
	bool addr_ok;
	json_t *j;
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(file, sizeof(file), "approvals/%s", r->name);
	if (r->kind != SG_STORE_APPROVAL || !r->value)
		return sg_errf(err, -EINVAL, "%s: not an approval record", file);
	rc = sg_store_value_check(r->kind, r->name, r->value, r->len, err);
	if (rc)
		return rc;
	j = json_loadb(r->value, r->len, JSON_REJECT_DUPLICATES, NULL);
	sg_j_init(&c, file, &d);
	if (!sg_j_trusted(&c, j, p, true, now, &tmp, &x, &addr_ok) || d.n_errors) {
		rc = diag_error(&d, err, file);
		goto out;
	}
	if (sg_trusted_entry_copy(t, &tmp))
		rc = sg_errf(err, -ENOMEM, "out of memory");
out:
	json_decref(j);
	sg_diag_free(&d);
	return rc;
}

int sg_store_ban_parse(const struct sg_store_rec *r, struct sg_store_ban *b, struct sg_err *err)
{
	static const char *const keys[] = { "addr", "expires", "reason", "ticket", "created",
					    "created_by", NULL };
	char file[SG_STORE_NAME_MAX + 16];
	struct sg_diag d = { 0 };
	struct sg_jctx c;
	const char *s;
	long long when;
	json_t *j, *v;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	snprintf(file, sizeof(file), "bans/%s", r->name);
	if (r->kind != SG_STORE_BAN || !r->value)
		return sg_errf(err, -EINVAL, "%s: not a ban record", file);
	rc = sg_store_value_check(r->kind, r->name, r->value, r->len, err);
	if (rc)
		return rc;
	j = json_loadb(r->value, r->len, JSON_REJECT_DUPLICATES, NULL);
	sg_j_init(&c, file, &d);
	sg_j_check_keys(&c, j, keys);
	if (sg_j_get(&c, j, "addr", JSON_STRING, true, &v) > 0 &&
	    sg_addr_parse(json_string_value(v), &b->addr, NULL))
		sg_j_error_at(&c, "addr", "is not an IP address");
	v = json_object_get(j, "expires");
	if (v && !json_is_null(v) && sg_j_get_time(&c, j, "expires", true, &when) > 0)
		b->expires = when > 0 ? when : 1;
	sg_j_get_text(&c, j, "reason", false, SG_NOTE_MAX, &s);
	sg_j_get_text(&c, j, "ticket", false, SG_TICKET_MAX, &s);
	sg_j_get_text(&c, j, "created_by", false, SG_CREATED_BY_MAX, &s);
	if (sg_j_get_time(&c, j, "created", false, &when) > 0)
		b->created = when;
	if (d.n_errors)
		rc = diag_error(&d, err, file);
	json_decref(j);
	sg_diag_free(&d);
	return rc;
}
