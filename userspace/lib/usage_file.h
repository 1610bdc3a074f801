/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The usage history: one file per UTC day, <state_dir>/usage/YYYY-MM-DD.json,
 * holding what the data plane counted that day.  smtpgated writes them
 * (userspace/daemon/usage_history.c), smtpgatectl report reads them, so
 * the format lives here, in one place.
 *
 * A day is the exact totals of the counters (per verdict and reason:
 * packets, bytes, connections) and, per source, what the data plane's
 * per-source table counted (struct sg_source_stats: packets per verdict;
 * connections and bytes passed; blocked packets per reason) for the
 * sources that sent most and those blocked most (at most 2 x top; the
 * rest are summed in "other", so the sources add up to the totals'
 * packets of attributed traffic).  The file also carries the counter
 * values it was computed against (the baseline), so a restarted daemon
 * counts on from where the last write left off.
 *
 * Version 2 added the per-source connections, bytes and blocked packets
 * per reason.  A version 1 file still reads: its sources have packets
 * only, and source_detail is false, so that readers say the detail is
 * missing for that day instead of showing zeros.  A day counted partly
 * before an upgrade (today's version 1 file resumed by a version 2
 * daemon) keeps source_detail false too.
 */
#ifndef SG_USAGE_FILE_H
#define SG_USAGE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <smtpgate/abi.h>
#include "err.h"

#define SG_USAGE_VERSION 2
/* The oldest version still read. */
#define SG_USAGE_VERSION_MIN 1
#define SG_USAGE_DIR "usage"
/* "YYYY-MM-DD" and its NUL. */
#define SG_DAY_STRLEN 11
#define SG_DAY_SEC 86400
#define SG_DEFAULT_RETENTION_DAYS 400
#define SG_MAX_RETENTION_DAYS 36500
#define SG_DEFAULT_HISTORY_TOP 100
/* A day file larger than this is not one smtpgated wrote. */
#define SG_USAGE_FILE_MAX (4u << 20)

struct sg_usage_src {
	struct sg_addr addr;
	struct sg_source_stats c;  /* summed over CPUs */
};

/* One counter cell as last read, by attachment slot. */
struct sg_usage_base {
	uint32_t slot, verdict, reason;
	struct sg_counter c;
};

struct sg_usage_day {
	int64_t day;                               /* unix seconds of 00:00 UTC */
	int64_t updated;                           /* unix seconds of the last write */
	struct sg_counter totals[SG_V_COUNT][SG_R_COUNT];
	struct sg_usage_src *src;                  /* sources kept */
	size_t n_src, cap_src;
	struct sg_source_stats other;              /* sources not kept, summed */
	uint64_t sources_seen;                     /* distinct sources counted */
	/* Per-source connections, bytes and blocked reasons are known for
	 * the whole day (false: a version 1 file; only packets are). */
	bool source_detail;
	struct sg_usage_base *base;                /* counters as last read */
	size_t n_base;
	bool has_base;
};

/* The day (00:00 UTC, unix seconds) that t falls in. */
int64_t sg_usage_day_start(int64_t t);
/* "YYYY-MM-DD" of day. */
void sg_usage_day_format(int64_t day, char *buf, size_t len);
/* "YYYY-MM-DD" -> 00:00 UTC of it; -EINVAL if not a valid date. */
int sg_usage_day_parse(const char *s, int64_t *day);

/* Appends a source with counts c to the day. */
int sg_usage_add_source(struct sg_usage_day *u, const struct sg_addr *src,
			const struct sg_source_stats *c);
/* *sum += c, field by field. */
void sg_usage_stats_add(struct sg_source_stats *sum, const struct sg_source_stats *c);
/* Blocked packets of c (dropped or rejected). */
uint64_t sg_usage_blocked(const struct sg_source_stats *c);
void sg_usage_day_free(struct sg_usage_day *u);

/* Writes the day to <dir>/YYYY-MM-DD.json atomically (sg_file_replace),
 * keeping the top sources by passed and by blocked packets.  0,
 * SG_SAVED_NOT_DURABLE or -errno, with err. */
int sg_usage_write(const char *dir, const struct sg_usage_day *u, unsigned top,
		   struct sg_err *err);
/* Reads a day file (a fd already open, name for messages).  0, or
 * -errno with the reason in err (a damaged file is -EINVAL). */
int sg_usage_read_fd(int fd, const char *name, struct sg_usage_day *u, struct sg_err *err);
int sg_usage_read(const char *path, struct sg_usage_day *u, struct sg_err *err);

/* The days of the usage files in dir from `from` to `to` (inclusive, day
 * starts), sorted, in *days (malloc'd).  Names that are not day files are
 * ignored.  0 or -errno with err (-ENOENT: no such dir). */
int sg_usage_list(const char *dir, int64_t from, int64_t to, int64_t **days, size_t *n,
		  struct sg_err *err);
/* Removes the day files older than keep_days before today; returns how
 * many were removed, or -errno with err. */
int sg_usage_prune(const char *dir, int64_t today, unsigned keep_days, struct sg_err *err);

#endif
