// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: what the tables of the report are (title, where
 * their rows are in the document, which columns), shared by the text,
 * csv and html renderers so that they show the same things.
 */
#include <stdio.h>
#include <string.h>
#include "report_sections.h"

const struct rpt_table rpt_tables[] = {
	{ "findings", "Findings", { "findings" },
	  { { "SECTION", "section" }, { "FINDING", "finding" } } },
	{ "approvals_in_force", "Approvals in force at the period's end", { "approvals", "in_force" },
	  { { "PREFIX", "prefix" }, { "TICKET", "ticket" }, { "OWNER", "owner" },
	    { "CONTACT", "contact" }, { "RELAYS", "relays" }, { "EXPIRES", "expires" },
	    { "APPROVED", "approved" }, { "APPROVED BY", "approved_by" },
	    { "GATEWAY", "gateway" }, { "EVIDENCE", "evidence" } } },
	{ "approval_changes", "Approval changes during the period", { "approvals", "changes" },
	  { { "TIME", "time" }, { "CHANGE", "change" }, { "PREFIX", "prefix" },
	    { "TICKET", "ticket" }, { "OWNER", "owner" }, { "CONTACT", "contact" },
	    { "UID", "uid" }, { "USER", "user" }, { "GATEWAY", "gateway" },
	    { "RECORDED", "recorded" } } },
	{ "missing_contact", "Approvals in force without a contact",
	  { "approvals", "missing_contact" }, { { "PREFIX", "" } } },
	{ "past_review_age", "Approvals in force past the review age",
	  { "approvals", "past_review_age" },
	  { { "PREFIX", "prefix" }, { "APPROVED", "approved" }, { "AGE DAYS", "age_days" } } },
	{ "expiring_soon", "Approvals expiring within 30 days of the period's end",
	  { "approvals", "expiring_soon" },
	  { { "PREFIX", "prefix" }, { "EXPIRES", "expires" }, { "TICKET", "ticket" },
	    { "OWNER", "owner" }, { "CONTACT", "contact" } } },
	{ "bans", "Bans during the period", { "bans", "list" },
	  { { "TIME", "time" }, { "BAN", "ban" }, { "ADDR", "addr" }, { "SOURCE", "source" },
	    { "DURATION SEC", "duration_sec" }, { "REASON", "reason" }, { "TICKET", "ticket" },
	    { "UID", "uid" }, { "USER", "user" }, { "GATEWAY", "gateway" } } },
	{ "top_offenders", "Top offenders", { "bans", "top_offenders" },
	  { { "SOURCE", "source" }, { "BANS", "bans" }, { "BLOCKED PACKETS", "blocked_packets" } } },
	{ "usage_months", "Usage per month", { "usage", "months" },
	  { { "MONTH", "month" }, { "DAYS", "days" }, { "CONNECTIONS", "connections_passed" },
	    { "BYTES", "bytes_passed" }, { "PASSED", "packets_passed" },
	    { "DROPPED", "packets_dropped" }, { "REJECTED", "packets_rejected" },
	    { "RATE LIMITED", "rate_limited" }, { "BANNED", "banned" },
	    { "MONITOR", "packets_monitor" } } },
	{ "top_senders", "Top senders (packets passed)", { "usage", "top_senders" },
	  { { "SOURCE", "source" }, { "PACKETS", "packets" } } },
	{ "blocked_most", "Sources blocked most (packets dropped or rejected)",
	  { "usage", "blocked_most" }, { { "SOURCE", "source" }, { "PACKETS", "packets" } } },
	{ "source_months", "Per-source usage per month (top senders by bytes passed)",
	  { "usage", "source_months" },
	  { { "MONTH", "month" }, { "SOURCE", "source" }, { "CONNECTIONS", "connections" },
	    { "BYTES", "bytes" }, { "PASSED", "packets_passed" },
	    { "DAYS WITH DETAIL", "days_with_source_detail" }, { "DAYS", "days" } } },
	{ "blocked_by_reason", "Sources blocked most, by reason (packets dropped or rejected)",
	  { "usage", "blocked_by_reason" },
	  { { "SOURCE", "source" }, { "BLOCKED", "packets_blocked" },
	    { "UNTRUSTED", "untrusted_source" }, { "UNAPPROVED RELAY", "unapproved_relay" },
	    { "RATE LIMITED", "rate_limited" }, { "BANNED", "banned" }, { "EXPIRED", "expired" },
	    { "FRAGMENT", "fragment" }, { "MALFORMED", "malformed" } } },
	{ "source_detail_missing",
	  "Days without per-source connections, bytes and drop reasons (older usage files)",
	  { "usage", "source_detail_missing" },
	  { { "FROM", "from" }, { "TO", "to" }, { "DAYS", "days" } } },
	{ "usage_days_missing", "Days without usage history", { "usage", "days_missing" },
	  { { "FROM", "from" }, { "TO", "to" }, { "DAYS", "days" } } },
	{ "hooks_at_end", "Hooks at the period's end", { "enforcement", "hooks_at_end" },
	  { { "INTERFACE", "interface" }, { "HOOK", "hook" }, { "ATTACHED", "attached" } } },
	{ "monitor_mode", "Time in monitor mode", { "enforcement", "monitor" },
	  { { "FROM", "from" }, { "TO", "to" }, { "SECONDS", "seconds" } } },
	{ "not_attached", "Time with a configured hook not attached",
	  { "enforcement", "not_attached" },
	  { { "INTERFACE", "interface" }, { "HOOK", "hook" }, { "FROM", "from" }, { "TO", "to" },
	    { "SECONDS", "seconds" } } },
	{ "daemon_stopped", "Time with smtpgated stopped (programs stay attached, unobserved)",
	  { "enforcement", "daemon_stopped" },
	  { { "FROM", "from" }, { "TO", "to" }, { "SECONDS", "seconds" } } },
	{ "reload_failures", "Reload failures", { "enforcement", "reload_failures" },
	  { { "TIME", "time" }, { "RESULT", "result" }, { "UID", "uid" }, { "USER", "user" },
	    { "GATEWAY", "gateway" }, { "ERROR", "error" } } },
	{ "audit_missing", "Audit log: stretches of the period without records",
	  { "retention", "audit", "missing" },
	  { { "FROM", "from" }, { "TO", "to" }, { "SECONDS", "seconds" } } },
	{ "events_missing", "Events log: stretches of the period without records",
	  { "retention", "events", "missing" },
	  { { "FROM", "from" }, { "TO", "to" }, { "SECONDS", "seconds" } } },
	{ "log_files", "Log files read", { "retention", "audit", "files" },
	  { { "FILE", "file" }, { "RECORDS", "records" }, { "SKIPPED", "skipped" } } },
	{ "event_files", "Event files read", { "retention", "events", "files" },
	  { { "FILE", "file" }, { "RECORDS", "records" }, { "SKIPPED", "skipped" } } },
	{ "skipped", "Input skipped (this report is partial)", { "skipped" },
	  { { "WHAT", "" } } },
};
const size_t rpt_n_tables = sizeof(rpt_tables) / sizeof(rpt_tables[0]);

