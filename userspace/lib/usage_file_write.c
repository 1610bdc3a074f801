// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Writing a usage history day file (usage_file.h) atomically: the
 * counters, the top sources by passed and by blocked packets (the rest
 * summed in "other"), the baseline, every count within what JSON holds.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "file_replace.h"
#include "load.h"
#include "usage_file.h"

static uint64_t passed(const struct sg_usage_src *s)
{
	return s->c.packets[SG_V_PASS];
}

static uint64_t blocked(const struct sg_usage_src *s)
{
	return sg_usage_blocked(&s->c);
}

/* The ranking qsort uses (qsort has no context argument; one writer,
 * the daemon's loop thread, ranks at a time). */
static uint64_t (*rank_by)(const struct sg_usage_src *);

/* Most first, then by address, so equal days write equal files. */
static int rank_cmp(const void *a, const void *b)
{
	const struct sg_usage_src *x = *(struct sg_usage_src *const *)a;
	const struct sg_usage_src *y = *(struct sg_usage_src *const *)b;
	uint64_t vx = rank_by(x), vy = rank_by(y);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

/* Marks in keep[] the top sources by f that have any of it. */
static void mark_top(const struct sg_usage_day *u, struct sg_usage_src **order, bool *keep,
		     unsigned top, uint64_t (*f)(const struct sg_usage_src *))
{
	rank_by = f;
	qsort(order, u->n_src, sizeof(*order), rank_cmp);
	for (size_t i = 0; i < u->n_src && i < top; i++)
		if (f(order[i]))
			keep[order[i] - u->src] = true;
}

static json_t *verdict_object(const __u64 p[SG_V_COUNT])
{
	json_t *o = json_object();

	for (int v = 0; o && v < SG_V_COUNT; v++)
		json_object_set_new(o, sg_verdict_names[v], json_integer((json_int_t)p[v]));
	return o;
}

/* {reason: packets} of the blocking reasons that have any. */
static json_t *blocked_object(const struct sg_source_stats *c)
{
	json_t *o = json_object();

	for (int r = 0; o && r < SG_SRC_BLOCK_REASONS; r++)
		if (c->blocked[r])
			json_object_set_new(o, sg_reason_names[SG_SRC_FIRST_BLOCK + r],
					    json_integer((json_int_t)c->blocked[r]));
	return o;
}

/* A source's counts (or other's): {packets, connections, bytes, blocked}. */
static json_t *counts_object(const struct sg_source_stats *c)
{
	return json_pack("{s:o, s:I, s:I, s:o}", "packets", verdict_object(c->packets),
			 "connections", (json_int_t)c->conns, "bytes", (json_int_t)c->bytes,
			 "blocked", blocked_object(c));
}

static json_t *sources_json(const struct sg_usage_day *u, unsigned top,
			    struct sg_source_stats *other)
{
	struct sg_usage_src **order = calloc(u->n_src + 1, sizeof(*order));
	bool *keep = calloc(u->n_src + 1, sizeof(*keep));
	json_t *arr = json_array();

	*other = u->other;
	if (!order || !keep || !arr)
		goto fail;
	for (size_t i = 0; i < u->n_src; i++)
		order[i] = &u->src[i];
	mark_top(u, order, keep, top, passed);
	mark_top(u, order, keep, top, blocked);
	/* Written in the order counted: the reader ranks them itself. */
	for (size_t i = 0; i < u->n_src; i++) {
		const struct sg_usage_src *s = &u->src[i];
		char addr[SG_PREFIX_STRLEN];
		json_t *o;

		if (!keep[i]) {
			sg_usage_stats_add(other, &s->c);
			continue;
		}
		sg_addr_format(&s->addr, addr, sizeof(addr));
		o = counts_object(&s->c);
		if (!o || json_object_set_new(o, "source", json_string(addr)) ||
		    json_array_append_new(arr, o))
			goto fail;
	}
	free(order);
	free(keep);
	return arr;
fail:
	free(order);
	free(keep);
	json_decref(arr);
	return NULL;
}

static json_t *counters_json(const struct sg_counter t[SG_V_COUNT][SG_R_COUNT])
{
	json_t *arr = json_array();

	for (int v = 0; arr && v < SG_V_COUNT; v++)
		for (int r = 0; r < SG_R_COUNT; r++) {
			const struct sg_counter *c = &t[v][r];

			if (!c->packets && !c->bytes && !c->conns)
				continue;
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:I}",
				"verdict", sg_verdict_names[v], "reason", sg_reason_names[r],
				"packets", (json_int_t)c->packets, "bytes", (json_int_t)c->bytes,
				"connections", (json_int_t)c->conns));
		}
	return arr;
}

