// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reading a statistics snapshot (see stats_snapshot.h).
 *
 * It must stay cheap with every table full: hash maps are read in
 * batches (map_scan.c), the counters of every attachment with one
 * batched read, and the top sources are chosen while the per-source
 * table is read (stats_top.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "map_scan.h"
#include "stats_snapshot.h"
#include "stats_top.h"

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

/* ---- sources -------------------------------------------------------------- */

struct source_scan {
	struct sg_stats_top top;
	struct sg_source_cached *cached;  /* NULL: the caches are left out */
	int ncpus;
};

static void offer_source(struct source_scan *sc, const struct sg_addr *a,
			 const struct sg_source_stats *sum)
{
	struct sg_stats_source s;

	memset(&s, 0, sizeof(s));
	s.addr = *a;
	memcpy(s.packets, sum->packets, sizeof(s.packets));
	s.conns = sum->conns;
	s.bytes = sum->bytes;
	memcpy(s.blocked, sum->blocked, sizeof(s.blocked));
	sg_stats_top_offer(&sc->top, &s);
}

static int on_source(const void *key, const void *value, void *ctx)
{
	const struct sg_source_stats *percpu = value;
	struct source_scan *sc = ctx;
	struct sg_source_stats sum;

	memset(&sum, 0, sizeof(sum));
	for (int c = 0; c < sc->ncpus; c++) {
		for (int v = 0; v < SG_V_COUNT; v++)
			sum.packets[v] += percpu[c].packets[v];
		sum.conns += percpu[c].conns;
		sum.bytes += percpu[c].bytes;
		for (int r = 0; r < SG_SRC_BLOCK_REASONS; r++)
			sum.blocked[r] += percpu[c].blocked[r];
	}
	sg_source_cached_add(sc->cached, key, &sum);
	offer_source(sc, key, &sum);
	return 0;
}

/* A source whose only packets are still in a cache. */
static int on_cached_source(const struct sg_addr *a, const struct sg_source_stats *sum,
			    void *ctx)
{
	offer_source(ctx, a, sum);
	return 0;
}

static int collect_sources(struct sg_dp *dp, const struct sg_stats_opts *o,
			   struct sg_stats_snapshot *s)
{
	int fd = sg_dp_map_fd(dp, "sg_sources"), rc;
	struct source_scan sc = { .ncpus = ncpus() };
	size_t room = (size_t)o->top_n * (o->top_blocked ? 2 : 1);

	if (fd < 0)
		return -ENOENT;
	if (sg_stats_top_init(&sc.top, o->top_n, o->top_blocked))
		return -ENOMEM;
	s->sources = calloc(room ? room : 1, sizeof(*s->sources));
	if (!s->sources) {
		sg_stats_top_free(&sc.top);
		return -ENOMEM;
	}
	/* The caches are read before the table, as sg_dp_source_foreach
	 * does: a flush in between counts twice for a moment, loses nothing. */
	if (o->add_cached)
		sc.cached = sg_dp_source_cached(dp);
	/* Per-CPU values are 8-byte aligned per CPU; ours is 104 bytes. */
	_Static_assert(sizeof(struct sg_source_stats) % 8 == 0, "per-CPU value stride");
	rc = sg_map_scan(fd, sizeof(struct sg_addr), sizeof(struct sg_source_stats) * sc.ncpus,
			 on_source, &sc);
	if (!rc)
		rc = sg_source_cached_rest(sc.cached, on_cached_source, &sc);
	sg_source_cached_free(sc.cached);
	s->sources_tracked = sc.top.seen;
	s->n_sources = sg_stats_top_finish(&sc.top, s->sources);
	/* Formatted once here, for every view that shows them. */
	for (size_t i = 0; i < s->n_sources; i++)
		sg_addr_format(&s->sources[i].addr, s->sources[i].text, sizeof(s->sources[i].text));
	s->sources_read = true;
	return rc;
}

/* ---- bans and policy ----------------------------------------------------- */

struct ban_scan {
	uint64_t now, active, automatic;
};

static int on_ban(const void *key, const void *value, void *ctx)
{
	const struct sg_ban *b = value;
	struct ban_scan *sc = ctx;

	(void)key;
	if (b->expires_ns && b->expires_ns <= sc->now)
		return 0; /* expired: the kernel no longer applies it */
	sc->active++;
	sc->automatic += !!(b->flags & SG_BAN_AUTO);
	return 0;
}

/* Automatic bans are per trusted entry (one record per banned entry).
 * Counting them needs no entry names, so this never reads the data
 * plane's index of slots, which a reload replaces off smtpgated's loop. */
static int on_auto_ban(const void *key, const void *value, void *ctx)
{
	const struct sg_auto_ban *b = value;
	struct ban_scan *sc = ctx;

	(void)key;
	if (b->expires_ns && b->expires_ns <= sc->now)
		return 0;
	sc->active++;
	sc->automatic++;
	return 0;
}

static int collect_bans(struct sg_dp *dp, struct sg_stats_snapshot *s)
{
	struct ban_scan sc = { .now = sg_boot_ns() };
	int fd = sg_dp_map_fd(dp, "sg_bans"), afd = sg_dp_map_fd(dp, "sg_auto_bans"), rc;

	if (fd < 0 || afd < 0)
		return -ENOENT;
	rc = sg_map_scan(fd, sizeof(struct sg_addr), sizeof(struct sg_ban), on_ban, &sc);
	if (!rc)
		rc = sg_map_scan(afd, sizeof(__u32), sizeof(struct sg_auto_ban), on_auto_ban, &sc);
	s->bans_active = sc.active;
	s->bans_auto_active = sc.automatic;
	return rc;
}

static int collect_policy(struct sg_dp *dp, struct sg_stats_snapshot *s)
{
	struct sg_config *cfg = malloc(sizeof(*cfg));

	s->mode = -1;
	if (!cfg)
		return -ENOMEM;
	sg_dp_active_config(dp, cfg);
	if (cfg->generation) {
		s->generation = cfg->generation;
		s->mode = (int)cfg->mode;
	}
	free(cfg);
	return 0;
}

/* ---- attachments --------------------------------------------------------- */

static const char *xdp_mode_name(uint32_t flags)
{
	if (flags & XDP_FLAGS_DRV_MODE)
		return "native";
	if (flags & XDP_FLAGS_SKB_MODE)
		return "generic";
	return "";
}

static bool listed(const struct sg_stats_snapshot *s, const char *ifname, int hook)
{
	for (size_t i = 0; i < s->n_attach; i++)
		if (s->attach[i].hook == hook && !strcmp(s->attach[i].ifname, ifname))
			return true;
	return false;
}

/* The counters of slots 0..n_slots-1, summed over CPUs, with one batched
 * read of the per-CPU array instead of a lookup per (slot, verdict,
 * reason): 2304 syscalls with every slot in use.  NULL if the kernel
 * cannot (the caller then reads slot by slot). */
static struct sg_counter *read_counter_slots(struct sg_dp *dp, uint32_t n_slots)
{
	int fd = sg_dp_map_fd(dp, "sg_counters"), n = ncpus();
	__u32 entries = n_slots * SG_V_COUNT * SG_R_COUNT, done = 0;
	struct sg_counter *percpu, *sum;
	__u32 *keys;

	if (fd < 0 || !entries)
		return NULL;
	keys = calloc(entries, sizeof(*keys));
	percpu = calloc((size_t)entries * (size_t)n, sizeof(*percpu));
	sum = calloc(entries, sizeof(*sum));
	while (keys && percpu && sum && done < entries) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 in = done, out = 0, count = entries - done;
		int err = bpf_map_lookup_batch(fd, done ? &in : NULL, &out, keys + done,
					       percpu + (size_t)done * n, &count, &opts);

		if ((err && errno != ENOENT) || !count)
			break;
		done += count;
	}
	if (done < entries) {
		free(sum);
		sum = NULL;
	}
	for (__u32 i = 0; sum && i < entries; i++) {
		for (int c = 0; c < n; c++) {
			const struct sg_counter *pc = &percpu[(size_t)i * n + c];

			sum[i].packets += pc->packets;
			sum[i].bytes += pc->bytes;
			sum[i].conns += pc->conns;
		}
	}
	free(keys);
	free(percpu);
	return sum;
}

