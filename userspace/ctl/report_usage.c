// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: per-source usage from the usage history
 * (<state_dir>/usage, usage_file.h), by whole UTC days: totals per
 * month, the top senders, the sources blocked most, and the days of the
 * period that have no file (a hole in the evidence, said as such).
 *
 * Per source and month, connections and bytes passed; per source, the
 * blocked packets by reason: these come from the days whose file has
 * the per-source detail (version 2).  Days read without it (version 1
 * files) are listed as such, and each month says how many of its days
 * had it, so a missing detail is never shown as zero.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "addr.h"
#include "report.h"
#include "usage_file.h"

static void month_of(int64_t day, char *buf, size_t len)
{
	time_t t = (time_t)day;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m", &tm);
}

static void add(json_t *o, const char *key, uint64_t n)
{
	json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) +
						 (json_int_t)n));
}

static json_t *new_month(const char *m)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "month", m,
		"days", (json_int_t)0, "connections_passed", (json_int_t)0,
		"bytes_passed", (json_int_t)0, "packets_passed", (json_int_t)0,
		"packets_dropped", (json_int_t)0, "packets_rejected", (json_int_t)0,
		"packets_monitor", (json_int_t)0, "rate_limited", (json_int_t)0,
		"banned", (json_int_t)0, "blocked_by_reason", json_object());

	json_object_set_new(o, "days_with_source_detail", json_integer(0));

	return o;
}

/* Every month of the period, in order, at zero. */
static json_t *months_of(struct rpt *r)
{
	json_t *months = json_object();
	int64_t d = sg_usage_day_start(r->since);

	for (; d < r->until; d += SG_DAY_SEC) {
		char m[16];

		month_of(d, m, sizeof(m));
		if (!json_object_get(months, m))
			json_object_set_new(months, m, new_month(m));
	}
	return months;
}

/* The per-source detail of a day: connections and bytes per source in
 * the month's object of msrc, blocked packets by reason per source in
 * blocked. */
static void add_detail(const char *mo, const struct sg_usage_day *u, json_t *msrc, json_t *blocked)
{
	json_t *month = json_object_get(msrc, mo);

	if (!month) {
		month = json_object();
		json_object_set_new(msrc, mo, month);
	}
	for (size_t i = 0; i < u->n_src; i++) {
		const struct sg_source_stats *c = &u->src[i].c;
		char a[SG_PREFIX_STRLEN];
		json_t *o;

		sg_addr_format(&u->src[i].addr, a, sizeof(a));
		if (c->packets[SG_V_PASS] || c->conns || c->bytes) {
			if (!(o = json_object_get(month, a))) {
				o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "month", mo, "source", a,
					      "connections", (json_int_t)0, "bytes", (json_int_t)0,
					      "packets_passed", (json_int_t)0);
				json_object_set_new(month, a, o);
			}
			add(o, "connections", c->conns);
			add(o, "bytes", c->bytes);
			add(o, "packets_passed", c->packets[SG_V_PASS]);
		}
		if (!sg_usage_blocked(c))
			continue;
		if (!(o = json_object_get(blocked, a))) {
			o = json_pack("{s:s, s:I}", "source", a, "packets_blocked", (json_int_t)0);
			for (int r = 0; o && r < SG_SRC_BLOCK_REASONS; r++)
				json_object_set_new(o, sg_reason_names[SG_SRC_FIRST_BLOCK + r],
						    json_integer(0));
			json_object_set_new(blocked, a, o);
		}
		add(o, "packets_blocked", sg_usage_blocked(c));
		for (int r = 0; r < SG_SRC_BLOCK_REASONS; r++)
			add(o, sg_reason_names[SG_SRC_FIRST_BLOCK + r], c->blocked[r]);
	}
}

