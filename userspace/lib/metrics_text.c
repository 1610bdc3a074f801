// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Prometheus text exposition (see metrics_text.h and docs/metrics.md).
 *
 * A scrape must stay cheap with the per-source table full (131072 LRU
 * entries, per-CPU values): the tables are read with BPF_MAP_LOOKUP_BATCH,
 * a thousand entries per syscall, instead of two syscalls per entry, and
 * the top sources are picked with two bounded heaps while reading, so
 * memory and output stay O(top_n) whatever a spoofed flood put there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "metrics_text.h"

#define BATCH_ENTRIES     1024
#define BATCH_ENTRIES_MAX 65536

/* ---- reading whole hash maps ----------------------------------------- */

typedef int (*scan_cb)(const void *key, const void *value, void *ctx);

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

/* One entry at a time: for kernels without batch operations on a map. */
static int scan_one_by_one(int fd, size_t key_size, size_t value_size, scan_cb cb, void *ctx)
{
	unsigned char *key = malloc(key_size * 2), *next, *value = malloc(value_size);
	bool first = true;
	int rc = 0;

	if (!key || !value) {
		free(key);
		free(value);
		return -ENOMEM;
	}
	next = key + key_size;
	while (!rc && !bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, key_size);
		if (bpf_map_lookup_elem(fd, key, value))
			continue; /* deleted or evicted meanwhile */
		rc = cb(key, value, ctx);
	}
	free(key);
	free(value);
	return rc;
}

/* Calls cb for every entry of a hash map.  value_size is what a lookup
 * returns (for per-CPU maps: the rounded value times the CPU count).
 * The map is read bucket by bucket: an entry added or removed meanwhile
 * may or may not be seen, none is seen twice. */
static int scan_map(int fd, size_t key_size, size_t value_size, scan_cb cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 batch = BATCH_ENTRIES, count;
	/* The batch cursor is opaque; hash maps use a u32 bucket index. */
	__u64 in_token[4] = { 0 }, out_token[4] = { 0 };
	unsigned char *keys = NULL, *values = NULL;
	bool started = false, done = false;
	int rc = 0, err;

	while (!done && !rc) {
		if (!keys) {
			keys = malloc((size_t)batch * key_size);
			values = malloc((size_t)batch * value_size);
			if (!keys || !values) {
				rc = -ENOMEM;
				break;
			}
		}
		count = batch;
		err = bpf_map_lookup_batch(fd, started ? in_token : NULL, out_token, keys, values,
					   &count, &opts);
		if (err) {
			err = -errno;
			if (err == -ENOENT) {
				done = true;     /* the last entries, if any, are in */
			} else if (err == -ENOSPC && batch < BATCH_ENTRIES_MAX) {
				/* One bucket holds more than a batch: grow. */
				batch *= 4;
				free(keys);
				free(values);
				keys = values = NULL;
				continue;
			} else if (!started && (err == -EINVAL || err == -EOPNOTSUPP ||
						err == -524 /* the kernel's ENOTSUPP */)) {
				free(keys);
				free(values);
				return scan_one_by_one(fd, key_size, value_size, cb, ctx);
			} else {
				rc = err;
				break;
			}
		}
		for (__u32 i = 0; i < count && !rc; i++)
			rc = cb(keys + (size_t)i * key_size, values + (size_t)i * value_size, ctx);
		memcpy(in_token, out_token, sizeof(in_token));
		started = true;
	}
	free(keys);
	free(values);
	return rc;
}

/* ---- choosing the top sources ---------------------------------------- */

static uint64_t total_packets(const struct sg_mt_source *s)
{
	uint64_t t = 0;

	for (int v = 0; v < SG_V_COUNT; v++)
		t += s->packets[v];
	return t;
}

static uint64_t blocked_packets(const struct sg_mt_source *s)
{
	return total_packets(s) - s->packets[SG_V_PASS];
}

typedef uint64_t (*score_fn)(const struct sg_mt_source *s);

/* A min-heap of the `cap` best sources by score: the root is the worst
 * one kept, so a newcomer only has to beat it. */
struct top_heap {
	struct sg_mt_source *e;
	size_t n, cap;
	score_fn score;
};

/* a ranks above b: more packets, or as many and a lower address. */
static bool ranks_above(const struct top_heap *h, const struct sg_mt_source *a,
			const struct sg_mt_source *b)
{
	uint64_t sa = h->score(a), sb = h->score(b);

	if (sa != sb)
		return sa > sb;
	return memcmp(&a->addr, &b->addr, sizeof(a->addr)) < 0;
}

