// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: bans.  The audit trail has every ban made in the
 * period (ban.auto by the data plane, ban.add by an operator), lifted
 * (ban.del) or ended (ban.expire); events.jsonl has the blocked packets
 * per source.  Top offenders: the sources banned most, then blocked most.
 */
#include <stdlib.h>
#include <string.h>
#include "report.h"

static json_t *or_null(json_t *v)
{
	return v ? v : json_null();
}

static void count(json_t *offenders, const char *src, const char *key, json_int_t n)
{
	json_t *o = json_object_get(offenders, src);

	if (!o) {
		o = json_pack("{s:s, s:I, s:I}", "source", src, "bans", (json_int_t)0,
			      "blocked_packets", (json_int_t)0);
		json_object_set_new(offenders, src, o);
	}
	json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + n));
}

static int offender_cmp(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t ba = json_integer_value(json_object_get(a, "bans"));
	json_int_t bb = json_integer_value(json_object_get(b, "bans"));
	json_int_t pa = json_integer_value(json_object_get(a, "blocked_packets"));
	json_int_t pb = json_integer_value(json_object_get(b, "blocked_packets"));

	if (ba != bb)
		return ba > bb ? -1 : 1;
	if (pa != pb)
		return pa > pb ? -1 : 1;
	return strcmp(json_string_value(json_object_get(a, "source")),
		      json_string_value(json_object_get(b, "source")));
}

static json_t *top(json_t *offenders)
{
	size_t n = json_object_size(offenders), k = 0;
	json_t **v = calloc(n + 1, sizeof(*v)), *arr = json_array(), *o;
	const char *key;

	if (!v)
		return arr;
	json_object_foreach(offenders, key, o)
		v[k++] = o;
	qsort(v, k, sizeof(*v), offender_cmp);
	for (size_t i = 0; i < k && i < RPT_TOP; i++)
		json_array_append(arr, v[i]);
	free(v);
	return arr;
}

void rpt_bans(struct rpt *r)
{
	json_t *list = json_array(), *offenders = json_object();
	json_int_t n_auto = 0, n_manual = 0, n_lifted = 0, n_ended = 0;
	const char *src;
	json_t *rec, *v;
	size_t i;

	json_array_foreach(r->audit.records, i, rec) {
		const char *cmd = json_string_value(json_object_get(rec, "command"));
		const char *res = json_string_value(json_object_get(rec, "result"));
		json_t *args = json_object_get(rec, "args"), *b;
		long long t = rpt_time(rec);
		const char *kind;

		if (t < r->since || t >= r->until || !cmd || !res || strcmp(res, "ok"))
			continue;
		if (!strcmp(cmd, "ban.auto"))
			kind = "auto", n_auto++;
		else if (!strcmp(cmd, "ban.add"))
			kind = "manual", n_manual++;
		else if (!strcmp(cmd, "ban.del"))
			kind = "lifted", n_lifted++;
		else if (!strcmp(cmd, "ban.expire"))
			kind = "ended", n_ended++;
		else
			continue;
		b = json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:s}",
			      "time", json_object_get(rec, "time"), "ban", kind,
			      "addr", or_null(json_object_get(args, "addr")),
			      "source", or_null(json_object_get(args, "source")),
			      "duration_sec", or_null(json_object_get(args, "duration_sec")),
			      "reason", or_null(json_object_get(args, "reason")),
			      "ticket", or_null(json_object_get(rec, "ticket")),
			      "uid", or_null(json_object_get(rec, "uid")),
			      "user", or_null(json_object_get(rec, "user")),
			      "gateway", rpt_gateway(r, rec));
		json_array_append_new(list, b);
		if (!strcmp(kind, "auto") || !strcmp(kind, "manual")) {
			const char *who = json_string_value(json_object_get(args, "source"));

			if (!who)
				who = json_string_value(json_object_get(args, "addr"));
			if (who)
				count(offenders, who, "bans", 1);
		}
	}
	json_object_foreach(r->events.blocked, src, v)
		count(offenders, src, "blocked_packets", json_integer_value(v));
	json_object_set_new(r->doc, "bans", json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}",
		"automatic", n_auto, "manual", n_manual, "lifted", n_lifted, "ended", n_ended,
		"list", list, "top_offenders", top(offenders)));
	json_decref(offenders);
}
