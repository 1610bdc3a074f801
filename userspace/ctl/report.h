/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * smtpgatectl report: the compliance evidence for a period, read from the
 * files smtpgated leaves (audit.jsonl and events.jsonl with their
 * rotations, approvals.json, the usage history), so it works the same
 * with the daemon up or down.
 *
 * The report is built as one JSON document (the --format json output);
 * the text, csv and html renderers read that document, so the four
 * formats cannot disagree.  One file per concern:
 *   report.c            options, paths, printing
 *   report_build.c      assembling the document (what the fuzz target runs)
 *   report_logs.c       reading the logs (rotated and gzip'd files too)
 *   report_approvals.c  approvals in force, changes, review findings
 *   report_bans.c       bans and top offenders
 *   report_usage.c      the usage history: months, senders, blocked
 *   report_state.c      mode and hooks in force, reload failures
 *   report_retention.c  do the logs cover the period?
 *   report_text.c, report_csv.c, report_html.c   the renderers
 */
#ifndef SGCTL_REPORT_H
#define SGCTL_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Days before the period's end within which an expiry is "soon". */
#define RPT_EXPIRING_SOON_SEC (30LL * 86400)
/* The daemon writes a state event at least daily: a longer silence in
 * events.jsonl is a hole (the log lost, or smtpgated not running). */
#define RPT_EVENTS_GAP_SEC (26LL * 3600)
/* Rows of top-N lists. */
#define RPT_TOP 10

struct rpt;
struct rpt_log;
/* Called for every record of a log (rec borrowed, t its time). */
typedef void (*rpt_record_fn)(struct rpt *r, struct rpt_log *log, json_t *rec, long long t);

/* One log (audit or events), all its files. */
struct rpt_log {
	const char *name;           /* "audit.jsonl" */
	rpt_record_fn on_record;
	json_t *records;            /* kept records (audit: all; events: state and bans),
				     * each with "_t" (unix seconds), oldest first */
	json_t *blocked;            /* events: {source: blocked packets in the period} */
	json_t *files;              /* the files read: [{"file", "records", "skipped"}] */
	long long *times;           /* every record's time, sorted (for holes) */
	size_t n_times, cap_times;
	long long earliest, latest; /* meaningful when n_records > 0 */
	size_t n_records, skipped;  /* records read; lines that are not records */
};

struct rpt {
	long long since, until;     /* [since, until) */
	long long review_age;       /* seconds */
	const char *state_dir, *log_dir;
	char hostname[256];
	struct rpt_log audit, events;
	json_t *doc;                /* the report */
	json_t *skipped;            /* what could not be read: array of strings */
	json_t *findings;           /* array of {"section", "finding"} */
};

/* report_logs.c: reads log_dir/<name> and its rotations (.1, .2.gz ...)
 * into log (whose on_record may be NULL: then every record is kept).
 * Never fails: what cannot be read is said in r->skipped. */
void rpt_read_log(struct rpt *r, struct rpt_log *log, const char *name);
void rpt_log_free(struct rpt_log *log);
/* The time of a record (its "_t"). */
long long rpt_time(json_t *rec);
/* RFC 3339 text of t. */
const char *rpt_when(long long t, char *buf, size_t len);
/* A record's gateway: its "gateway", else this host's name. */
const char *rpt_gateway(struct rpt *r, json_t *rec);
/* Adds a finding (also counted in the summary). */
void rpt_finding(struct rpt *r, const char *section, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rpt_skipped(struct rpt *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* report_build.c: reads the logs and the state dir (r's period, dirs and
 * review age set; hostname set or empty for this host's) into r->doc,
 * r->skipped and r->findings.  Never fails: what cannot be read is said
 * in r->skipped ("complete": false). */
void rpt_build(struct rpt *r);

/* The sections, each adding its key to r->doc. */
void rpt_approvals(struct rpt *r);
void rpt_bans(struct rpt *r);
void rpt_usage(struct rpt *r);
void rpt_state(struct rpt *r);
void rpt_retention(struct rpt *r);

/* The renderers. */
void rpt_print_text(json_t *doc, FILE *f);
void rpt_print_csv(json_t *doc, FILE *f);
void rpt_print_html(json_t *doc, FILE *f);

#endif
