/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A statistics snapshot (stats_snapshot.h) as JSON: the "stats" result
 * of the control protocol, and the attachment list of "status".
 * smtpgated renders its own snapshots; smtpgatectl stats --pin-dir
 * renders one of the pinned maps when the daemon is down, so the two
 * documents cannot differ.  Pure: no syscalls.
 */
#ifndef SG_STATS_JSON_H
#define SG_STATS_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include "stats_snapshot.h"

/* [{"interface", "hook", "mode", "attached"[, "counters"]}], counters
 * being [{"verdict", "reason", "packets", "bytes", "connections"}] of the
 * pairs with packets.  NULL if out of memory. */
json_t *sg_stats_attachments_json(const struct sg_stats_snapshot *s, bool counters);

/* The "stats" result: {"attachments", "sources" (if they were read),
 * "data_plane"}; trusted: the number of trusted entries in force
 * (smtpgated gives its own copy, which a reload off its loop does not
 * change under it).  NULL if out of memory. */
json_t *sg_stats_json(const struct sg_stats_snapshot *s, long trusted);

#endif
