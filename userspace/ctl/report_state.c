// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: the hooks and the mode in force, from the "state"
 * events smtpgated writes (at start, on every change, daily, at stop;
 * docs/operations.md), and the reloads that failed, from the audit trail.
 * Every stretch in monitor mode, or with a configured hook not attached,
 * is a finding.  While smtpgated is stopped its programs stay attached
 * (pinned), but nothing observes them: such stretches are listed apart.
 */
#include <stdlib.h>
#include <string.h>
#include "report.h"

struct state {
	bool known, running;
	bool monitor;
	json_t *hooks;          /* borrowed: the record's hooks */
};

/* Appends [from, to) to arr, merging with the last interval if it ends
 * where this one starts and has the same labels. */
static void span(json_t *arr, long long from, long long to, const char *iface, const char *hook)
{
	json_t *last = json_array_get(arr, json_array_size(arr) - 1), *o;
	char a[32], b[32];

	if (to <= from)
		return;
	if (last && json_integer_value(json_object_get(last, "_to")) == from &&
	    !strcmp(json_string_value(json_object_get(last, "interface")) ?: "", iface ?: "") &&
	    !strcmp(json_string_value(json_object_get(last, "hook")) ?: "", hook ?: "")) {
		long long f = json_integer_value(json_object_get(last, "_from"));

		json_object_set_new(last, "_to", json_integer(to));
		json_object_set_new(last, "to", json_string(rpt_when(to, b, sizeof(b))));
		json_object_set_new(last, "seconds", json_integer(to - f));
		return;
	}
	o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "from", rpt_when(from, a, sizeof(a)),
		      "to", rpt_when(to, b, sizeof(b)), "seconds", (json_int_t)(to - from),
		      "_from", (json_int_t)from, "_to", (json_int_t)to);
	if (iface) {
		json_object_set_new(o, "interface", json_string(iface));
		json_object_set_new(o, "hook", json_string(hook));
	}
	json_array_append_new(arr, o);
}

/* What st says about [from, to). */
static void account(struct rpt *r, const struct state *st, long long from, long long to,
		    json_t *monitor, json_t *unattached, json_t *stopped, json_t *unknown)
{
	size_t i;
	json_t *h;

	if (from < r->since)
		from = r->since;
	if (to > r->until)
		to = r->until;
	if (to <= from)
		return;
	if (!st->known) {
		span(unknown, from, to, NULL, NULL);
		return;
	}
	if (!st->running) {
		span(stopped, from, to, NULL, NULL);
		return;
	}
	if (st->monitor)
		span(monitor, from, to, NULL, NULL);
	json_array_foreach(st->hooks, i, h)
		if (!json_is_true(json_object_get(h, "attached")))
			span(unattached, from, to, json_string_value(json_object_get(h, "interface")),
			     json_string_value(json_object_get(h, "hook")));
}

/* Drops the private keys of the intervals and makes findings of them. */
static void finish(struct rpt *r, json_t *arr, const char *what)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		json_object_del(o, "_from");
		json_object_del(o, "_to");
		if (!what)
			continue;
		if (json_object_get(o, "interface"))
			rpt_finding(r, "enforcement", "%s %s %s from %s to %s (%lld s)",
				    json_string_value(json_object_get(o, "interface")),
				    json_string_value(json_object_get(o, "hook")), what,
				    json_string_value(json_object_get(o, "from")),
				    json_string_value(json_object_get(o, "to")),
				    (long long)json_integer_value(json_object_get(o, "seconds")));
		else
			rpt_finding(r, "enforcement", "%s from %s to %s (%lld s)", what,
				    json_string_value(json_object_get(o, "from")),
				    json_string_value(json_object_get(o, "to")),
				    (long long)json_integer_value(json_object_get(o, "seconds")));
	}
}

static json_t *reload_failures(struct rpt *r)
{
	json_t *arr = json_array(), *rec;
	size_t i;

	json_array_foreach(r->audit.records, i, rec) {
		const char *cmd = json_string_value(json_object_get(rec, "command"));
		const char *res = json_string_value(json_object_get(rec, "result"));
		const char *error = json_string_value(json_object_get(rec, "error"));
		long long t = rpt_time(rec);
		char flat[512];

		if (t < r->since || t >= r->until || !cmd || strcmp(cmd, "reload") || !res ||
		    !strcmp(res, "ok"))
			continue;
		/* The reasons are on the lines after the first. */
		snprintf(flat, sizeof(flat), "%s", error ? error : "");
		for (char *nl; (nl = strchr(flat, '\n'));)
			*nl = ' ';
		json_array_append_new(arr, json_pack("{s:O, s:s, s:O, s:O, s:s, s:s}",
			"time", json_object_get(rec, "time"), "result", res,
			"uid", json_object_get(rec, "uid") ?: json_null(),
			"user", json_object_get(rec, "user") ?: json_null(),
			"error", error ? error : "", "gateway", rpt_gateway(r, rec)));
		rpt_finding(r, "reloads", "reload %s at %s by %s: %s", res,
			    json_string_value(json_object_get(rec, "time")),
			    json_string_value(json_object_get(rec, "user")) ?: "?", flat);
	}
	return arr;
}

void rpt_state(struct rpt *r)
{
	json_t *monitor = json_array(), *unattached = json_array(), *stopped = json_array();
	json_t *unknown = json_array(), *rec, *last = NULL;
	struct state st = { 0 };
	long long at = r->since;
	size_t i;

	json_array_foreach(r->events.records, i, rec) {
		const char *ev = json_string_value(json_object_get(rec, "event"));
		const char *why = json_string_value(json_object_get(rec, "why"));
		const char *mode = json_string_value(json_object_get(rec, "mode"));
		long long t = rpt_time(rec);

		if (!ev || strcmp(ev, "state"))
			continue;
		if (t >= r->until)
			break;
		account(r, &st, at, t, monitor, unattached, stopped, unknown);
		at = t > at ? t : at;
		st.known = true;
		st.running = !why || strcmp(why, "stop");
		st.monitor = mode && !strcmp(mode, "monitor");
		st.hooks = json_object_get(rec, "hooks");
		last = rec;
	}
	account(r, &st, at, r->until, monitor, unattached, stopped, unknown);
	finish(r, monitor, "in monitor mode (nothing was blocked)");
	finish(r, unattached, "not attached (its traffic was not governed)");
	finish(r, stopped, NULL);
	finish(r, unknown, NULL);
	if (json_array_size(unknown))
		rpt_finding(r, "enforcement", "the mode and hooks are unknown for %zu stretch(es) of "
			    "the period: events.jsonl has no state event before them",
			    json_array_size(unknown));
	json_object_set_new(r->doc, "enforcement", json_pack(
		"{s:s?, s:O, s:o, s:o, s:o, s:o, s:o}",
		"mode_at_end", last ? (st.monitor ? "monitor" : "enforce") : NULL,
		"hooks_at_end", last && st.hooks ? st.hooks : json_null(),
		"monitor", monitor, "not_attached", unattached, "daemon_stopped", stopped,
		"unknown", unknown, "reload_failures", reload_failures(r)));
}
