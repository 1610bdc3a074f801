// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: `smtpgatectl report` on hostile logs, as the command
 * runs it (rpt_build, then the four renderers): the reader of
 * audit.jsonl and events.jsonl with their rotations, plain or gzip'd
 * (report_logs.c), and the sections that interpret the records
 * (approvals, bans, usage, state, retention).
 *
 * Input: byte 0 holds flags (bit 0: audit.jsonl is written gzip'd;
 * bit 1: events.jsonl is written as the rotation events.jsonl.1 next to
 * an empty live file); the rest is audit.jsonl, then a NUL byte, then
 * events.jsonl.  The period is the year 2025.
 *
 * Properties: the report is never silently short: every section is in
 * the document, which serialises; every non-empty line of each log is
 * either a record or counted as skipped, and a skipped line is said in
 * "skipped" (so "complete" is false); the records are in time order.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <zlib.h>
#include "fuzz_common.h"
#include "report.h"

#define PERIOD_START 1735689600LL /* 2025-01-01T00:00:00Z */
#define PERIOD_END   1767225600LL /* 2026-01-01T00:00:00Z */
#define LOG_LINE_MAX (1 << 20)    /* report_logs.c's longest line */

enum { GZIP_AUDIT = 1, ROTATED_EVENTS = 2 };

static char log_dir[128], state_dir[128];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_path(log_dir, sizeof(log_dir), "log");
	fz_path(state_dir, sizeof(state_dir), "state");
	if (mkdir(log_dir, 0700) || mkdir(state_dir, 0700) || !(devnull = fopen("/dev/null", "we")))
		abort();
	return 0;
}

static void write_log(const char *name, const uint8_t *data, size_t size, bool gzip)
{
	char path[192];
	gzFile gz;

	snprintf(path, sizeof(path), "%s/%s", log_dir, name);
	if (!gzip) {
		fz_write_file(path, data, size);
		return;
	}
	gz = gzopen(path, "wb");
	if (!gz || (size && gzwrite(gz, data, (unsigned)size) != (int)size) || gzclose(gz) != Z_OK)
		abort();
}

static void remove_logs(void)
{
	static const char *const names[] = { "audit.jsonl", "events.jsonl", "events.jsonl.1" };
	char path[192];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", log_dir, names[i]);
		unlink(path);
	}
}

/* Non-empty lines, and whether one is longer than the reader keeps (it
 * then counts it as skipped too, so the sum still holds). */
static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t lines = 0, len = 0;

	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			lines += len > 0;
			len = 0;
		} else {
			len++;
		}
	}
	return lines;
}

static void check_log(const struct rpt *r, const struct rpt_log *log, size_t lines)
{
	long long prev = LLONG_MIN;

	fz_check(log->n_records + log->skipped == lines,
		 "%s: %zu records + %zu skipped lines, of %zu non-empty lines", log->name,
		 log->n_records, log->skipped, lines);
	fz_check(!log->skipped || json_array_size(r->skipped) > 0,
		 "%s: %zu lines skipped and not said", log->name, log->skipped);
	for (size_t i = 0; i < json_array_size(log->records); i++) {
		long long t = rpt_time(json_array_get(log->records, i));

		fz_check(t >= prev, "%s: record %zu is out of time order", log->name, i);
		prev = t;
	}
	fz_check(log->n_records == 0 || log->earliest <= log->latest,
		 "%s: earliest %lld after latest %lld", log->name, log->earliest, log->latest);
}

static void check_doc(const struct rpt *r)
{
	static const char *const keys[] = { "period", "approvals", "bans", "usage", "enforcement",
					    "retention", "findings", "skipped", "complete" };
	char *text;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		fz_check(json_object_get(r->doc, keys[i]) != NULL, "the report has no \"%s\"",
			 keys[i]);
	fz_check(json_is_true(json_object_get(r->doc, "complete")) ==
			 (json_array_size(r->skipped) == 0),
		 "\"complete\" disagrees with \"skipped\"");
	text = json_dumps(r->doc, JSON_COMPACT);
	fz_check(text != NULL, "the report does not serialise");
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpt r = { .since = PERIOD_START, .until = PERIOD_END,
			 .review_age = 365LL * 86400, .state_dir = state_dir, .log_dir = log_dir,
			 .hostname = "fuzz-gw" };
	const uint8_t *audit, *events, *nul;
	size_t audit_len, events_len;
	int flags;

	if (size < 1)
		return 0;
	flags = data[0];
	audit = data + 1;
	nul = memchr(audit, '\0', size - 1);
	audit_len = nul ? (size_t)(nul - audit) : size - 1;
	events = nul ? nul + 1 : audit + audit_len;
	events_len = (size_t)(data + size - events);

	remove_logs();
	write_log("audit.jsonl", audit, audit_len, flags & GZIP_AUDIT);
	if (flags & ROTATED_EVENTS) {
		write_log("events.jsonl.1", events, events_len, false);
		write_log("events.jsonl", NULL, 0, false);
	} else {
		write_log("events.jsonl", events, events_len, false);
	}

	rpt_build(&r);
	check_doc(&r);
	check_log(&r, &r.audit, count_lines(audit, audit_len));
	check_log(&r, &r.events, count_lines(events, events_len));
	rpt_print_text(r.doc, devnull);
	rpt_print_csv(r.doc, devnull);
	rpt_print_html(r.doc, devnull);
	json_decref(r.doc);
	rpt_log_free(&r.audit);
	rpt_log_free(&r.events);
	return 0;
}
