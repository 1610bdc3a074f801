// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: do the logs cover the period?  Each log's oldest
 * record must be at or before the period's start (else the stretch from
 * the start to it is missing); events.jsonl has a state event at least
 * daily, so a longer silence inside the period is a hole too; and the
 * usage history should have a file for every day, with the per-source
 * detail (a version 1 file has none).  Whatever is missing
 * is said exactly: which log, from when to when.
 */
#include <string.h>
#include "report.h"

static void missing(struct rpt *r, json_t *arr, const char *log, long long from, long long to,
		    const char *why)
{
	char a[32], b[32];

	json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "from", rpt_when(from, a, sizeof(a)),
		"to", rpt_when(to, b, sizeof(b)), "seconds", (json_int_t)(to - from)));
	rpt_finding(r, "retention", "%s: no records from %s to %s (%.1f days): %s", log, a, b,
		    (double)(to - from) / 86400.0, why);
}

static json_t *coverage(struct rpt *r, struct rpt_log *log, bool holes)
{
	json_t *miss = json_array();
	char a[32], b[32];

	if (!log->n_records)
		missing(r, miss, log->name, r->since, r->until, "the log has no records at all");
	else if (log->earliest > r->since)
		missing(r, miss, log->name, r->since, log->earliest < r->until ? log->earliest : r->until,
			"its oldest record kept is later than the period's start (rotated away, "
			"or not yet written)");
	for (size_t i = 1; holes && i < log->n_times; i++) {
		long long from = log->times[i - 1], to = log->times[i];

		if (to - from <= RPT_EVENTS_GAP_SEC || to <= r->since || from >= r->until)
			continue;
		missing(r, miss, log->name, from > r->since ? from : r->since,
			to < r->until ? to : r->until,
			"smtpgated writes a state event at least daily: the log lost records, or "
			"smtpgated was not running");
	}
	if (holes && log->latest >= r->since && log->latest < r->until &&
	    r->until - log->latest > RPT_EVENTS_GAP_SEC)
		missing(r, miss, log->name, log->latest, r->until,
			"nothing after its newest record (smtpgated not running, or the log lost)");
	return json_pack("{s:s?, s:s?, s:I, s:I, s:O, s:b, s:o}",
		"earliest", log->n_records ? rpt_when(log->earliest, a, sizeof(a)) : NULL,
		"latest", log->n_records ? rpt_when(log->latest, b, sizeof(b)) : NULL,
		"records", (json_int_t)log->n_records, "lines_skipped", (json_int_t)log->skipped,
		"files", log->files, "covers_period", json_array_size(miss) == 0, "missing", miss);
}

void rpt_retention(struct rpt *r)
{
	json_t *usage = json_object_get(r->doc, "usage");
	json_t *holes = json_object_get(usage, "days_missing"), *h;
	json_int_t days = 0;
	size_t i;

	json_array_foreach(holes, i, h) {
		days += json_integer_value(json_object_get(h, "days"));
		rpt_finding(r, "retention", "usage history: no file for %s to %s (%lld day(s))",
			    json_string_value(json_object_get(h, "from")),
			    json_string_value(json_object_get(h, "to")),
			    (long long)json_integer_value(json_object_get(h, "days")));
	}
	/* Days read from files older than the per-source detail: their
	 * totals are in the report, their sources' connections, bytes and
	 * drop reasons are not (and are not shown as zeros). */
	json_array_foreach(json_object_get(usage, "source_detail_missing"), i, h)
		rpt_finding(r, "retention", "usage history: no per-source connections, bytes or "
			    "drop reasons for %s to %s (%lld day(s)): usage files of version 1",
			    json_string_value(json_object_get(h, "from")),
			    json_string_value(json_object_get(h, "to")),
			    (long long)json_integer_value(json_object_get(h, "days")));
	json_object_set_new(r->doc, "retention", json_pack("{s:o, s:o, s:{s:b, s:I, s:I}}",
		"audit", coverage(r, &r->audit, false), "events", coverage(r, &r->events, true),
		"usage", "covers_period", days == 0, "days_missing", days,
		"days_without_source_detail",
		json_integer_value(json_object_get(usage, "days_without_source_detail"))));
}