static int collect_attachments(struct sg_dp *dp, const struct sg_stats_opts *o,
			       struct sg_stats_snapshot *s)
{
	struct sg_attachment a[SG_MAX_ATTACH];
	int n = sg_dp_attachments(dp, a, SG_MAX_ATTACH);
	struct sg_counter *all = NULL;
	uint32_t n_slots = 0;

	if (n < 0)
		return n;
	if (n > SG_MAX_ATTACH)
		n = SG_MAX_ATTACH;
	s->attach = calloc((size_t)n + o->n_ifaces + 1, sizeof(*s->attach));
	if (!s->attach)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (a[i].slot < SG_MAX_ATTACH && a[i].slot + 1 > n_slots)
			n_slots = a[i].slot + 1;
	all = read_counter_slots(dp, n_slots);
	for (int i = 0; i < n; i++) {
		struct sg_stats_attachment *m = &s->attach[s->n_attach];
		int rc = 0;

		snprintf(m->ifname, sizeof(m->ifname), "%s", a[i].ifname);
		m->hook = a[i].hook;
		m->mode = a[i].hook == SG_HOOK_XDP ? xdp_mode_name(a[i].xdp_flags) : "";
		m->attached = a[i].attached;
		m->has_slot = true;
		if (all && a[i].slot < n_slots)
			memcpy(m->c, &all[sg_counter_index(a[i].slot, 0, 0)], sizeof(m->c));
		else
			rc = sg_dp_read_counters(dp, a[i].slot, m->c);
		if (rc) {
			free(all);
			return rc;
		}
		s->n_attach++;
	}
	free(all);
	/* Configured but never attached (the interface is not there yet). */
	for (size_t i = 0; i < o->n_ifaces; i++) {
		struct sg_stats_attachment *m = &s->attach[s->n_attach];
		const struct sg_iface_cfg *c = &o->ifaces[i];

		if (listed(s, c->name, c->hook))
			continue;
		snprintf(m->ifname, sizeof(m->ifname), "%s", c->name);
		m->hook = c->hook;
		m->mode = c->hook != SG_HOOK_XDP ? ""
			  : c->xdp_mode == SG_XDP_NATIVE ? "native"
			  : c->xdp_mode == SG_XDP_GENERIC ? "generic" : "";
		s->n_attach++;
	}
	return 0;
}

