// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * trust.import: many approvals in one request, all or nothing.
 *
 * Each element of "approvals" is what trust.add takes, checked by the
 * same code (sgd_trust_parse_entry).  Then, as for one approval but
 * once for the whole batch:
 *   1. every element is checked, and the batch against itself and the
 *      policy in force (a duplicate prefix, a prefix already trusted
 *      otherwise, a table that would overflow): any problem refuses the
 *      whole batch, naming the element, before anything is written;
 *   2. one audit record per approval, in one append and one fsync;
 *   3. the data plane, one map write per approval;
 *   4. the in-memory policy;
 *   5. approvals.journal: one append and one fdatasync for the batch.
 * A failure at 3-5 undoes the steps before it, and the records are
 * taken back (the refusal is recorded instead), so an "ok" means every
 * approval is enforced and on disk, and anything else means none is.
 *
 * An element identical to an approval in force (same relays, rate,
 * ticket, owner, contact, expiry and note) is left as it is and counted
 * "unchanged", so an import that timed out can be run again.  Any other
 * element for a prefix already trusted is a conflict.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "control_cmd.h"
#include "log.h"

/* What an element may hold: trust.add's keys. */
static const char *const element_keys[] = {
	"prefix", "relays", "ticket", "owner", "rate", "contact", "expires", "note", NULL
};

struct item {
	struct sg_trusted_entry t;      /* strings point into the request */
	size_t index;                   /* in "approvals" */
};

