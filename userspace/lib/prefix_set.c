// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The counted set of prefixes, over the prefix map (prefix_map.c): a
 * prefix's value is how many times it is in the set.  One hash table
 * implementation serves both.
 */
#include <errno.h>
#include <stdlib.h>
#include "prefix_map.h"
#include "prefix_set.h"

struct sg_prefix_set {
	struct sg_prefix_map *counts;
};

struct sg_prefix_set *sg_prefix_set_new(size_t n)
{
	struct sg_prefix_set *s = calloc(1, sizeof(*s));

	if (s && !(s->counts = sg_prefix_map_new(n))) {
		free(s);
		return NULL;
	}
	return s;
}

void sg_prefix_set_free(struct sg_prefix_set *s)
{
	if (!s)
		return;
	sg_prefix_map_free(s->counts);
	free(s);
}

int sg_prefix_set_add(struct sg_prefix_set *s, const struct sg_prefix *p)
{
	long n = sg_prefix_map_get(s->counts, p);

	if (n < 0)
		return sg_prefix_map_add(s->counts, p, 1);
	/* A count past the map's values cannot happen: a policy has at
	 * most SG_MAX_TRUSTED entries. */
	return sg_prefix_map_set(s->counts, p, (uint32_t)n + 1) ? -ENOMEM : 0;
}

void sg_prefix_set_del(struct sg_prefix_set *s, const struct sg_prefix *p)
{
	long n = sg_prefix_map_get(s->counts, p);

	if (n > 1)
		sg_prefix_map_set(s->counts, p, (uint32_t)n - 1);
	else if (n == 1)
		sg_prefix_map_del(s->counts, p);
}

bool sg_prefix_set_has(const struct sg_prefix_set *s, const struct sg_prefix *p)
{
	return sg_prefix_map_get(s->counts, p) > 0;
}

size_t sg_prefix_set_size(const struct sg_prefix_set *s)
{
	return sg_prefix_map_size(s->counts);
}