static void add_day(json_t *month, const struct sg_usage_day *u, json_t *sources)
{
	add(month, "days", 1);
	add(month, "days_with_source_detail", u->source_detail ? 1 : 0);
	for (int v = 0; v < SG_V_COUNT; v++)
		for (int k = 0; k < SG_R_COUNT; k++) {
			const struct sg_counter *c = &u->totals[v][k];

			if (v == SG_V_PASS) {
				add(month, "connections_passed", c->conns);
				add(month, "bytes_passed", c->bytes);
				add(month, "packets_passed", c->packets);
				continue;
			}
			add(month, v == SG_V_DROP ? "packets_dropped" : v == SG_V_REJECT ?
			    "packets_rejected" : "packets_monitor", c->packets);
			if (k == SG_R_RATE_LIMITED)
				add(month, "rate_limited", c->packets);
			if (k == SG_R_BANNED)
				add(month, "banned", c->packets);
			if (v != SG_V_MONITOR && c->packets)
				add(json_object_get(month, "blocked_by_reason"), sg_reason_names[k],
				    c->packets);
		}
	for (size_t i = 0; i < u->n_src; i++) {
		const struct sg_usage_src *s = &u->src[i];
		char a[SG_PREFIX_STRLEN];
		json_t *o;

		sg_addr_format(&s->addr, a, sizeof(a));
		if (!(o = json_object_get(sources, a))) {
			o = json_pack("{s:s, s:I, s:I}", "source", a, "packets_passed", (json_int_t)0,
				      "packets_blocked", (json_int_t)0);
			json_object_set_new(sources, a, o);
		}
		add(o, "packets_passed", s->c.packets[SG_V_PASS]);
		add(o, "packets_blocked", sg_usage_blocked(&s->c));
	}
}

/* Ranking: by rank_key, then rank_key2 (if any), most first, then by
 * source, so equal inputs give equal reports. */
static const char *rank_key, *rank_key2;

static int rank_cmp(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t va = json_integer_value(json_object_get(a, rank_key));
	json_int_t vb = json_integer_value(json_object_get(b, rank_key));

	if (va == vb && rank_key2) {
		va = json_integer_value(json_object_get(a, rank_key2));
		vb = json_integer_value(json_object_get(b, rank_key2));
	}
	if (va != vb)
		return va > vb ? -1 : 1;
	return strcmp(json_string_value(json_object_get(a, "source")),
		      json_string_value(json_object_get(b, "source")));
}

/* The objects of `rows` that have any key (or key2), ranked, at most RPT_TOP
 * (borrowed references, in a malloc'd array; *k of them). */
static json_t **ranked(json_t *rows, const char *key, const char *key2, size_t *k)
{
	size_t n = json_object_size(rows);
	json_t **v = calloc(n + 1, sizeof(*v)), *o;
	const char *name;

	*k = 0;
	if (!v)
		return NULL;
	json_object_foreach(rows, name, o)
		if (json_integer_value(json_object_get(o, key)) ||
		    (key2 && json_integer_value(json_object_get(o, key2))))
			v[(*k)++] = o;
	rank_key = key;
	rank_key2 = key2;
	qsort(v, *k, sizeof(*v), rank_cmp);
	if (*k > RPT_TOP)
		*k = RPT_TOP;
	return v;
}

static json_t *top(json_t *sources, const char *key)
{
	json_t *arr = json_array();
	size_t k;
	json_t **v = ranked(sources, key, NULL, &k);

	for (size_t i = 0; v && i < k; i++)
		json_array_append_new(arr, json_pack("{s:O, s:O}", "source",
			json_object_get(v[i], "source"), "packets", json_object_get(v[i], key)));
	free(v);
	return arr;
}

/* Per month (in order), its top sources by bytes then connections passed,
 * each with the month's days and days with per-source detail. */
static json_t *source_months(json_t *months, json_t *msrc)
{
	json_t *arr = json_array(), *m;
	size_t i;

	json_array_foreach(months, i, m) {
		const char *mo = json_string_value(json_object_get(m, "month"));
		size_t k;
		json_t **v = ranked(json_object_get(msrc, mo), "bytes", "connections", &k);

		for (size_t j = 0; v && j < k; j++) {
			json_t *row = json_deep_copy(v[j]);

			json_object_set(row, "days", json_object_get(m, "days"));
			json_object_set(row, "days_with_source_detail",
					json_object_get(m, "days_with_source_detail"));
			json_array_append_new(arr, row);
		}
		free(v);
	}
	return arr;
}