static int prefix_cmp(const struct sg_prefix *a, const struct sg_prefix *b)
{
	int c = memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = prefix_cmp(&x->t.prefix, &y->t.prefix);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static const struct sg_policy *sort_policy;

static int index_cmp(const void *a, const void *b)
{
	return prefix_cmp(&sort_policy->trusted[*(const size_t *)a].prefix,
			  &sort_policy->trusted[*(const size_t *)b].prefix);
}

/* The policy's entries sorted by prefix, to look each element up in
 * O(log n) instead of scanning the policy once per element. */
static size_t *sorted_index(const struct sg_policy *p)
{
	size_t *idx = malloc((p->n_trusted + 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < p->n_trusted; i++)
		idx[i] = i;
	sort_policy = p;
	qsort(idx, p->n_trusted, sizeof(*idx), index_cmp);
	return idx;
}

/* An entry in force for the prefix: a policy.json one if there is one
 * (it is what a conflict is about), else the approval; NULL if none. */
static const struct sg_trusted_entry *find(const struct sg_policy *p, const size_t *idx,
					   const struct sg_prefix *prefix)
{
	size_t lo = 0, hi = p->n_trusted;
	const struct sg_trusted_entry *found = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (prefix_cmp(&p->trusted[idx[mid]].prefix, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < p->n_trusted && sg_prefix_equal(&p->trusted[idx[lo]].prefix, prefix); lo++)
		if (!found || p->trusted[idx[lo]].origin == SG_ORIGIN_POLICY)
			found = &p->trusted[idx[lo]];
	return found;
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The approval asks for exactly what an existing one grants. */
static bool same_approval(const struct sg_trusted_entry *a, const struct sg_trusted_entry *b)
{
	return a->origin == SG_ORIGIN_APPROVAL && b->origin == SG_ORIGIN_APPROVAL &&
	       a->groups == b->groups && sg_entry_class(a) == sg_entry_class(b) &&
	       a->expires == b->expires && same_text(a->ticket, b->ticket) &&
	       same_text(a->owner, b->owner) &&
	       same_text(sg_entry_contact(a), sg_entry_contact(b)) &&
	       same_text(sg_entry_note(a), sg_entry_note(b));
}

/* ---- step 1: every element --------------------------------------------- */

static int element_fail(struct sgd_req *r, size_t i, json_t *el)
{
	const char *prefix = json_string_value(json_object_get(el, "prefix"));
	char *why = r->error;
	const char *code = r->code ? r->code : SGD_E_INVALID;
	int rc;

	r->error = NULL;
	if (prefix && strlen(prefix) <= 64)
		rc = sgd_req_fail(r, code, "approvals", "element %zu (%s): %s", i, prefix,
				  why ? why : "invalid");
	else
		rc = sgd_req_fail(r, code, "approvals", "element %zu: %s", i, why ? why : "invalid");
	free(why);
	return rc;
}

static int check_element_keys(struct sgd_req *r, json_t *el)
{
	const char *key;
	json_t *v;

	json_object_foreach(el, key, v) {
		bool known = false;

		for (size_t k = 0; element_keys[k] && !known; k++)
			known = !strcmp(element_keys[k], key);
		if (!known)
			return sgd_req_fail(r, SGD_E_INVALID, NULL, "%.64s: unknown key (prefix, "
					    "relays, ticket, owner, rate, contact, expires, note)",
					    key);
	}
	return 0;
}

/* Parses element i into it (its extra into *x), with the request's
 * args switched to the element for the argument getters (and switched
 * back). */
static int parse_element(struct sgd_req *r, json_t *el, size_t i, long long now,
			 const char *by, struct item *it, struct sg_trusted_extra *x)
{
	json_t *args = r->args;
	int rc;

	if (!json_is_object(el))
		return sgd_req_fail(r, SGD_E_INVALID, "approvals", "element %zu is not an object",
				    i);
	r->args = el;
	rc = check_element_keys(r, el) || sgd_trust_parse_entry(r, now, &it->t, x);
	r->args = args;
	if (rc)
		return element_fail(r, i, el);
	x->created_by = (char *)by;
	it->index = i;
	return 0;
}

/* Duplicates in the batch, then conflicts with the policy in force.
 * Marks the elements already in force unchanged (origin POLICY: a value
 * an element never has otherwise).  Returns the number unchanged, or -1. */
static long check_batch(struct sgd_req *r, struct item *items, size_t n)
{
	const struct sg_policy *p = &r->d->policy;
	char text[SG_PREFIX_STRLEN];
	size_t *idx, unchanged = 0;

	qsort(items, n, sizeof(*items), item_cmp);
	for (size_t k = 1; k < n; k++) {
		if (!sg_prefix_equal(&items[k].t.prefix, &items[k - 1].t.prefix))
			continue;
		sg_prefix_format(&items[k].t.prefix, text, sizeof(text));
		return sgd_req_fail(r, SGD_E_INVALID, "approvals", "elements %zu and %zu are both "
				    "for %s", items[k - 1].index, items[k].index, text);
	}
	if (!(idx = sorted_index(p)))
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	for (size_t k = 0; k < n; k++) {
		const struct sg_trusted_entry *old = find(p, idx, &items[k].t.prefix);

		if (!old)
			continue;
		if (same_approval(old, &items[k].t)) {
			items[k].t.origin = SG_ORIGIN_POLICY;
			unchanged++;
			continue;
		}
		free(idx);
		sg_prefix_format(&items[k].t.prefix, text, sizeof(text));
		return sgd_req_fail(r, SGD_E_CONFLICT, "approvals", "element %zu (%s): already "
				    "trusted (%s, ticket %s)%s", items[k].index, text,
				    old->origin == SG_ORIGIN_APPROVAL ? "an approval" : "policy.json",
				    old->ticket ? old->ticket : "?",
				    old->origin == SG_ORIGIN_APPROVAL ? " with other values" : "");
	}
	free(idx);
	if (p->n_trusted + (n - unchanged) > SG_MAX_TRUSTED)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "the policy has %zu trusted entries: "
				    "%zu more would pass the limit of %d", p->n_trusted,
				    n - unchanged, SG_MAX_TRUSTED);
	return (long)unchanged;
}

/* ---- step 2: the records ------------------------------------------------ */

static int audit_batch(struct sgd_req *r, json_t *arr, const struct item *items, size_t n)
{
	struct sgd_audit *a = calloc(n ? n : 1, sizeof(*a));
	size_t m = 0;
	int rc;

	if (!a)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	for (size_t k = 0; k < n; k++) {
		if (items[k].t.origin != SG_ORIGIN_APPROVAL)
			continue;
		a[m] = (struct sgd_audit){
			.uid = r->peer->uid,
			.user = r->peer->user,
			.command = r->command,
			.ticket = items[k].t.ticket,
			.result = "ok",
			/* shared with the request, not copied: the record
			 * only reads it (100,000 copies cost a tenth of the
			 * import) */
			.args = json_incref(json_array_get(arr, items[k].index)),
		};
		m++;
	}
	rc = sgd_audit_batch_mark(r->d, a, m, &r->audit_mark);
	free(a);
	if (rc)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "the audit log cannot be written (%s), "
				    "so nothing was imported", strerror(-rc));
	r->audited = true;
	r->audited_batch = true;
	return 0;
}

/* ---- steps 3 to 5 ------------------------------------------------------- */

/* Takes the first n new approvals back out of the data plane. */
static int dp_undo(struct sgd *d, const struct item *items, size_t n, struct sg_err *err)
{
	bool failed = false;

	for (size_t k = 0; k < n; k++)
		if (items[k].t.origin == SG_ORIGIN_APPROVAL &&
		    sg_dp_trust_del(d->dp, &items[k].t.prefix, NULL))
			failed = true;
	return failed ? sgd_trust_resync(d, "trust.import", err) : 0;
}

static int apply(struct sgd_req *r, const struct item *items, size_t n, size_t added)
{
	struct sgd *d = r->d;
	struct sg_err err = { 0 }, undo = { 0 };
	size_t first = d->policy.n_trusted, hosts = 0, nets = 0, k;
	int rc = 0;

	for (k = 0; k < n; k++)
		if (items[k].t.origin == SG_ORIGIN_APPROVAL)
			*(sg_prefix_is_host(&items[k].t.prefix) ? &hosts : &nets) += 1;
	/* One table copy for the batch, if any, not one per doubling. */
	if (sg_dp_trust_reserve(d->dp, hosts, nets, &err))
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "data plane: %s", err.msg);
	for (k = 0; k < n; k++) {
		if (items[k].t.origin != SG_ORIGIN_APPROVAL)
			continue;
		if (sg_dp_trust_put(d->dp, &items[k].t, &err))
			break;
	}
	if (k < n) {
		rc = dp_undo(d, items, k, &undo);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "data plane: %s%s%s", err.msg,
				    rc ? "; and undoing it failed: " : "", rc ? undo.msg : "");
	}
	for (k = 0; k < n; k++) {
		if (items[k].t.origin != SG_ORIGIN_APPROVAL)
			continue;
		if (sg_policy_add_trusted(&d->policy, &items[k].t))
			break;
	}
	if (k == n)
		rc = sgd_save_approvals_added(d, &d->policy.trusted[first], added, &err);
	if (k < n || (rc && rc != SG_SAVED_NOT_DURABLE)) {
		while (d->policy.n_trusted > first)
			sg_policy_remove_trusted(&d->policy, d->policy.n_trusted - 1);
		rc = dp_undo(d, items, n, &undo);
		sgd_snapshot_policy(d);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "%s%s%s%s",
				    k < n ? "out of memory" : "cannot save the approvals, so none "
				    "was imported: ", k < n ? "" : err.msg,
				    rc ? "; and the data plane could not be put back: " : "",
				    rc ? undo.msg : "");
	}
	if (rc == SG_SAVED_NOT_DURABLE)
		sgd_req_warn(r, "the approvals are made and in approvals.json, but may not survive "
			     "a power loss: %s", err.msg);
	sgd_snapshot_policy(d);
	return 0;
}

