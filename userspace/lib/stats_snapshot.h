/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One read of what the kernel counts, as a plain struct, for every view
 * of it: the Prometheus text (metrics_text.h), the JSON of the control
 * protocol's "stats" and "status" (stats_json.h), smtpgatectl stats
 * --pin-dir (the same JSON with the daemon down).  The maps are walked
 * here only, and the top sources chosen by one function, so the views
 * cannot drift apart.
 *
 * Collecting makes syscalls only (no daemon state, no locks): any thread
 * may do it.  Rendering a snapshot makes none.
 */
#ifndef SG_STATS_SNAPSHOT_H
#define SG_STATS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "config.h"
#include "dataplane.h"

/* One attachment (interface and hook) and its counters. */
struct sg_stats_attachment {
	char ifname[SG_IFNAME_MAX];
	int hook;               /* enum sg_hook */
	const char *mode;       /* "native", "generic", or "" (TC; XDP never attached) */
	bool attached;          /* the program is in place now */
	bool has_slot;          /* has a counter slot (was attached at least once) */
	struct sg_counter c[SG_V_COUNT][SG_R_COUNT];
};

/* One source of the per-source statistics: packets per verdict; new
 * connections and bytes passed; blocked packets per reason. */
struct sg_stats_source {
	struct sg_addr addr;
	char text[SG_PREFIX_STRLEN];    /* addr formatted, for chosen sources only */
	uint64_t packets[SG_V_COUNT];
	uint64_t conns, bytes;
	uint64_t blocked[SG_SRC_BLOCK_REASONS];
};

/* What to read beyond the attachments and global figures. */
struct sg_stats_opts {
	/* Configured attachments: one that has no counter slot yet (the
	 * interface absent since start) is still listed, as not attached,
	 * so an alert sees it.  NULL: only what the data plane recorded. */
	const struct sg_iface_cfg *ifaces;
	size_t n_ifaces;
	/* Walk the per-source table (it can hold 131072 sources). */
	bool sources;
	/* The top_n sources with the most packets are kept (0: none, the
	 * table is still counted)... */
	unsigned top_n;
	/* ...together with the top_n with the most non-pass packets (drop,
	 * reject, monitor), so blocked sources show even where trusted
	 * traffic dominates. */
	bool top_blocked;
	/* Add what the per-CPU write-combining caches hold but have not yet
	 * flushed into the table.  A person reading the figures now wants
	 * every packet; a Prometheus counter must never go down, and a flush
	 * between reading the caches and the table counts a few packets
	 * twice for a moment, so /metrics leaves the caches out. */
	bool add_cached;
};

struct sg_stats_snapshot {
	struct sg_stats_attachment *attach;
	size_t n_attach;
	/* The chosen sources (see struct sg_stats_opts), ordered by total
	 * packets, largest first, equal totals by address. */
	struct sg_stats_source *sources;
	size_t n_sources;
	bool sources_read;              /* opts.sources was asked */
	uint64_t sources_tracked;       /* entries in the per-source table */
	uint64_t stats[SG_STAT_COUNT];  /* enum sg_stat */
	uint64_t bans_active;           /* bans in force (not yet expired) */
	uint64_t bans_auto_active;      /* of which made by the data plane */
	int mode;                       /* enum sg_mode; -1: no policy yet */
	uint64_t generation;            /* of the active policy; 0: none */
	struct sg_map_memory maps[SG_MAX_MAPS]; /* kernel memory per map */
	int n_maps;
	uint64_t maps_total;            /* of every map, even past SG_MAX_MAPS */
	double collect_seconds;         /* how long sg_stats_collect() took */
};

/* Reads the kernel's state into s (zeroed first).  Returns 0 or -errno;
 * on error s holds nothing to free. */
int sg_stats_collect(struct sg_dp *dp, const struct sg_stats_opts *opts,
		     struct sg_stats_snapshot *s);

/* Frees what collect allocated. */
void sg_stats_snapshot_free(struct sg_stats_snapshot *s);

/* Packets per verdict over every attachment. */
void sg_stats_verdict_totals(const struct sg_stats_snapshot *s, uint64_t totals[SG_V_COUNT]);

/* ---- choosing the top sources (stats_top.c) ---- */

uint64_t sg_stats_source_total(const struct sg_stats_source *s);

/* The choice sg_stats_collect makes while it reads the table, over an
 * array, for tests and the benchmark: the top_n of src[0..n) by total
 * packets and the top_n by non-pass packets (ties: the lower address;
 * a source with nothing to rank by is never chosen) into out (room for
 * 2 * top_n), deduplicated, largest total first; returns how many. */
size_t sg_stats_select_sources(const struct sg_stats_source *src, size_t n, unsigned top_n,
			       struct sg_stats_source *out);

#endif