/* The sources blocked most (days with detail), with their reasons. */
static json_t *blocked_by_reason(json_t *blocked)
{
	json_t *arr = json_array();
	size_t k;
	json_t **v = ranked(blocked, "packets_blocked", NULL, &k);

	for (size_t i = 0; v && i < k; i++)
		json_array_append_new(arr, json_deep_copy(v[i]));
	free(v);
	return arr;
}

/* The runs of consecutive days of days[] (sorted) as [{from, to, days}]. */
static json_t *runs(const int64_t *days, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		char a[SG_DAY_STRLEN], b[SG_DAY_STRLEN];

		while (j < n && days[j] == days[j - 1] + SG_DAY_SEC)
			j++;
		sg_usage_day_format(days[i], a, sizeof(a));
		sg_usage_day_format(days[j - 1], b, sizeof(b));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "from", a, "to", b,
			"days", (json_int_t)(j - i)));
		i = j;
	}
	return arr;
}

/* The runs of days of the period without a file. */
static json_t *holes(struct rpt *r, const int64_t *days, size_t n)
{
	json_t *arr = json_array();
	int64_t d = sg_usage_day_start(r->since), last = sg_usage_day_start(r->until - 1);
	size_t i = 0;

	while (d <= last) {
		int64_t from;
		char a[SG_DAY_STRLEN], b[SG_DAY_STRLEN];

		while (i < n && days[i] < d)
			i++;
		if (i < n && days[i] == d) {
			d += SG_DAY_SEC;
			continue;
		}
		from = d;
		while (d <= last && !(i < n && days[i] == d))
			d += SG_DAY_SEC;
		sg_usage_day_format(from, a, sizeof(a));
		sg_usage_day_format(d - SG_DAY_SEC, b, sizeof(b));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "from", a, "to", b,
			"days", (json_int_t)((d - from) / SG_DAY_SEC)));
	}
	return arr;
}

void rpt_usage(struct rpt *r)
{
	char dir[4096];
	struct sg_err err = { 0 };
	json_t *months = months_of(r), *sources = json_object(), *arr = json_array(), *m;
	json_t *msrc = json_object(), *blocked = json_object(), *usage;
	int64_t *days = NULL, *no_detail = NULL;
	size_t n = 0, read = 0, n_no_detail = 0;
	const char *key;
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", r->state_dir, SG_USAGE_DIR);
	rc = sg_usage_list(dir, sg_usage_day_start(r->since), sg_usage_day_start(r->until - 1),
			   &days, &n, &err);
	if (rc && rc != -ENOENT)
		rpt_skipped(r, "%s: the usage history cannot be read", err.msg);
	no_detail = calloc(n + 1, sizeof(*no_detail));
	for (size_t i = 0; i < n; i++) {
		char name[SG_DAY_STRLEN], path[4200], mo[16];
		struct sg_usage_day u;

		sg_usage_day_format(days[i], name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s.json", dir, name);
		if (sg_usage_read(path, &u, &err)) {
			rpt_skipped(r, "%s: this day's usage is missing from this report", err.msg);
			continue;
		}
		month_of(u.day, mo, sizeof(mo));
		if ((m = json_object_get(months, mo))) {
			add_day(m, &u, sources);
			if (u.source_detail)
				add_detail(mo, &u, msrc, blocked);
			else if (no_detail)
				no_detail[n_no_detail++] = u.day;
		}
		read++;
		sg_usage_day_free(&u);
	}
	json_object_foreach(months, key, m)
		json_array_append(arr, m);
	usage = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		"directory", dir, "days_read", (json_int_t)read,
		"days_without_source_detail", (json_int_t)n_no_detail,
		"source_months", source_months(arr, msrc),
		"blocked_by_reason", blocked_by_reason(blocked), "months", arr,
		"top_senders", top(sources, "packets_passed"),
		"blocked_most", top(sources, "packets_blocked"), "days_missing", holes(r, days, n),
		"source_detail_missing", runs(no_detail, n_no_detail));
	json_object_set_new(r->doc, "usage", usage);
	json_decref(months);
	json_decref(sources);
	json_decref(msrc);
	json_decref(blocked);
	free(no_detail);
	free(days);
}
