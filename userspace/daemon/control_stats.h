/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The counters of a data plane as JSON: the "stats" result of the control
 * protocol, and the attachment list of "status".  Both smtpgated (through
 * its maps) and smtpgatectl (stats --pin-dir, reading the pinned maps when
 * the daemon is down) build it, so the two outputs cannot drift apart.
 * Header-only because the Makefile links the daemon and the CLI from
 * their own directories; it belongs in userspace/lib eventually.
 */
#ifndef SGD_CONTROL_STATS_H
#define SGD_CONTROL_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "dataplane.h"

static inline json_t *sg_stats_xdp_mode(const struct sg_attachment *a)
{
	if (a->hook != SG_HOOK_XDP)
		return json_null();
	if (a->xdp_flags & XDP_FLAGS_DRV_MODE)
		return json_string("native");
	if (a->xdp_flags & XDP_FLAGS_SKB_MODE)
		return json_string("generic");
	return json_null();
}

/* Non-zero counters of one slot; adds packets per verdict to totals. */
static inline json_t *sg_stats_counters(struct sg_dp *dp, uint32_t slot,
					uint64_t totals[SG_V_COUNT])
{
	struct sg_counter (*c)[SG_R_COUNT] = calloc(SG_V_COUNT, sizeof(*c));
	json_t *arr = json_array();

	if (!c || !arr || sg_dp_read_counters(dp, slot, c)) {
		free(c);
		json_decref(arr);
		return NULL;
	}
	for (int v = 0; v < SG_V_COUNT; v++) {
		for (int r = 0; r < SG_R_COUNT; r++) {
			if (!c[v][r].packets)
				continue;
			totals[v] += c[v][r].packets;
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:I}",
				"verdict", sg_verdict_names[v], "reason", sg_reason_names[r],
				"packets", (json_int_t)c[v][r].packets,
				"bytes", (json_int_t)c[v][r].bytes,
				"connections", (json_int_t)c[v][r].conns));
		}
	}
	free(c);
	return arr;
}

/* [{"interface", "hook", "mode", "attached"[, "counters"]}]; totals (may
 * be NULL) gets packets per verdict over every attachment. */
static inline json_t *sg_stats_attachments(struct sg_dp *dp, bool counters,
					   uint64_t totals[SG_V_COUNT])
{
	struct sg_attachment *a = calloc(SG_MAX_ATTACH, sizeof(*a));
	uint64_t scratch[SG_V_COUNT] = { 0 };
	json_t *arr = json_array();
	int n;

	if (!a || !arr) {
		free(a);
		json_decref(arr);
		return NULL;
	}
	n = sg_dp_attachments(dp, a, SG_MAX_ATTACH);
	for (int i = 0; i < n && i < SG_MAX_ATTACH; i++) {
		json_t *o = json_pack("{s:s, s:s, s:o, s:b}", "interface", a[i].ifname,
				      "hook", sg_hook_name(a[i].hook),
				      "mode", sg_stats_xdp_mode(&a[i]), "attached", a[i].attached);
		json_t *c = sg_stats_counters(dp, a[i].slot, totals ? totals : scratch);

		if (o && counters)
			json_object_set_new(o, "counters", c ? c : json_array());
		else
			json_decref(c);
		json_array_append_new(arr, o);
	}
	free(a);
	return arr;
}

struct sg_stats_source {
	struct sg_addr addr;
	struct sg_source_stats s;
	uint64_t total;
};

struct sg_stats_sources {
	struct sg_stats_source *v;
	size_t n, cap;
};

