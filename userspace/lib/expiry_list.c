// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The metrics' list of expiries (expiry_list.h).  A pass picks the
 * soonest by (expires, place in the policy): ties go to the earlier
 * entry.  The list keeps no places, but it does not need them for a
 * single change:
 *
 *   - an appended entry is the last of all, so it loses every tie: it
 *     joins a list with room, or replaces the one latest-expiring item
 *     if it expires strictly sooner (two items at that latest expiry:
 *     which of them is later in the policy is not known, so build anew);
 *   - a removed entry that is not listed changes nothing listed (the
 *     others keep their order); a listed one leaves, exactly, when the
 *     list held every expiring entry; otherwise the next one in line is
 *     not known, so build anew.
 *
 * A prefix listed twice (an approval and the policy.json entry that
 * shadows it, both expiring) is ambiguous for a removal: build anew.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "expiry_list.h"
#include "expiry_pick.h"

void sg_expiry_list_free(struct sg_expiry_list *l)
{
	free(l->items);
	free(l->text);
	memset(l, 0, sizeof(*l));
}

/* Room for n items and len bytes of tickets.  0 or -ENOMEM. */
static int list_alloc(struct sg_expiry_list *l, size_t n, size_t len)
{
	memset(l, 0, sizeof(*l));
	if (len > UINT32_MAX)
		return -ENOMEM;
	l->items = calloc(n ? n : 1, sizeof(*l->items));
	l->text = malloc(len ? len : 1);
	if (!l->items || !l->text) {
		sg_expiry_list_free(l);
		return -ENOMEM;
	}
	return 0;
}

/* Appends an item (room was made for it). */
static void list_put(struct sg_expiry_list *l, const struct sg_prefix *prefix, int64_t expires,
		     const char *ticket)
{
	size_t tl = strlen(ticket) + 1;

	l->items[l->n].prefix = *prefix;
	l->items[l->n].ticket = (uint32_t)l->text_len;
	l->items[l->n].expires = expires;
	memcpy(l->text + l->text_len, ticket, tl);
	l->text_len += tl;
	l->n++;
}

int sg_expiry_list_build(struct sg_expiry_list *out, const struct sg_policy *p, size_t max)
{
	size_t *pick, n, len = 0, n_expiring;

	if (max > p->n_trusted)
		max = p->n_trusted;
	memset(out, 0, sizeof(*out));
	pick = malloc((max ? max : 1) * sizeof(*pick));
	if (!pick)
		return -ENOMEM;
	n = sg_expiry_pick(p, max, pick, &n_expiring);
	for (size_t k = 0; k < n; k++) {
		const char *ticket = p->trusted[pick[k]].ticket;

		len += (ticket ? strlen(ticket) : 0) + 1;
	}
	if (list_alloc(out, n, len)) {
		free(pick);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		const struct sg_trusted_entry *t = &p->trusted[pick[k]];

		list_put(out, &t->prefix, t->expires, t->ticket ? t->ticket : "");
	}
	out->n_expiring = n_expiring;
	out->valid = true;
	free(pick);
	return 0;
}

/* *out = cur without item skip (SIZE_MAX: none), with t's item added
 * (t NULL: none).  0 or -ENOMEM. */
static int list_edit(struct sg_expiry_list *out, const struct sg_expiry_list *cur, size_t skip,
		     const struct sg_trusted_entry *t)
{
	const char *ticket = t && t->ticket ? t->ticket : "";
	size_t n = cur->n + (t ? 1 : 0) - (skip < cur->n ? 1 : 0);
	size_t len = cur->text_len + (t ? strlen(ticket) + 1 : 0);

	if (list_alloc(out, n, len))
		return -ENOMEM;
	for (size_t k = 0; k < cur->n; k++)
		if (k != skip)
			list_put(out, &cur->items[k].prefix, cur->items[k].expires,
				 cur->text + cur->items[k].ticket);
	if (t)
		list_put(out, &t->prefix, t->expires, ticket);
	out->valid = true;
	return 0;
}

int sg_expiry_list_appended(struct sg_expiry_list *out, const struct sg_expiry_list *cur,
			    const struct sg_trusted_entry *t, size_t max)
{
	size_t latest = SIZE_MAX, at_latest = 0;
	int rc;

	if (!t->expires || !cur->valid)
		return SG_EXPIRY_REBUILD;
	if (cur->n < max) {
		/* Room: the list held every expiring entry, and now this too. */
		rc = list_edit(out, cur, SIZE_MAX, t);
		out->n_expiring = cur->n_expiring + 1;
		return rc;
	}
	for (size_t k = 0; k < cur->n; k++) {
		if (latest == SIZE_MAX || cur->items[k].expires > cur->items[latest].expires) {
			latest = k;
			at_latest = 1;
		} else if (cur->items[k].expires == cur->items[latest].expires) {
			at_latest++;
		}
	}
	/* Full (or max 0): the newcomer, last in the policy, loses ties. */
	if (latest == SIZE_MAX || t->expires >= cur->items[latest].expires)
		return SG_EXPIRY_KEEP;
	if (at_latest > 1)
		return SG_EXPIRY_REBUILD;
	rc = list_edit(out, cur, latest, t);
	out->n_expiring = cur->n_expiring + 1;
	return rc;
}

int sg_expiry_list_removed(struct sg_expiry_list *out, const struct sg_expiry_list *cur,
			   const struct sg_prefix *prefix, int64_t expires)
{
	size_t found = SIZE_MAX;
	int rc;

	if (!expires || !cur->valid || !cur->n_expiring)
		return SG_EXPIRY_REBUILD;
	for (size_t k = 0; k < cur->n; k++) {
		if (!sg_prefix_equal(&cur->items[k].prefix, prefix))
			continue;
		if (found != SIZE_MAX)
			return SG_EXPIRY_REBUILD;
		found = k;
	}
	if (found == SIZE_MAX)
		/* Listed or not, an entry of this prefix would have been
		 * found if the list held every expiring entry. */
		return cur->n < cur->n_expiring ? SG_EXPIRY_KEEP : SG_EXPIRY_REBUILD;
	if (cur->items[found].expires != expires || cur->n < cur->n_expiring)
		return SG_EXPIRY_REBUILD;
	rc = list_edit(out, cur, found, NULL);
	out->n_expiring = cur->n_expiring - 1;
	return rc;
}
