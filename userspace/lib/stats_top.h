/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The choice of the top sources as a table is read (stats_top.c), for
 * stats_snapshot.c: in O(top_n) memory whatever a spoofed flood put in
 * the table, two bounded heaps, one by total packets and, if asked, one
 * by non-pass packets.  Ties go to the lower address, so the choice is
 * stable across reads; a source with nothing to rank by is never chosen.
 */
#ifndef SG_STATS_TOP_H
#define SG_STATS_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "stats_snapshot.h"

/* A min-heap of the `cap` best sources by score: the root is the worst
 * one kept, so a newcomer only has to beat it. */
struct sg_stats_top_heap {
	struct sg_stats_source *e;
	size_t n, cap;
	uint64_t (*score)(const struct sg_stats_source *s);
};

struct sg_stats_top {
	struct sg_stats_top_heap by_total, by_blocked;
	uint64_t seen;                  /* sources offered */
};

/* -ENOMEM, or 0; top_n 0 chooses nothing (sources are still counted). */
int sg_stats_top_init(struct sg_stats_top *t, unsigned top_n, bool blocked);
void sg_stats_top_offer(struct sg_stats_top *t, const struct sg_stats_source *s);
/* Both lists into out (room for 2 * top_n, or top_n without `blocked`),
 * deduplicated, largest total first; frees the heaps; returns how many. */
size_t sg_stats_top_finish(struct sg_stats_top *t, struct sg_stats_source *out);
void sg_stats_top_free(struct sg_stats_top *t);

#endif
