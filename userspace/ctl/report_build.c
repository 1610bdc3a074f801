// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: assembling the document from the logs and the
 * state dir, apart from the command line (report.c) so that the fuzz
 * target runs exactly what the command runs on hostile files.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

/* events.jsonl: the state events kept, blocked packets summed per source
 * (the bans themselves are the audit trail's); the rest only counts for
 * coverage. */
static void on_event(struct rpt *r, struct rpt_log *log, json_t *rec, long long t)
{
	const char *ev = json_string_value(json_object_get(rec, "event"));

	if (!ev)
		return;
	if (!strcmp(ev, "state")) {
		json_array_append(log->records, rec);
	} else if (!strcmp(ev, "blocked") && t >= r->since && t < r->until) {
		const char *src = json_string_value(json_object_get(rec, "source"));
		json_int_t n = json_integer_value(json_object_get(rec, "count"));

		if (src)
			json_object_set_new(log->blocked, src, json_integer(
				json_integer_value(json_object_get(log->blocked, src)) + n));
	}
}

void rpt_build(struct rpt *r)
{
	char a[32], b[32], now[32];

	r->doc = json_object();
	r->skipped = json_array();
	r->findings = json_array();
	if (!r->hostname[0] && gethostname(r->hostname, sizeof(r->hostname) - 1))
		snprintf(r->hostname, sizeof(r->hostname), "localhost");
	rpt_read_log(r, &r->audit, "audit.jsonl");
	r->events.on_record = on_event;
	rpt_read_log(r, &r->events, "events.jsonl");
	json_object_set_new(r->doc, "period", json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}",
		"since", rpt_when(r->since, a, sizeof(a)), "until", rpt_when(r->until, b, sizeof(b)),
		"generated", rpt_when((long long)time(NULL), now, sizeof(now)),
		"gateway", r->hostname, "review_age_days", (json_int_t)(r->review_age / 86400),
		"state_dir", r->state_dir, "log_dir", r->log_dir));
	rpt_approvals(r);
	rpt_bans(r);
	rpt_usage(r);
	rpt_state(r);
	rpt_retention(r);
	json_object_set_new(r->doc, "findings", r->findings);
	json_object_set_new(r->doc, "skipped", r->skipped);
	json_object_set_new(r->doc, "complete", json_boolean(json_array_size(r->skipped) == 0));
}
