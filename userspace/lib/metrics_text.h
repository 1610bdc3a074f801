/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Prometheus text exposition of smtpgate's state, in two steps:
 *
 *   collect  read what the kernel holds (per-CPU counters of every
 *            attachment, global stats, the top sources, bans, the active
 *            policy's mode and generation) into a snapshot, with
 *            syscalls only, so any thread may do it;
 *   render   print a snapshot, plus what the caller adds from its own
 *            state (trusted entries, reload history, expiries), as the
 *            text format.  Pure: no syscalls, no daemon.
 *
 * smtpgated's metrics server (userspace/daemon/metrics.c) does both per
 * scrape; tests/bench/bench_scrape.c times both against full maps.  The
 * metrics themselves are documented in docs/metrics.md.
 */
#ifndef SG_METRICS_TEXT_H
#define SG_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "addr.h"
#include "config.h"
#include "dataplane.h"

#define SG_MT_TICKET_MAX 260 /* SG_TICKET_MAX UTF-8 characters, with room */

/* One attachment (interface and hook) as /metrics shows it. */
struct sg_mt_attachment {
	char ifname[SG_IFNAME_MAX];
	int hook;               /* enum sg_hook */
	const char *mode;       /* "native", "generic", or "" (TC; XDP never attached) */
	bool attached;          /* the program is in place now */
	bool has_slot;          /* has a counter slot (was attached at least once) */
	struct sg_counter c[SG_V_COUNT][SG_R_COUNT];
};

/* One source of the per-source statistics: packets per verdict; new
 * connections and bytes passed; blocked packets per reason. */
struct sg_mt_source {
	struct sg_addr addr;
	uint64_t packets[SG_V_COUNT];
	uint64_t conns, bytes;
	uint64_t blocked[SG_SRC_BLOCK_REASONS];
};

/* One trusted entry's expiry. */
struct sg_mt_expiry {
	char prefix[SG_PREFIX_STRLEN];
	char ticket[SG_MT_TICKET_MAX];
	int64_t expires;        /* unix seconds */
};

struct sg_mt_snapshot {
	/* ---- collected from the kernel by sg_mt_collect() ---- */
	struct sg_mt_attachment *attach;
	size_t n_attach;
	/* Top sources: the top_n with the most packets, together with the
	 * top_n with the most non-pass packets (drop, reject, monitor), so
	 * blocked sources show even where trusted traffic dominates.  At
	 * most 2 * top_n, ordered by total packets, largest first. */
	struct sg_mt_source *sources;
	size_t n_sources;
	uint64_t sources_tracked;       /* entries in the per-source table */
	uint64_t stats[SG_STAT_COUNT];  /* enum sg_stat */
	uint64_t bans_active;           /* bans in force (not yet expired) */
	uint64_t bans_auto_active;      /* of which made by the data plane */
	int mode;                       /* enum sg_mode; -1: no policy yet */
	uint64_t generation;            /* of the active policy; 0: none */
	struct sg_map_memory maps[SG_MAX_MAPS]; /* kernel memory per map */
	int n_maps;

	/* ---- filled by the caller (smtpgated: from its own state) ---- */
	const char *version;
	const char *libbpf_version;
	uint64_t trusted_prefixes;      /* entries given to the data plane */
	uint64_t approvals;             /* of the trusted entries, approvals */
	uint64_t reload_failures;
	uint64_t approvals_not_durable; /* approvals.json saves whose directory fsync failed */
	int64_t last_reload_success;    /* unix seconds; 0: never */
	bool reload_in_progress;        /* a reload runs off the loop now */
	uint64_t reload_last_ms;        /* how long the last reload took; 0: none yet */
	int64_t start_time;             /* unix seconds; 0: unknown (not shown) */
	uint64_t events_written;
	uint64_t events_write_failures;
	uint64_t audit_write_failures;
	uint64_t audit_refusals_suppressed;
	struct sg_mt_expiry *expiries;  /* owned by the snapshot (freed with it) */
	size_t n_expiries;
	char policy_sha256[65];         /* of policy.json in force; "": not shown */
	/* The fleet store (docs/fleet.md); not shown unless configured. */
	struct {
		bool configured, up;
		int64_t revision;       /* applied on this gateway */
		int64_t last_sync;      /* unix seconds; 0: never */
		uint64_t refused, failovers, reconnects;
	} store;

	double collect_seconds;         /* how long sg_mt_collect() took */
};

/* Reads the kernel's state into s (zeroed first).  `ifaces` are the
 * configured attachments: one that has no counter slot yet (interface
 * absent since start) is still listed, as not attached, so an alert sees
 * it.  top_n bounds the sources (see above); 0 leaves them out.  Returns
 * 0 or -errno; on error s holds nothing to free. */
int sg_mt_collect(struct sg_dp *dp, const struct sg_iface_cfg *ifaces, size_t n_ifaces,
		  unsigned top_n, struct sg_mt_snapshot *s);

/* Frees what collect allocated and the expiries. */
void sg_mt_snapshot_free(struct sg_mt_snapshot *s);

/* Writes the text format.  Returns 0, or -EIO if writing failed. */
int sg_mt_render(const struct sg_mt_snapshot *s, FILE *out);

/* metrics_fleet.c: smtpgate_policy_info and the fleet store's metrics. */
void sg_mt_render_fleet(const struct sg_mt_snapshot *s, FILE *out);

/* Renders into a malloc'd buffer (NUL-terminated); *len without the NUL. */
int sg_mt_render_buffer(const struct sg_mt_snapshot *s, char **buf, size_t *len);

/* Writes a label value escaped per the text format (backslash, double
 * quote, newline), with bytes that are not valid UTF-8 replaced by '?':
 * Prometheus refuses a whole scrape over one invalid label value. */
void sg_mt_escape(FILE *out, const char *value);

/* The selection of the top sources, for tests and the benchmark: keeps the
 * top_n entries of src[0..n) by total packets and the top_n by non-pass
 * packets (ties: lower address first, so the choice is stable across
 * scrapes), writes them (deduplicated, largest total first) to out,
 * which has room for 2 * top_n, and returns how many. */
size_t sg_mt_select_sources(const struct sg_mt_source *src, size_t n, unsigned top_n,
			    struct sg_mt_source *out);

#endif