static inline int sg_stats_source_cb(const struct sg_addr *a, const struct sg_source_stats *st,
				     void *ctx)
{
	struct sg_stats_sources *s = ctx;
	struct sg_stats_source *e;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *v = realloc(s->v, cap * sizeof(*s->v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	e = &s->v[s->n++];
	e->addr = *a;
	e->s = *st;
	e->total = 0;
	for (int i = 0; i < SG_V_COUNT; i++)
		e->total += st->packets[i];
	return 0;
}

/* Most packets first; equal counts by address, so the order is stable. */
static inline int sg_stats_source_cmp(const void *a, const void *b)
{
	const struct sg_stats_source *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return memcmp(x->addr.b, y->addr.b, sizeof(x->addr.b));
}

/* {reason: blocked packets} of the reasons that have any. */
static inline json_t *sg_stats_blocked_json(const struct sg_source_stats *s)
{
	json_t *o = json_object();

	for (int r = 0; o && r < SG_SRC_BLOCK_REASONS; r++)
		if (s->blocked[r])
			json_object_set_new(o, sg_reason_names[SG_SRC_FIRST_BLOCK + r],
					    json_integer((json_int_t)s->blocked[r]));
	return o;
}

/* The top sources by packets: [{"source", "packets": {verdict: n}, "total",
 * "connections", "bytes" (passed), "blocked": {reason: n}}]. */
static inline json_t *sg_stats_sources_json(struct sg_dp *dp, unsigned top)
{
	struct sg_stats_sources s = { 0 };
	json_t *arr = json_array();
	char text[SG_PREFIX_STRLEN];

	if (!arr || sg_dp_source_foreach(dp, sg_stats_source_cb, &s)) {
		free(s.v);
		json_decref(arr);
		return NULL;
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), sg_stats_source_cmp);
	for (size_t i = 0; i < s.n && i < top; i++) {
		json_t *per = json_object();

		for (int v = 0; per && v < SG_V_COUNT; v++)
			json_object_set_new(per, sg_verdict_names[v],
					    json_integer((json_int_t)s.v[i].s.packets[v]));
		sg_addr_format(&s.v[i].addr, text, sizeof(text));
		json_array_append_new(arr, json_pack("{s:s, s:o, s:I, s:I, s:I, s:o}",
						     "source", text,
						     "packets", per ? per : json_object(),
						     "total", (json_int_t)s.v[i].total,
						     "connections", (json_int_t)s.v[i].s.conns,
						     "bytes", (json_int_t)s.v[i].s.bytes,
						     "blocked", sg_stats_blocked_json(&s.v[i].s)));
	}
	free(s.v);
	return arr;
}

static inline int sg_stats_ban_cb(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	uint64_t *count = ctx;

	(void)a;
	if (!b->expires_ns || b->expires_ns > sg_boot_ns())
		(*count)++;
	return 0;
}

/* Unexpired automatic bans, read from their records alone: counting
 * needs no entry names, so this never reads the data plane's index of
 * slots, which a reload replaces off smtpgated's loop. */
static inline uint64_t sg_stats_auto_bans_active(struct sg_dp *dp)
{
	int fd = sg_dp_map_fd(dp, "sg_auto_bans");
	uint64_t n = 0, now = sg_boot_ns();
	__u32 key, next, *prev = NULL;
	struct sg_auto_ban rec;

	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &rec) &&
		    (!rec.expires_ns || rec.expires_ns > now))
			n++;
	}
	return n;
}

/* Unexpired bans: manual ones (by address) and automatic ones (by entry). */
static inline uint64_t sg_stats_bans_active(struct sg_dp *dp)
{
	uint64_t n = 0;

	sg_dp_ban_foreach(dp, sg_stats_ban_cb, &n);
	return n + sg_stats_auto_bans_active(dp);
}

/* {"generation", "trusted_entries", "bans_active", "events_lost", ...};
 * trusted: the number of trusted entries in force (smtpgated gives its
 * own copy, which a reload off its loop does not change under it). */
static inline json_t *sg_stats_data_plane(struct sg_dp *dp, long trusted)
{
	uint64_t st[SG_STAT_COUNT] = { 0 };
	json_t *o = json_pack("{s:I, s:I, s:I}",
			      "generation", (json_int_t)sg_dp_generation(dp),
			      "trusted_entries", (json_int_t)trusted,
			      "bans_active", (json_int_t)sg_stats_bans_active(dp));

	if (o && !sg_dp_read_stats(dp, st))
		for (int i = 0; i < SG_STAT_COUNT; i++)
			json_object_set_new(o, sg_stat_names[i], json_integer((json_int_t)st[i]));
	return o;
}

/* The "stats" result, with `trusted` entries in force. */
static inline json_t *sg_stats_json_n(struct sg_dp *dp, bool sources, unsigned top, long trusted)
{
	json_t *o = json_object(), *att = sg_stats_attachments(dp, true, NULL);
	json_t *src = sources ? sg_stats_sources_json(dp, top) : NULL;
	json_t *dpj = sg_stats_data_plane(dp, trusted);

	if (!o || !att || !dpj || (sources && !src)) {
		json_decref(o);
		json_decref(att);
		json_decref(src);
		json_decref(dpj);
		return NULL;
	}
	json_object_set_new(o, "attachments", att);
	if (sources)
		json_object_set_new(o, "sources", src);
	json_object_set_new(o, "data_plane", dpj);
	return o;
}

/* The "stats" result, as the data plane's handle counts its entries. */
static inline json_t *sg_stats_json(struct sg_dp *dp, bool sources, unsigned top)
{
	return sg_stats_json_n(dp, sources, top, sg_dp_trust_count(dp));
}

#endif
