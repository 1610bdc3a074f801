// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Per-source statistics snapshots for the BPF tests (src_snap.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "src_snap.h"
#include "tap.h"
#include "unit.h"

static int collect(const struct sg_addr *a, const struct sg_source_stats *s, void *ctx)
{
	struct src_snap *snap = ctx;

	if (snap->n == snap->cap) {
		size_t cap = snap->cap ? snap->cap * 2 : 64;
		struct src_row *v = realloc(snap->v, cap * sizeof(*v));

		if (!v)
			return -1;
		snap->v = v;
		snap->cap = cap;
	}
	snap->v[snap->n].addr = *a;
	snap->v[snap->n].s = *s;
	snap->n++;
	return 0;
}

void src_snap_take(struct sg_dp *dp, struct src_snap *snap)
{
	snap->n = 0;
	if (sg_dp_source_foreach(dp, collect, snap))
		tap_bail("sg_dp_source_foreach failed");
}

void src_snap_free(struct src_snap *snap)
{
	free(snap->v);
	memset(snap, 0, sizeof(*snap));
}

void src_expect_one(struct sg_source_stats *want, int verdict, int reason, uint64_t bytes,
		    uint64_t conns)
{
	memset(want, 0, sizeof(*want));
	if (verdict < 0)
		return;
	want->packets[verdict] = 1;
	if (verdict == SG_V_PASS) {
		want->bytes = bytes;
		want->conns = conns;
	} else if (verdict != SG_V_MONITOR) {
		want->blocked[reason - SG_SRC_FIRST_BLOCK] = 1;
	}
}

const char *src_stats_text(const struct sg_source_stats *s, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int v = 0; v < SG_V_COUNT; v++)
		if (s->packets[v])
			ut_appendf(buf, len, "%s %llu ", sg_verdict_names[v],
				   (unsigned long long)s->packets[v]);
	if (s->conns)
		ut_appendf(buf, len, "conns %llu ", (unsigned long long)s->conns);
	if (s->bytes)
		ut_appendf(buf, len, "bytes %llu ", (unsigned long long)s->bytes);
	for (int r = 0; r < SG_SRC_BLOCK_REASONS; r++)
		if (s->blocked[r])
			ut_appendf(buf, len, "%s %llu ", sg_reason_names[SG_SRC_FIRST_BLOCK + r],
				   (unsigned long long)s->blocked[r]);
	if (!buf[0])
		snprintf(buf, len, "nothing");
	return buf;
}

static const struct sg_source_stats *find(const struct src_snap *snap, const struct sg_addr *a)
{
	for (size_t i = 0; i < snap->n; i++)
		if (!memcmp(&snap->v[i].addr, a, sizeof(*a)))
			return &snap->v[i].s;
	return NULL;
}

/* The difference of two statistics, field by field (64-bit each). */
static void diff(const struct sg_source_stats *after, const struct sg_source_stats *before,
		 struct sg_source_stats *d)
{
	static const struct sg_source_stats zero;
	const __u64 *a = (const __u64 *)after, *b = (const __u64 *)(before ? before : &zero);
	__u64 *x = (__u64 *)d;

	for (size_t i = 0; i < sizeof(*d) / sizeof(__u64); i++)
		x[i] = a[i] - b[i];
}

const char *src_snap_delta_error(const struct src_snap *before, const struct src_snap *after,
				 const struct sg_addr *src, const struct sg_source_stats *want)
{
	static const struct sg_source_stats zero;
	static char why[1024];
	bool src_seen = false;

	why[0] = '\0';
	for (size_t i = 0; i < after->n; i++) {
		const struct src_row *r = &after->v[i];
		bool mine = src && !memcmp(&r->addr, src, sizeof(*src));
		const struct sg_source_stats *exp = mine ? want : &zero;
		struct sg_source_stats d;
		char a[SG_PREFIX_STRLEN], t1[256], t2[256];

		src_seen = src_seen || mine;
		diff(&r->s, find(before, &r->addr), &d);
		if (!memcmp(&d, exp, sizeof(d)))
			continue;
		sg_addr_format(&r->addr, a, sizeof(a));
		ut_appendf(why, sizeof(why), "source %s moved %s(want %s); ", a,
			   src_stats_text(&d, t1, sizeof(t1)), src_stats_text(exp, t2, sizeof(t2)));
	}
	for (size_t i = 0; i < before->n; i++)
		if (!find(after, &before->v[i].addr))
			ut_appendf(why, sizeof(why), "a source left the table; ");
	if (src && !src_seen && memcmp(want, &zero, sizeof(zero)))
		ut_appendf(why, sizeof(why), "the source has no entry; ");
	return why[0] ? why : NULL;
}

const char *src_one_delta_error(const struct sg_source_stats *before,
				const struct sg_source_stats *after,
				const struct sg_source_stats *want)
{
	static char why[600];
	struct sg_source_stats d;
	char t1[256], t2[256];

	diff(after, before, &d);
	if (!memcmp(&d, want, sizeof(d)))
		return NULL;
	snprintf(why, sizeof(why), "moved %s(want %s)", src_stats_text(&d, t1, sizeof(t1)),
		 src_stats_text(want, t2, sizeof(t2)));
	return why;
}