static void heap_sift_down(struct top_heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, worst = i;
		struct sg_mt_source tmp;

		if (l < h->n && ranks_above(h, &h->e[worst], &h->e[l]))
			worst = l;
		if (r < h->n && ranks_above(h, &h->e[worst], &h->e[r]))
			worst = r;
		if (worst == i)
			return;
		tmp = h->e[i];
		h->e[i] = h->e[worst];
		h->e[worst] = tmp;
		i = worst;
	}
}

static void heap_sift_up(struct top_heap *h, size_t i)
{
	while (i) {
		size_t parent = (i - 1) / 2;
		struct sg_mt_source tmp;

		if (!ranks_above(h, &h->e[parent], &h->e[i]))
			return;
		tmp = h->e[i];
		h->e[i] = h->e[parent];
		h->e[parent] = tmp;
		i = parent;
	}
}

static void heap_offer(struct top_heap *h, const struct sg_mt_source *s)
{
	if (!h->cap || !h->score(s))
		return; /* a source with nothing to rank by never makes a list */
	if (h->n < h->cap) {
		h->e[h->n] = *s;
		heap_sift_up(h, h->n++);
	} else if (ranks_above(h, s, &h->e[0])) {
		h->e[0] = *s;
		heap_sift_down(h, 0);
	}
}

static int by_addr(const void *a, const void *b)
{
	return memcmp(&((const struct sg_mt_source *)a)->addr,
		      &((const struct sg_mt_source *)b)->addr, sizeof(struct sg_addr));
}

static int by_total_desc(const void *pa, const void *pb)
{
	const struct sg_mt_source *a = pa, *b = pb;
	uint64_t ta = total_packets(a), tb = total_packets(b);

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return by_addr(a, b);
}

struct top_select {
	struct top_heap by_total, by_blocked;
	uint64_t seen;
};

static int top_select_init(struct top_select *t, unsigned top_n)
{
	memset(t, 0, sizeof(*t));
	t->by_total.score = total_packets;
	t->by_blocked.score = blocked_packets;
	if (!top_n)
		return 0;
	t->by_total.e = calloc(top_n, sizeof(struct sg_mt_source));
	t->by_blocked.e = calloc(top_n, sizeof(struct sg_mt_source));
	if (!t->by_total.e || !t->by_blocked.e) {
		free(t->by_total.e);
		free(t->by_blocked.e);
		return -ENOMEM;
	}
	t->by_total.cap = t->by_blocked.cap = top_n;
	return 0;
}

static void top_select_offer(struct top_select *t, const struct sg_mt_source *s)
{
	t->seen++;
	heap_offer(&t->by_total, s);
	heap_offer(&t->by_blocked, s);
}

static void top_select_free(struct top_select *t)
{
	free(t->by_total.e);
	free(t->by_blocked.e);
	t->by_total.e = t->by_blocked.e = NULL;
	t->by_total.n = t->by_blocked.n = 0;
}

/* Both lists into out (room for both), deduplicated, largest first. */
static size_t top_select_finish(struct top_select *t, struct sg_mt_source *out)
{
	size_t n = 0, kept = 0;

	for (size_t i = 0; i < t->by_total.n; i++)
		out[n++] = t->by_total.e[i];
	for (size_t i = 0; i < t->by_blocked.n; i++)
		out[n++] = t->by_blocked.e[i];
	top_select_free(t);
	qsort(out, n, sizeof(*out), by_addr);
	for (size_t i = 0; i < n; i++)
		if (!kept || by_addr(&out[kept - 1], &out[i]))
			out[kept++] = out[i];
	qsort(out, kept, sizeof(*out), by_total_desc);
	return kept;
}

size_t sg_mt_select_sources(const struct sg_mt_source *src, size_t n, unsigned top_n,
			    struct sg_mt_source *out)
{
	struct top_select t;

	if (top_select_init(&t, top_n))
		return 0;
	for (size_t i = 0; i < n; i++)
		top_select_offer(&t, &src[i]);
	return top_select_finish(&t, out);
}

/* ---- collecting --------------------------------------------------------- */

struct source_scan {
	struct top_select top;
	int ncpus;
};

