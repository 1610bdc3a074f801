/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Snapshots of the per-source statistics (sg_sources, with what the
 * write-combining caches still hold: sg_dp_source_foreach) and the exact
 * difference a packet must make to them: its source's packets of its
 * verdict; for a pass, its IP bytes and its connection; for a drop or a
 * reject, one blocked packet of its reason; nothing else, for no other
 * source.
 */
#ifndef SG_TEST_SRC_SNAP_H
#define SG_TEST_SRC_SNAP_H

#include <stddef.h>
#include <stdint.h>
#include "dataplane.h"

struct src_row {
	struct sg_addr addr;
	struct sg_source_stats s;
};

struct src_snap {
	struct src_row *v;
	size_t n, cap;
};

/* Reads every source into snap (freed first), or bails. */
void src_snap_take(struct sg_dp *dp, struct src_snap *snap);
void src_snap_free(struct src_snap *snap);

/* What one packet of verdict/reason with bytes and conns adds to its
 * source (verdict < 0: not governed, nothing). */
void src_expect_one(struct sg_source_stats *want, int verdict, int reason, uint64_t bytes,
		    uint64_t conns);

/* NULL if after = before + want for src (src NULL: nothing may move)
 * and every other source is unchanged; else what is off, in a static
 * buffer. */
const char *src_snap_delta_error(const struct src_snap *before, const struct src_snap *after,
				 const struct sg_addr *src, const struct sg_source_stats *want);

/* NULL if after = before + want, for one source; else what it moved and
 * what it should have, in a static buffer. */
const char *src_one_delta_error(const struct sg_source_stats *before,
				const struct sg_source_stats *after,
				const struct sg_source_stats *want);

/* "pass 1 drop 0 ... conns 1 bytes 60 rate_limited 1" (fields not 0). */
const char *src_stats_text(const struct sg_source_stats *s, char *buf, size_t len);

#endif
