/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A map from prefix to a small number (below 2^24): the data plane
 * handle's index of which bucket slot each trusted prefix of the active
 * generation owns.  20 bytes a slot at most 3/4 full, about 27 bytes a
 * prefix, where a tsearch tree took about 64 (a malloc'd node and a tree
 * node each) and a reload holds two of them.
 */
#ifndef SG_PREFIX_MAP_H
#define SG_PREFIX_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"

#define SG_PREFIX_MAP_VALUE_MAX 0xffffffu

struct sg_prefix_map;

/* Sized for n prefixes (it grows beyond).  NULL when out of memory. */
struct sg_prefix_map *sg_prefix_map_new(size_t n);
void sg_prefix_map_free(struct sg_prefix_map *m);
/* 0, -EEXIST (the prefix is there; its value is left), -ENOMEM, or
 * -ERANGE for a value above SG_PREFIX_MAP_VALUE_MAX. */
int sg_prefix_map_add(struct sg_prefix_map *m, const struct sg_prefix *p, uint32_t value);
/* Replaces the value of p, which must be there: 0, -ENOENT or -ERANGE. */
int sg_prefix_map_set(struct sg_prefix_map *m, const struct sg_prefix *p, uint32_t value);
/* Starts fetching into the cache the part of the table where p would
 * be, for a lookup of p a few steps later (m may be NULL). */
void sg_prefix_map_prefetch(const struct sg_prefix_map *m, const struct sg_prefix *p);
/* The value of p, or -1. */
long sg_prefix_map_get(const struct sg_prefix_map *m, const struct sg_prefix *p);
void sg_prefix_map_del(struct sg_prefix_map *m, const struct sg_prefix *p);
/* Deletes every prefix whose value keep() refuses, in one pass over the
 * table: a reload drops the entries it removes from the running index
 * instead of building a second one.  The number deleted. */
size_t sg_prefix_map_retain(struct sg_prefix_map *m, bool (*keep)(uint32_t value, void *ctx),
			    void *ctx);
/* Room for n more prefixes without growing on the way: 0 or -ENOMEM
 * (nothing changed). */
int sg_prefix_map_reserve(struct sg_prefix_map *m, size_t n);
/* Gives memory back when the table is half as large again as it needs
 * (grown by doubling, or after many deletions); best effort. */
void sg_prefix_map_fit(struct sg_prefix_map *m);
/* Down to the size for what it holds, whenever it is larger: after
 * filling a table sized for an upper bound.  Best effort. */
void sg_prefix_map_shrink(struct sg_prefix_map *m);
size_t sg_prefix_map_size(const struct sg_prefix_map *m);
/* Calls cb for every (prefix, value) in no particular order, until it
 * returns non-zero (which is returned).  The map must not change meanwhile. */
int sg_prefix_map_foreach(const struct sg_prefix_map *m,
			  int (*cb)(const struct sg_prefix *p, uint32_t value, void *ctx),
			  void *ctx);

#endif