static int on_source(const void *key, const void *value, void *ctx)
{
	const struct sg_source_stats *percpu = value;
	struct source_scan *sc = ctx;
	struct sg_mt_source s;

	memset(&s, 0, sizeof(s));
	memcpy(&s.addr, key, sizeof(s.addr));
	for (int c = 0; c < sc->ncpus; c++) {
		for (int v = 0; v < SG_V_COUNT; v++)
			s.packets[v] += percpu[c].packets[v];
		s.conns += percpu[c].conns;
		s.bytes += percpu[c].bytes;
		for (int r = 0; r < SG_SRC_BLOCK_REASONS; r++)
			s.blocked[r] += percpu[c].blocked[r];
	}
	top_select_offer(&sc->top, &s);
	return 0;
}

static int collect_sources(struct sg_dp *dp, unsigned top_n, struct sg_mt_snapshot *s)
{
	int fd = sg_dp_map_fd(dp, "sg_sources"), rc;
	struct source_scan sc = { .ncpus = ncpus() };

	if (fd < 0)
		return -ENOENT;
	if (top_select_init(&sc.top, top_n))
		return -ENOMEM;
	s->sources = calloc(top_n ? 2 * (size_t)top_n : 1, sizeof(*s->sources));
	if (!s->sources) {
		top_select_free(&sc.top);
		return -ENOMEM;
	}
	/* Per-CPU values are 8-byte aligned per CPU; ours is 104 bytes. */
	_Static_assert(sizeof(struct sg_source_stats) % 8 == 0, "per-CPU value stride");
	rc = scan_map(fd, sizeof(struct sg_addr), sizeof(struct sg_source_stats) * sc.ncpus,
		      on_source, &sc);
	s->sources_tracked = sc.top.seen;
	s->n_sources = top_select_finish(&sc.top, s->sources);
	return rc;
}

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

/* Automatic bans are per trusted entry (one record per banned entry). */
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

static int collect_bans(struct sg_dp *dp, struct sg_mt_snapshot *s)
{
	struct ban_scan sc = { .now = sg_boot_ns() };
	int fd = sg_dp_map_fd(dp, "sg_bans"), afd = sg_dp_map_fd(dp, "sg_auto_bans"), rc;

	if (fd < 0 || afd < 0)
		return -ENOENT;
	rc = scan_map(fd, sizeof(struct sg_addr), sizeof(struct sg_ban), on_ban, &sc);
	if (!rc)
		rc = scan_map(afd, sizeof(__u32), sizeof(struct sg_auto_ban), on_auto_ban, &sc);
	s->bans_active = sc.active;
	s->bans_auto_active = sc.automatic;
	return rc;
}

static int collect_policy(struct sg_dp *dp, struct sg_mt_snapshot *s)
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

static const char *xdp_mode_name(uint32_t flags)
{
	if (flags & XDP_FLAGS_DRV_MODE)
		return "native";
	if (flags & XDP_FLAGS_SKB_MODE)
		return "generic";
	return "";
}

static bool listed(const struct sg_mt_snapshot *s, const char *ifname, int hook)
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