/* ---- the whole snapshot -------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sg_stats_collect(struct sg_dp *dp, const struct sg_stats_opts *opts,
		     struct sg_stats_snapshot *s)
{
	double t0 = now_seconds();
	int rc;

	memset(s, 0, sizeof(*s));
	rc = collect_attachments(dp, opts, s);
	if (!rc)
		rc = sg_dp_read_stats(dp, s->stats);
	if (!rc)
		rc = collect_policy(dp, s);
	if (!rc)
		rc = collect_bans(dp, s);
	if (!rc && opts->sources)
		rc = collect_sources(dp, opts, s);
	if (!rc) {
		int n = sg_dp_map_memory(dp, s->maps, SG_MAX_MAPS, &s->maps_total);

		s->n_maps = n < 0 ? 0 : n > SG_MAX_MAPS ? SG_MAX_MAPS : n;
	}
	if (rc) {
		sg_stats_snapshot_free(s);
		return rc;
	}
	s->collect_seconds = now_seconds() - t0;
	return 0;
}

void sg_stats_snapshot_free(struct sg_stats_snapshot *s)
{
	free(s->attach);
	free(s->sources);
	memset(s, 0, sizeof(*s));
}

void sg_stats_verdict_totals(const struct sg_stats_snapshot *s, uint64_t totals[SG_V_COUNT])
{
	memset(totals, 0, sizeof(uint64_t) * SG_V_COUNT);
	for (size_t i = 0; i < s->n_attach; i++)
		for (int v = 0; v < SG_V_COUNT; v++)
			for (int r = 0; r < SG_R_COUNT; r++)
				totals[v] += s->attach[i].c[v][r].packets;
}
