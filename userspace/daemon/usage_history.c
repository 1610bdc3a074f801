// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The usage history: what the data plane counted, per UTC day, in
 * <state_dir>/usage/YYYY-MM-DD.json (usage_file.h).
 *
 * The kernel's counters only grow, until they are recreated (a reboot,
 * --detach) or a slot is reused; so the history is kept as deltas: each
 * read is compared with the last one, cell by cell (attachment slot,
 * verdict, reason) and source by source, and a value lower than the last
 * counts as a reset (the new value is all new).  The last values the
 * counters had are written in the day file with the day's sums, in one
 * atomic write, so a restarted daemon that finds its maps pinned counts
 * on from there: what passed while it was down is counted too, never
 * twice.  Per source (packets per verdict; connections and bytes
 * passed; blocked packets per reason) the last values are kept in memory
 * only (there can be 131072 sources): after a restart, a source's
 * packets while the daemon was away are in the totals but not in its
 * row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "log.h"
#include "usage_file.h"
#include "usage_history.h"

/* Seconds between writes of the day file. */
#define WRITE_EVERY 60
/* Sources remembered (their last counts, their row of the day): the
 * data plane's table and as many more that were seen today and left it. */
#define MAX_TRACKED (2 * SG_MAX_SOURCES)

struct tracked {
	struct sg_addr addr;
	struct sg_source_stats last; /* as last read; all 0 when it left the table */
	int32_t row;                 /* index in day.src, -1 if none today */
	uint32_t seen;               /* the read that last saw it */
	bool used;
};

static struct {
	bool on;
	char dir[PATH_MAX];
	struct sg_usage_day day;
	struct sg_counter last[SG_MAX_ATTACH][SG_V_COUNT][SG_R_COUNT];
	struct tracked *tab;
	size_t cap, n;
	uint32_t reads;
	unsigned since_write;
	bool write_failing;
} h;