static int collect_attachments(struct sg_dp *dp, const struct sg_iface_cfg *ifaces,
			       size_t n_ifaces, struct sg_mt_snapshot *s)
{
	struct sg_attachment a[SG_MAX_ATTACH];
	int n = sg_dp_attachments(dp, a, SG_MAX_ATTACH);
	struct sg_counter *all = NULL;
	uint32_t n_slots = 0;

	if (n < 0)
		return n;
	if (n > SG_MAX_ATTACH)
		n = SG_MAX_ATTACH;
	s->attach = calloc((size_t)n + n_ifaces + 1, sizeof(*s->attach));
	if (!s->attach)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (a[i].slot < SG_MAX_ATTACH && a[i].slot + 1 > n_slots)
			n_slots = a[i].slot + 1;
	all = read_counter_slots(dp, n_slots);
	for (int i = 0; i < n; i++) {
		struct sg_mt_attachment *m = &s->attach[s->n_attach];
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
	for (size_t i = 0; i < n_ifaces; i++) {
		struct sg_mt_attachment *m = &s->attach[s->n_attach];
		const struct sg_iface_cfg *c = &ifaces[i];

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

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sg_mt_collect(struct sg_dp *dp, const struct sg_iface_cfg *ifaces, size_t n_ifaces,
		  unsigned top_n, struct sg_mt_snapshot *s)
{
	double t0 = now_seconds();
	int rc;

	memset(s, 0, sizeof(*s));
	rc = collect_attachments(dp, ifaces, n_ifaces, s);
	if (!rc)
		rc = sg_dp_read_stats(dp, s->stats);
	if (!rc)
		rc = collect_policy(dp, s);
	if (!rc)
		rc = collect_bans(dp, s);
	if (!rc)
		rc = collect_sources(dp, top_n, s);
	if (!rc) {
		uint64_t total;
		int n = sg_dp_map_memory(dp, s->maps, SG_MAX_MAPS, &total);

		s->n_maps = n < 0 ? 0 : n > SG_MAX_MAPS ? SG_MAX_MAPS : n;
	}
	if (rc) {
		sg_mt_snapshot_free(s);
		return rc;
	}
	s->collect_seconds = now_seconds() - t0;
	return 0;
}

void sg_mt_snapshot_free(struct sg_mt_snapshot *s)
{
	free(s->attach);
	free(s->sources);
	free(s->expiries);
	memset(s, 0, sizeof(*s));
}

/* ---- rendering ----------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p, or 0 if there is none. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Where escaped text goes: a stream, or a fixed buffer. */
struct sink {
	FILE *f;
	char *buf;
	size_t len, used;
};

static void put(struct sink *k, const char *s, size_t n)
{
	if (k->f) {
		fwrite(s, 1, n, k->f);
		return;
	}
	if (k->used + n < k->len) {
		memcpy(k->buf + k->used, s, n);
		k->used += n;
		k->buf[k->used] = '\0';
	}
}

static void escape_to(struct sink *k, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;

	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '\\')
			put(k, "\\\\", 2);
		else if (*p == '"')
			put(k, "\\\"", 2);
		else if (*p == '\n')
			put(k, "\\n", 2);
		else if (!n)
			put(k, "?", 1);
		else
			put(k, (const char *)p, n);
		p += n ? n : 1;
	}
}

void sg_mt_escape(FILE *out, const char *value)
{
	struct sink k = { .f = out };

	escape_to(&k, value);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Can the data plane ever count (verdict, reason)?  These series are
 * printed even at zero, so an alert sees the first increment. */
static bool combination_occurs(int v, int r)
{
	switch (v) {
	case SG_V_PASS:
		return r == SG_R_TRUSTED || r == SG_R_THROTTLE_ALLOWANCE;
	case SG_V_REJECT:
		/* `unregistered: reject` is the only reject. */
		return r == SG_R_UNTRUSTED_SOURCE;
	case SG_V_DROP:
	case SG_V_MONITOR:
		return r != SG_R_TRUSTED && r != SG_R_THROTTLE_ALLOWANCE;
	default:
		return false;
	}
}

enum counter_field { F_PACKETS, F_BYTES, F_CONNS };

static uint64_t field_of(const struct sg_counter *c, enum counter_field f)
{
	return f == F_PACKETS ? c->packets : f == F_BYTES ? c->bytes : c->conns;
}

/* `interface="...",hook="..."` of one attachment, escaped once for all
 * of its series. */
static void attachment_labels(const struct sg_mt_attachment *a, char *buf, size_t len)
{
	struct sink k = { .buf = buf, .len = len };
	const char *hook = sg_hook_name(a->hook);

	buf[0] = '\0';
	put(&k, "interface=\"", 11);
	escape_to(&k, a->ifname);
	put(&k, "\",hook=\"", 8);
	put(&k, hook, strlen(hook));
	put(&k, "\"", 1);
}

static void render_counters(const struct sg_mt_snapshot *s, FILE *out, const char *name,
			    const char *help, enum counter_field f)
{
	/* Escaping at most doubles the name. */
	char labels[2 * SG_IFNAME_MAX + 64];

	family(out, name, "counter", help);
	for (size_t i = 0; i < s->n_attach; i++) {
		const struct sg_mt_attachment *a = &s->attach[i];

		if (!a->has_slot)
			continue;
		attachment_labels(a, labels, sizeof(labels));
		for (int v = 0; v < SG_V_COUNT; v++) {
			for (int r = 0; r < SG_R_COUNT; r++) {
				uint64_t x = field_of(&a->c[v][r], f);

				/* A count where none can occur is still shown:
				 * it means the table above is out of date. */
				if (!x && !combination_occurs(v, r))
					continue;
				fprintf(out, "%s{%s,verdict=\"%s\",reason=\"%s\"} %llu\n", name,
					labels, sg_verdict_names[v], sg_reason_names[r],
					(unsigned long long)x);
			}
		}
	}
}

static void render_sources(const struct sg_mt_snapshot *s, FILE *out)
{
	char text[SG_PREFIX_STRLEN];

	family(out, "smtpgate_source_packets_total", "counter",
	       "Governed packets per source address and verdict, for the top sources only "
	       "(most packets, and most non-pass packets; metrics.top_sources each).");
	for (size_t i = 0; i < s->n_sources; i++) {
		sg_addr_format(&s->sources[i].addr, text, sizeof(text));
		for (int v = 0; v < SG_V_COUNT; v++)
			fprintf(out, "smtpgate_source_packets_total{source=\"%s\",verdict=\"%s\"} %llu\n",
				text, sg_verdict_names[v],
				(unsigned long long)s->sources[i].packets[v]);
	}
	family(out, "smtpgate_source_connections_total", "counter",
	       "New connections passed per source address, top sources only.");
	for (size_t i = 0; i < s->n_sources; i++) {
		sg_addr_format(&s->sources[i].addr, text, sizeof(text));
		fprintf(out, "smtpgate_source_connections_total{source=\"%s\"} %llu\n", text,
			(unsigned long long)s->sources[i].conns);
	}
	family(out, "smtpgate_source_bytes_total", "counter",
	       "IP bytes passed per source address, top sources only.");
	for (size_t i = 0; i < s->n_sources; i++) {
		sg_addr_format(&s->sources[i].addr, text, sizeof(text));
		fprintf(out, "smtpgate_source_bytes_total{source=\"%s\"} %llu\n", text,
			(unsigned long long)s->sources[i].bytes);
	}
	family(out, "smtpgate_source_blocked_packets_total", "counter",
	       "Dropped or rejected packets per source address and reason, top sources "
	       "only; reasons the source never had are left out.");
	for (size_t i = 0; i < s->n_sources; i++) {
		sg_addr_format(&s->sources[i].addr, text, sizeof(text));
		for (int r = 0; r < SG_SRC_BLOCK_REASONS; r++)
			if (s->sources[i].blocked[r])
				fprintf(out, "smtpgate_source_blocked_packets_total{source=\"%s\","
					"reason=\"%s\"} %llu\n", text,
					sg_reason_names[SG_SRC_FIRST_BLOCK + r],
					(unsigned long long)s->sources[i].blocked[r]);
	}
	family(out, "smtpgate_sources_tracked", "gauge",
	       "Source addresses in the per-source statistics table (LRU, bounded).");
	fprintf(out, "smtpgate_sources_tracked %llu\n", (unsigned long long)s->sources_tracked);
}

static void gauge(FILE *out, const char *name, const char *help, long long value)
{
	family(out, name, "gauge", help);
	fprintf(out, "%s %lld\n", name, value);
}

static void counter(FILE *out, const char *name, const char *help, unsigned long long value)
{
	family(out, name, "counter", help);
	fprintf(out, "%s %llu\n", name, value);
}

static int by_prefix_ticket(const void *pa, const void *pb)
{
	const struct sg_mt_expiry *a = *(const struct sg_mt_expiry *const *)pa;
	const struct sg_mt_expiry *b = *(const struct sg_mt_expiry *const *)pb;
	int c = strcmp(a->prefix, b->prefix);

	if (!c)
		c = strcmp(a->ticket, b->ticket);
	if (!c)
		c = a->expires < b->expires ? -1 : a->expires > b->expires;
	return c;
}

/* Sorted by prefix and ticket; one series per pair (the earliest expiry
 * if a prefix is listed twice under one ticket), since a duplicate series
 * would make Prometheus drop the sample. */
static void render_expiries(const struct sg_mt_snapshot *s, FILE *out)
{
	const struct sg_mt_expiry **idx = calloc(s->n_expiries ? s->n_expiries : 1, sizeof(*idx));
	const struct sg_mt_expiry *prev = NULL;

	family(out, "smtpgate_approval_expiry_timestamp_seconds", "gauge",
	       "When a trusted entry (approval or policy.json entry) expires, unix seconds; "
	       "entries without an expiry are not listed.");
	if (!idx)
		return;
	for (size_t i = 0; i < s->n_expiries; i++)
		idx[i] = &s->expiries[i];
	qsort(idx, s->n_expiries, sizeof(*idx), by_prefix_ticket);
	for (size_t i = 0; i < s->n_expiries; i++) {
		const struct sg_mt_expiry *e = idx[i];

		if (prev && !strcmp(prev->prefix, e->prefix) && !strcmp(prev->ticket, e->ticket))
			continue;
		prev = e;
		fputs("smtpgate_approval_expiry_timestamp_seconds{prefix=\"", out);
		sg_mt_escape(out, e->prefix);
		fputs("\",ticket=\"", out);
		sg_mt_escape(out, e->ticket);
		fprintf(out, "\"} %lld\n", (long long)e->expires);
	}
	free(idx);
}

static void render_attached(const struct sg_mt_snapshot *s, FILE *out)
{
	family(out, "smtpgate_attached", "gauge",
	       "1 if smtpgate's program is attached at this interface and hook, 0 if it is "
	       "configured or recorded but not in place (mode: native or generic XDP, empty for TC).");
	for (size_t i = 0; i < s->n_attach; i++) {
		const struct sg_mt_attachment *a = &s->attach[i];

		fputs("smtpgate_attached{interface=\"", out);
		sg_mt_escape(out, a->ifname);
		fprintf(out, "\",hook=\"%s\",mode=\"%s\"} %d\n", sg_hook_name(a->hook), a->mode,
			a->attached ? 1 : 0);
	}
}

static void render_map_memory(const struct sg_mt_snapshot *s, FILE *out)
{
	if (!s->n_maps)
		return;
	family(out, "smtpgate_map_memory_bytes", "gauge",
	       "Kernel memory of each data-plane map (the kernel's memlock accounting), the "
	       "per-generation tables with both generations' inner maps.");
	for (int i = 0; i < s->n_maps; i++)
		fprintf(out, "smtpgate_map_memory_bytes{map=\"%s\"} %llu\n", s->maps[i].name,
			(unsigned long long)s->maps[i].bytes);
}

static void render_policy(const struct sg_mt_snapshot *s, FILE *out)
{
	gauge(out, "smtpgate_policy_generation",
	      "Generation of the policy in force in the kernel (increments on every switch).",
	      (long long)s->generation);
	family(out, "smtpgate_policy_mode", "gauge",
	       "1 for the mode of the policy in force (enforce or monitor), 0 for the other.");
	fprintf(out, "smtpgate_policy_mode{mode=\"enforce\"} %d\n", s->mode == SG_MODE_ENFORCE);
	fprintf(out, "smtpgate_policy_mode{mode=\"monitor\"} %d\n", s->mode == SG_MODE_MONITOR);
	counter(out, "smtpgate_policy_reload_failures_total",
		"Policy reloads refused since the daemon started (the running policy stayed).",
		(unsigned long long)s->reload_failures);
	gauge(out, "smtpgate_policy_last_reload_success_timestamp_seconds",
	      "When a policy was last loaded successfully (start or reload), unix seconds.",
	      (long long)s->last_reload_success);
	gauge(out, "smtpgate_policy_reload_in_progress",
	      "1 while a policy reload runs (changes wait for it), else 0.",
	      s->reload_in_progress);
	family(out, "smtpgate_policy_last_reload_duration_seconds", "gauge",
	       "How long the last reload took, from the request to its commit or refusal "
	       "(0 before the first).");
	fprintf(out, "smtpgate_policy_last_reload_duration_seconds %.3f\n",
		(double)s->reload_last_ms / 1000.0);
	gauge(out, "smtpgate_trusted_prefixes",
	      "Trusted entries (addresses and prefixes) in force in the data plane.",
	      (long long)s->trusted_prefixes);
	gauge(out, "smtpgate_approvals",
	      "Trusted entries that are approvals made through smtpgatectl (approvals.json).",
	      (long long)s->approvals);
	counter(out, "smtpgate_approvals_not_durable_total",
		"Approval changes made and saved to approvals.json whose directory fsync then "
		"failed: a power loss may undo them (check the disk).",
		(unsigned long long)s->approvals_not_durable);
	render_expiries(s, out);
}

/* The data plane's global statistics (enum sg_stat), by their ABI names,
 * so a statistic added to the ABI shows up (under a derived name) before
 * anyone writes its line here. */
static const struct {
	const char *stat, *metric, *help;
} stat_metrics[] = {
	{ "events_lost", "smtpgate_events_lost_total",
	  "Data-plane events lost because the ring buffer was full (counters stay exact)." },
	{ "events_suppressed", "smtpgate_events_suppressed_total",
	  "Data-plane events not emitted because a CPU was over its event budget." },
	{ "ban_failed", "smtpgate_ban_failures_total",
	  "Automatic bans whose record the data plane could not store (enforced all the same, not listed)." },
	{ "rst_failed", "smtpgate_rst_failures_total",
	  "Rejects for which no TCP RST could be built (the packet was dropped)." },
	{ "sources_untracked", "smtpgate_sources_untracked_packets_total",
	  "Packets of sources not added to the per-source statistics because a CPU was "
	  "over its budget for new sources (still counted per interface)." },
};

static void render_stats(const struct sg_mt_snapshot *s, FILE *out)
{
	for (int i = 0; i < SG_STAT_COUNT; i++) {
		const char *name = sg_stat_names[i] ? sg_stat_names[i] : "unnamed";
		size_t k = 0, n = sizeof(stat_metrics) / sizeof(stat_metrics[0]);
		char metric[96], help[128];

		while (k < n && strcmp(stat_metrics[k].stat, name))
			k++;
		if (k < n) {
			counter(out, stat_metrics[k].metric, stat_metrics[k].help,
				(unsigned long long)s->stats[i]);
			continue;
		}
		snprintf(metric, sizeof(metric), "smtpgate_%s_total", name);
		snprintf(help, sizeof(help), "Data-plane statistic \"%s\".", name);
		counter(out, metric, help, (unsigned long long)s->stats[i]);
	}
	counter(out, "smtpgate_events_written_total",
		"Events written to events.jsonl since the daemon started.",
		(unsigned long long)s->events_written);
	counter(out, "smtpgate_events_write_failures_total",
		"Events that could not be written to events.jsonl since the daemon started "
		"(they are not in the file; the counters have them).",
		(unsigned long long)s->events_write_failures);
	counter(out, "smtpgate_audit_write_failures_total",
		"Audit records that could not be written since the daemon started (the "
		"changes they were for were not made).",
		(unsigned long long)s->audit_write_failures);
	counter(out, "smtpgate_audit_refusals_suppressed_total",
		"Refused requests of unprivileged peers not written to the audit log "
		"because their uid was over its rate, since the daemon started.",
		(unsigned long long)s->audit_refusals_suppressed);
}

int sg_mt_render(const struct sg_mt_snapshot *s, FILE *out)
{
	family(out, "smtpgate_build_info", "gauge",
	       "Always 1; the labels give the smtpgate and libbpf versions.");
	fputs("smtpgate_build_info{version=\"", out);
	sg_mt_escape(out, s->version ? s->version : "");
	fputs("\",libbpf=\"", out);
	sg_mt_escape(out, s->libbpf_version ? s->libbpf_version : "");
	fputs("\"} 1\n", out);
	render_counters(s, out, "smtpgate_packets_total",
			"Governed packets by interface, hook, verdict and reason.", F_PACKETS);
	render_counters(s, out, "smtpgate_bytes_total",
			"IP bytes (header and payload) of governed packets by interface, hook, "
			"verdict and reason.", F_BYTES);
	render_counters(s, out, "smtpgate_connections_total",
			"New connections (TCP SYN without ACK) by interface, hook, verdict and "
			"reason.", F_CONNS);
	render_sources(s, out);
	gauge(out, "smtpgate_bans_active", "Bans in force (automatic and manual).",
	      (long long)s->bans_active);
	gauge(out, "smtpgate_bans_auto_active",
	      "Bans in force that the data plane made after repeated rate-limit violations.",
	      (long long)s->bans_auto_active);
	render_policy(s, out);
	render_map_memory(s, out);
	sg_mt_render_fleet(s, out);
	render_stats(s, out);
	render_attached(s, out);
	if (s->start_time)
		gauge(out, "smtpgate_start_time_seconds",
		      "When the daemon started, unix seconds.", (long long)s->start_time);
	family(out, "smtpgate_collect_duration_seconds", "gauge",
	       "How long reading the kernel's counters and tables took for this output.");
	fprintf(out, "smtpgate_collect_duration_seconds %.6f\n", s->collect_seconds);
	return ferror(out) ? -EIO : 0;
}

int sg_mt_render_buffer(const struct sg_mt_snapshot *s, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int rc;

	if (!f)
		return -errno;
	rc = sg_mt_render(s, f);
	if (fclose(f) && !rc)
		rc = -EIO;
	if (rc) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return rc;
}
