// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "strpool.h"
#include "trusted_entry.h"

/* The daemon's memory at SG_MAX_TRUSTED entries depends on it
 * (docs/architecture.md). */
_Static_assert(sizeof(void *) != 8 || sizeof(struct sg_trusted_entry) == 64,
	       "sg_trusted_entry: 64 bytes, no holes");

static bool has_extra(const struct sg_trusted_extra *x)
{
	return x && (x->created || x->contact || x->note || x->created_by);
}

void sg_trusted_entry_free(struct sg_trusted_entry *t)
{
	struct sg_trusted_extra *x = t->extra;

	if (!t->pooled) {
		free(t->ticket);
		free(t->owner);
		if (x) {
			free(x->contact);
			free(x->note);
			free(x->created_by);
			free(x);
		}
	}
	/* A pooled entry's are the policy's pool's. */
	t->ticket = t->owner = NULL;
	t->extra = NULL;
}

static char *dup_or_null(const char *s, bool *bad)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*bad = true;
	return d;
}

int sg_trusted_entry_copy(struct sg_trusted_entry *dst, const struct sg_trusted_entry *src)
{
	const struct sg_trusted_extra *sx = src->extra;
	struct sg_trusted_entry e = *src;
	bool bad = false;

	e.pooled = 0;
	e.extra = NULL;
	e.ticket = dup_or_null(src->ticket, &bad);
	e.owner = dup_or_null(src->owner, &bad);
	if (has_extra(sx) && (e.extra = malloc(sizeof(*e.extra)))) {
		e.extra->created = sx->created;
		e.extra->contact = dup_or_null(sx->contact, &bad);
		e.extra->note = dup_or_null(sx->note, &bad);
		e.extra->created_by = dup_or_null(sx->created_by, &bad);
	} else if (has_extra(sx)) {
		bad = true;
	}
	if (bad) {
		sg_trusted_entry_free(&e);
		return -ENOMEM;
	}
	*dst = e;
	return 0;
}

static int pool_copy(struct sg_strpool *sp, char **s)
{
	if (*s && !(*s = sg_strpool_add(sp, *s)))
		return -ENOMEM;
	return 0;
}

int sg_trusted_entry_copy_pooled(struct sg_trusted_entry *dst, const struct sg_trusted_entry *src,
				 struct sg_strpool *sp)
{
	const struct sg_trusted_extra *sx = src->extra;
	struct sg_trusted_entry e = *src;
	struct sg_trusted_extra *x = NULL;

	if (has_extra(sx)) {
		x = sg_strpool_alloc(sp, sizeof(*x));
		if (!x)
			return -ENOMEM;
		*x = *sx;
		if (pool_copy(sp, &x->contact) || pool_copy(sp, &x->note) ||
		    pool_copy(sp, &x->created_by))
			return -ENOMEM;
	}
	if (pool_copy(sp, &e.ticket) || pool_copy(sp, &e.owner))
		return -ENOMEM;
	e.extra = x;
	e.pooled = 1;
	*dst = e;
	return 0;
}