static uint64_t addr_hash(const struct sg_addr *a)
{
	uint64_t x = ((uint64_t)a->w[0] << 32 | a->w[1]) ^ ((uint64_t)a->w[2] << 32 | a->w[3]);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static struct tracked *slot_for(struct tracked *tab, size_t cap, const struct sg_addr *a)
{
	size_t i = addr_hash(a) & (cap - 1);

	while (tab[i].used && memcmp(&tab[i].addr, a, sizeof(*a)))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* Rebuilds the table into cap slots, keeping only entries worth keeping
 * (drop_idle: those that neither are in the kernel's table nor have a
 * row today). */
static int rehash(size_t cap, bool drop_idle)
{
	struct tracked *tab = calloc(cap, sizeof(*tab));
	size_t n = 0;

	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < h.cap; i++) {
		struct tracked *t = &h.tab[i];
		static const struct sg_source_stats zero;
		bool idle = t->row < 0 && !memcmp(&t->last, &zero, sizeof(zero));

		if (!t->used || (drop_idle && idle))
			continue;
		*slot_for(tab, cap, &t->addr) = *t;
		n++;
	}
	free(h.tab);
	h.tab = tab;
	h.cap = cap;
	h.n = n;
	return 0;
}

static struct tracked *track(const struct sg_addr *a)
{
	struct tracked *t;

	if ((h.n + 1) * 2 > h.cap && (h.cap >= 2 * MAX_TRACKED || rehash(h.cap ? h.cap * 2 : 1024, false)))
		return NULL;
	t = slot_for(h.tab, h.cap, a);
	if (!t->used) {
		memset(t, 0, sizeof(*t));
		t->used = true;
		t->addr = *a;
		t->row = -1;
		h.n++;
	}
	return t;
}

/* The counts since the last read, field by field: a field lower than
 * last time was reset (the source left the kernel's table and came
 * back), so all of its value is new.  Returns whether any moved. */
static bool source_delta(struct sg_source_stats *last, const struct sg_source_stats *now,
			 struct sg_source_stats *delta)
{
	__u64 *l = (__u64 *)last, *d = (__u64 *)delta;
	const __u64 *n = (const __u64 *)now;
	bool any = false;

	_Static_assert(sizeof(*now) % sizeof(__u64) == 0, "sg_source_stats: 64-bit fields only");
	for (size_t i = 0; i < sizeof(*now) / sizeof(__u64); i++) {
		d[i] = n[i] >= l[i] ? n[i] - l[i] : n[i];
		l[i] = n[i];
		any = any || d[i];
	}
	return any;
}

static int on_source(const struct sg_addr *a, const struct sg_source_stats *now, void *ctx)
{
	struct tracked *t = track(a);
	struct sg_source_stats delta;

	(void)ctx;
	if (!t)
		return 0; /* over MAX_TRACKED: in the totals, not attributed */
	t->seen = h.reads;
	if (!source_delta(&t->last, now, &delta))
		return 0;
	if (t->row < 0) {
		if (sg_usage_add_source(&h.day, a, &delta))
			return 0;
		t->row = (int32_t)(h.day.n_src - 1);
		h.day.sources_seen++;
		return 0;
	}
	sg_usage_stats_add(&h.day.src[t->row].c, &delta);
	return 0;
}

static void add_delta(__u64 *sum, __u64 *last, __u64 now)
{
	*sum += now >= *last ? now - *last : now;
	*last = now;
}

/* Reads every counter and source, adding what is new to the day. */
static void read_counts(struct sgd *d)
{
	struct sg_counter (*c)[SG_R_COUNT] = calloc(SG_V_COUNT, sizeof(*c));

	if (!c)
		return;
	for (uint32_t s = 0; s < SG_MAX_ATTACH; s++) {
		if (sg_dp_read_counters(d->dp, s, c))
			continue;
		for (int v = 0; v < SG_V_COUNT; v++)
			for (int r = 0; r < SG_R_COUNT; r++) {
				struct sg_counter *sum = &h.day.totals[v][r], *last = &h.last[s][v][r];

				add_delta(&sum->packets, &last->packets, c[v][r].packets);
				add_delta(&sum->bytes, &last->bytes, c[v][r].bytes);
				add_delta(&sum->conns, &last->conns, c[v][r].conns);
			}
	}
	free(c);
	h.reads++;
	sg_dp_source_foreach(d->dp, on_source, NULL);
	/* Sources the kernel's table no longer has start again from 0. */
	for (size_t i = 0; i < h.cap; i++)
		if (h.tab[i].used && h.tab[i].seen != h.reads)
			memset(&h.tab[i].last, 0, sizeof(h.tab[i].last));
}

/* The counters' last values into the day, for the file. */
static void set_baseline(void)
{
	size_t n = 0;

	free(h.day.base);
	h.day.base = calloc(SG_MAX_ATTACH * SG_V_COUNT * SG_R_COUNT, sizeof(*h.day.base));
	h.day.n_base = 0;
	h.day.has_base = h.day.base != NULL;
	for (uint32_t s = 0; h.day.base && s < SG_MAX_ATTACH; s++)
		for (uint32_t v = 0; v < SG_V_COUNT; v++)
			for (uint32_t r = 0; r < SG_R_COUNT; r++) {
				const struct sg_counter *l = &h.last[s][v][r];

				if (!l->packets && !l->bytes && !l->conns)
					continue;
				h.day.base[n++] = (struct sg_usage_base){ s, v, r, *l };
			}
	h.day.n_base = n;
}

static void write_day(struct sgd *d)
{
	struct sg_err err = { 0 };
	int rc;

	h.day.updated = time(NULL);
	set_baseline();
	rc = sg_usage_write(h.dir, &h.day, d->cfg.history_top_sources, &err);
	if (rc < 0 && !h.write_failing)
		sgd_err("usage history: %s; retrying every %d s", err.msg, WRITE_EVERY);
	else if (rc >= 0 && h.write_failing)
		sgd_notice("usage history: %s written again", h.dir);
	h.write_failing = rc < 0;
	h.since_write = 0;
}

static void prune(struct sgd *d)
{
	struct sg_err err = { 0 };
	int rc = sg_usage_prune(h.dir, h.day.day, d->cfg.history_retention_days, &err);

	if (rc < 0)
		sgd_warn("usage history: pruning: %s", err.msg);
	else if (rc > 0)
		sgd_info("usage history: removed %d day file(s) older than %u days", rc,
			 d->cfg.history_retention_days);
}

/* Starts a new day: the sums restart, the last values carry on. */
static void new_day(int64_t day)
{
	sg_usage_day_free(&h.day);
	h.day.day = day;
	h.day.source_detail = true;
	for (size_t i = 0; i < h.cap; i++)
		h.tab[i].row = -1;
	rehash(h.cap ? h.cap : 1024, true);
}

/* Today's sums from today's file (a restart, even after a reboot, goes
 * on adding to them) and, when the maps are the ones the newest file was
 * counted from (pinned, reused), the counters' last values from it. */
static void resume(struct sgd *d, int64_t today)
{
	struct sg_err err = { 0 };
	struct sg_usage_day u;
	char name[SG_DAY_STRLEN], path[PATH_MAX + 32];
	int64_t *days;
	size_t n;

	if (sg_usage_list(h.dir, INT64_MIN, today, &days, &n, &err))
		return;
	if (!n) {
		free(days);
		return;
	}
	sg_usage_day_format(days[n - 1], name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s.json", h.dir, name);
	free(days);
	if (sg_usage_read(path, &u, &err)) {
		sgd_warn("usage history: %s; counting from now on (a damaged file of today is replaced)", err.msg);
		return;
	}
	for (size_t i = 0; sg_dp_reused(d->dp) && i < u.n_base; i++)
		h.last[u.base[i].slot][u.base[i].verdict][u.base[i].reason] = u.base[i].c;
	if (u.day != today) {
		sg_usage_day_free(&u);
		return;
	}
	/* Sources go on in their rows (looked up by address).  A day that a
	 * version 1 file began has no per-source detail for its first
	 * part: it keeps source_detail false, which the file says. */
	for (size_t i = 0; i < u.n_src; i++) {
		struct tracked *t = track(&u.src[i].addr);

		if (t)
			t->row = (int32_t)i;
	}
	free(u.base);
	u.base = NULL;
	u.n_base = 0;
	h.day = u;
}

/* Each source the kernel has now is where its counting starts. */
static int baseline_source(const struct sg_addr *a, const struct sg_source_stats *now, void *ctx)
{
	struct tracked *t = track(a);

	(void)ctx;
	if (t)
		t->last = *now;
	return 0;
}

void sgd_history_start(struct sgd *d)
{
	int64_t today = sg_usage_day_start(time(NULL));

	snprintf(h.dir, sizeof(h.dir), "%s/%s", d->cfg.state_dir, SG_USAGE_DIR);
	if (mkdir(h.dir, 0750) && errno != EEXIST) {
		sgd_err("usage history: %s: %s; no history is kept", h.dir, strerror(errno));
		return;
	}
	h.day.day = today;
	h.day.source_detail = true;
	if (rehash(1024, false))
		return;
	resume(d, today);
	/* Fresh maps count from zero: everything in them is new. */
	if (sg_dp_reused(d->dp))
		sg_dp_source_foreach(d->dp, baseline_source, NULL);
	h.on = true;
	prune(d);
	sgd_state_event(d, "start");
}

void sgd_history_tick(struct sgd *d)
{
	int64_t today;

	sgd_state_tick(d);
	if (!h.on || ++h.since_write < WRITE_EVERY)
		return;
	today = sg_usage_day_start(time(NULL));
	read_counts(d);
	write_day(d);
	if (today != h.day.day) {
		/* What came since the last read is the old day's (a minute at
		 * most); the new day starts from here. */
		new_day(today);
		write_day(d);
		prune(d);
		sgd_state_event(d, "daily");
	}
}

void sgd_history_stop(struct sgd *d)
{
	if (h.on) {
		read_counts(d);
		write_day(d);
	}
	sgd_state_event(d, "stop");
	sg_usage_day_free(&h.day);
	free(h.tab);
	memset(&h, 0, sizeof(h));
}