int sgd_cmd_trust_import(struct sgd_req *r)
{
	struct sgd *d = r->d;
	json_t *arr = json_object_get(r->args, "approvals");
	long long now = (long long)time(NULL);
	char by[SG_CREATED_BY_MAX];
	struct item *items;
	/* Apart from items, which get sorted: an item's entry points to
	 * its element's. */
	struct sg_trusted_extra *extras;
	size_t n = json_array_size(arr);
	long unchanged;
	json_t *result;

	if (!json_is_array(arr))
		return sgd_req_fail(r, SGD_E_INVALID, "approvals", arr ? "must be an array of "
				    "approvals" : "is required");
	if (n > SG_MAX_TRUSTED)
		return sgd_req_fail(r, SGD_E_INVALID, "approvals", "%zu approvals: more than the "
				    "limit of %d trusted entries", n, SG_MAX_TRUSTED);
	if (d->store)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "this gateway keeps its approvals in "
				    "the fleet store: import them with `smtpgatectl store import`");
	items = calloc(n ? n : 1, sizeof(*items));
	extras = calloc(n ? n : 1, sizeof(*extras));
	if (!items || !extras) {
		free(items);
		free(extras);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	}
	snprintf(by, sizeof(by), "%s (uid %u)", r->peer->user, (unsigned)r->peer->uid);
	for (size_t i = 0; i < n; i++) {
		if (parse_element(r, json_array_get(arr, i), i, now, by, &items[i], &extras[i])) {
			free(items);
			free(extras);
			return -1;
		}
	}
	unchanged = check_batch(r, items, n);
	if (unchanged < 0 || audit_batch(r, arr, items, n) ||
	    apply(r, items, n, n - (size_t)unchanged)) {
		free(items);
		free(extras);
		return -1;
	}
	free(items);
	free(extras);
	sgd_info("control: trust.import by %s: %zu approvals imported, %ld unchanged", by,
		 n - (size_t)unchanged, unchanged);
	result = json_pack("{s:I, s:I}", "imported", (json_int_t)(n - (size_t)unchanged),
			   "unchanged", (json_int_t)unchanged);
	return sgd_req_ok(r, result);
}
