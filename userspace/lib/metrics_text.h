/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Prometheus text exposition of smtpgate's state, in two steps:
 *
 *   collect  read what the kernel holds (per-CPU counters of every
 *            attachment, global stats, the top sources, bans, the active
 *            policy's mode and generation) into a statistics snapshot
 *            (stats_snapshot.h), with syscalls only, so any thread may
 *            do it;
 *   render   print it, plus what the caller adds from its own state
 *            (trusted entries, reload history, expiries), as the text
 *            format.  Pure: no syscalls, no daemon.
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
#include "stats_snapshot.h"


/* One trusted entry's expiry. */
/* One trusted entry's expiry; the ticket lives as long as the snapshot
 * (in its expiry_text, or the caller's). */
struct sg_mt_expiry {
	struct sg_prefix prefix;
	const char *ticket;
	int64_t expires;        /* unix seconds */
};

struct sg_mt_snapshot {
	/* Collected from the kernel by sg_mt_collect().  Its sources: the
	 * top_n with the most packets, together with the top_n with the most
	 * non-pass packets (drop, reject, monitor), so blocked sources show
	 * even where trusted traffic dominates. */
	struct sg_stats_snapshot kernel;

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
	size_t n_expiring;              /* entries with an expiry, listed or not */
	char *expiry_text;              /* the tickets they point to (freed with it), or NULL */
	char policy_sha256[65];         /* of policy.json in force; "": not shown */
	/* The fleet store (docs/fleet.md); not shown unless configured. */
	struct {
		bool configured, up;
		int64_t revision;       /* applied on this gateway */
		int64_t last_sync;      /* unix seconds; 0: never */
		uint64_t refused, failovers, reconnects;
	} store;
};

/* Reads the kernel's state into s (zeroed first).  `ifaces` are the
 * configured attachments: one that has no counter slot yet (interface
 * absent since start) is still listed, as not attached, so an alert sees
 * it.  top_n bounds the sources (see above); 0 leaves them out (they are
 * still counted).  The write-combining caches are left out, so that
 * counters never go down.  Returns 0 or -errno; on error s holds nothing
 * to free. */
int sg_mt_collect(struct sg_dp *dp, const struct sg_iface_cfg *ifaces, size_t n_ifaces,
		  unsigned top_n, struct sg_mt_snapshot *s);

/* Frees what collect allocated and the expiries. */
void sg_mt_snapshot_free(struct sg_mt_snapshot *s);

/* Writes the text format.  Returns 0, or -EIO if writing failed. */
int sg_mt_render(const struct sg_mt_snapshot *s, FILE *out);

/* Parts of sg_mt_render, each in its own file: metrics_sources.c, the
 * per-source series; metrics_fleet.c, smtpgate_policy_info and the fleet
 * store's metrics. */
void sg_mt_render_sources(const struct sg_mt_snapshot *s, FILE *out);
void sg_mt_render_fleet(const struct sg_mt_snapshot *s, FILE *out);

/* The # HELP and # TYPE lines that open a metric family. */
void sg_mt_family(FILE *out, const char *name, const char *type, const char *help);

/* Renders into a malloc'd buffer (NUL-terminated); *len without the NUL. */
int sg_mt_render_buffer(const struct sg_mt_snapshot *s, char **buf, size_t *len);

/* Writes a label value escaped per the text format (backslash, double
 * quote, newline), with bytes that are not valid UTF-8 replaced by '?':
 * Prometheus refuses a whole scrape over one invalid label value. */
void sg_mt_escape(FILE *out, const char *value);

#endif