static json_t *base_json(const struct sg_usage_day *u)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < u->n_base; i++) {
		const struct sg_usage_base *b = &u->base[i];

		json_array_append_new(arr, json_pack("[i, i, i, I, I, I]", (int)b->slot,
			(int)b->verdict, (int)b->reason, (json_int_t)b->c.packets,
			(json_int_t)b->c.bytes, (json_int_t)b->c.conns));
	}
	return arr;
}

/* acc += c field by field; false if any sum passes 2^63 - 1. */
static bool add_fits(struct sg_source_stats *acc, const struct sg_source_stats *c)
{
	__u64 *a = (__u64 *)acc;
	const __u64 *x = (const __u64 *)c;

	_Static_assert(sizeof(*c) % sizeof(__u64) == 0, "sg_source_stats: 64-bit fields only");
	for (size_t i = 0; i < sizeof(*c) / sizeof(__u64); i++)
		if (__builtin_add_overflow(a[i], x[i], &a[i]) || a[i] > INT64_MAX)
			return false;
	return true;
}

/* Can every count be written as a JSON integer (at most 2^63 - 1), the
 * sums of the sources not kept included? */
static bool fits_json(const struct sg_usage_day *u)
{
	struct sg_source_stats all = { 0 };

	if (!add_fits(&all, &u->other))
		return false;
	for (int v = 0; v < SG_V_COUNT; v++)
		for (int r = 0; r < SG_R_COUNT; r++)
			if (u->totals[v][r].packets > INT64_MAX || u->totals[v][r].bytes > INT64_MAX ||
			    u->totals[v][r].conns > INT64_MAX)
				return false;
	for (size_t i = 0; i < u->n_src; i++)
		if (!add_fits(&all, &u->src[i].c))
			return false;
	if (u->sources_seen > INT64_MAX)
		return false;
	for (size_t i = 0; i < u->n_base; i++)
		if (u->base[i].c.packets > INT64_MAX || u->base[i].c.bytes > INT64_MAX ||
		    u->base[i].c.conns > INT64_MAX)
			return false;
	return true;
}

int sg_usage_write(const char *dir, const struct sg_usage_day *u, unsigned top,
		   struct sg_err *err)
{
	char path[4096], day[SG_DAY_STRLEN], updated[32];
	struct sg_source_stats other;
	json_t *doc, *src;
	char *text;
	int rc;

	sg_usage_day_format(u->day, day, sizeof(day));
	sg_format_rfc3339(u->updated, updated, sizeof(updated));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", dir, day) >= sizeof(path))
		return sg_errf(err, -ENAMETOOLONG, "%s: path too long", dir);
	if (!fits_json(u))
		return sg_errf(err, -ERANGE, "%s: a count is past 2^63 - 1", path);
	src = sources_json(u, top, &other);
	doc = src ? json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:I, s:b}", "version",
			      SG_USAGE_VERSION, "day", day, "updated", updated,
			      "counters", counters_json(u->totals), "sources", src,
			      "other", counts_object(&other),
			      "sources_seen", (json_int_t)u->sources_seen,
			      "source_detail", u->source_detail) : NULL;
	if (doc && u->has_base)
		json_object_set_new(doc, "baseline", base_json(u));
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return sg_errf(err, -ENOMEM, "%s: out of memory", path);
	rc = sg_file_replace_line(path, text, NULL, NULL, err);
	free(text);
	return rc;
}