json_t *rpt_table_rows(json_t *doc, const struct rpt_table *t)
{
	json_t *v = doc;

	for (int i = 0; i < RPT_PATH_MAX && t->path[i]; i++)
		v = json_object_get(v, t->path[i]);
	return json_is_array(v) ? v : NULL;
}

int rpt_table_ncols(const struct rpt_table *t)
{
	int n = 0;

	while (n < RPT_COLS_MAX && t->cols[n].header)
		n++;
	return n;
}

/* {"uid", "user"} as "user (uid N)"; hooks as "eth0/xdp". */
static void object_text(json_t *v, char *buf, size_t len)
{
	json_t *user = json_object_get(v, "user"), *uid = json_object_get(v, "uid");

	if (user && !json_is_integer(uid))
		snprintf(buf, len, "%s", json_string_value(user) ?: "?");
	else if (user || uid)
		snprintf(buf, len, "%s (uid %lld)", json_string_value(user) ?: "?",
			 (long long)json_integer_value(uid));
	else
		snprintf(buf, len, "%s/%s", json_string_value(json_object_get(v, "interface")) ?: "?",
			 json_string_value(json_object_get(v, "hook")) ?: "?");
}

void rpt_cell(json_t *row, const struct rpt_col *col, char *buf, size_t len)
{
	json_t *v = col->key[0] ? json_object_get(row, col->key) : row;
	size_t i, off = 0;
	json_t *e;

	buf[0] = '\0';
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.0f", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_object(v))
		object_text(v, buf, len);
	else if (json_is_array(v))
		json_array_foreach(v, i, e) {
			if (off + 2 >= len)
				break;
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "",
						json_string_value(e) ?: "?");
		}
	else
		snprintf(buf, len, "-");
	if (!buf[0])
		snprintf(buf, len, "-");
}
