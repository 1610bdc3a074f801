// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The usage history's day files (usage_file.h): writing one atomically,
 * reading one strictly (a damaged file is reported, never half-read),
 * listing and pruning a directory of them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"
#include "file_replace.h"
#include "load.h"
#include "usage_file.h"

int64_t sg_usage_day_start(int64_t t)
{
	int64_t r = t % SG_DAY_SEC;

	return t - (r < 0 ? r + SG_DAY_SEC : r);
}

void sg_usage_day_format(int64_t day, char *buf, size_t len)
{
	time_t t = (time_t)day;
	struct tm tm;

	/* Four digits of year, always (strftime's %Y writes 392 for 0392,
	 * which the parser refuses: found by fuzz_usage). */
	if (len)
		buf[0] = '\0';
	if (gmtime_r(&t, &tm) && tm.tm_year >= -1900 && tm.tm_year <= 9999 - 1900)
		snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int sg_usage_day_parse(const char *s, int64_t *day)
{
	char full[32];
	long long t;

	if (strlen(s) != SG_DAY_STRLEN - 1)
		return -EINVAL;
	snprintf(full, sizeof(full), "%sT00:00:00Z", s);
	if (sg_parse_rfc3339(full, &t))
		return -EINVAL;
	*day = t;
	return 0;
}

int sg_usage_add_source(struct sg_usage_day *u, const struct sg_addr *src,
			const struct sg_source_stats *c)
{
	struct sg_usage_src *s;

	if (u->n_src == u->cap_src) {
		size_t cap = u->cap_src ? u->cap_src * 2 : 64;

		s = realloc(u->src, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		u->src = s;
		u->cap_src = cap;
	}
	s = &u->src[u->n_src++];
	s->addr = *src;
	s->c = *c;
	return 0;
}

void sg_usage_stats_add(struct sg_source_stats *sum, const struct sg_source_stats *c)
{
	for (int v = 0; v < SG_V_COUNT; v++)
		sum->packets[v] += c->packets[v];
	sum->conns += c->conns;
	sum->bytes += c->bytes;
	for (int r = 0; r < SG_SRC_BLOCK_REASONS; r++)
		sum->blocked[r] += c->blocked[r];
}

uint64_t sg_usage_blocked(const struct sg_source_stats *c)
{
	return c->packets[SG_V_DROP] + c->packets[SG_V_REJECT];
}

void sg_usage_day_free(struct sg_usage_day *u)
{
	free(u->src);
	free(u->base);
	memset(u, 0, sizeof(*u));
}

/* ---- writing ---- */

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

/* ---- reading ---- */

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static bool get_u64(json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* The same into a counter field (__u64, which may be another type). */
static bool get_cnt(json_t *v, __u64 *out)
{
	uint64_t x;

	if (!get_u64(v, &x))
		return false;
	*out = x;
	return true;
}

/* *sum += v, refused past INT64_MAX (a JSON integer's limit). */
static int add_cnt(__u64 *sum, uint64_t v)
{
	uint64_t r;

	if (__builtin_add_overflow((uint64_t)*sum, v, &r) || r > INT64_MAX)
		return -1;
	*sum = r;
	return 0;
}

static int read_counters(json_t *arr, struct sg_usage_day *u, const char **what)
{
	size_t i;
	json_t *c;

	if (!json_is_array(arr))
		return (*what = "counters is not an array"), -1;
	json_array_foreach(arr, i, c) {
		int v = name_index(sg_verdict_names, SG_V_COUNT,
				   json_string_value(json_object_get(c, "verdict")));
		int r = name_index(sg_reason_names, SG_R_COUNT,
				   json_string_value(json_object_get(c, "reason")));
		struct sg_counter k;

		if (v < 0 || r < 0 || !get_cnt(json_object_get(c, "packets"), &k.packets) ||
		    !get_cnt(json_object_get(c, "bytes"), &k.bytes) ||
		    !get_cnt(json_object_get(c, "connections"), &k.conns))
			return (*what = "a counter is not {verdict, reason, packets, bytes, "
				"connections}"), -1;
		/* A cell listed twice adds up, within what JSON can hold. */
		if (add_cnt(&u->totals[v][r].packets, k.packets) ||
		    add_cnt(&u->totals[v][r].bytes, k.bytes) ||
		    add_cnt(&u->totals[v][r].conns, k.conns))
			return (*what = "a counter's sum is past 2^63"), -1;
	}
	return 0;
}

static int read_verdicts(json_t *o, __u64 p[SG_V_COUNT])
{
	if (!json_is_object(o))
		return -1;
	for (int v = 0; v < SG_V_COUNT; v++) {
		json_t *x = json_object_get(o, sg_verdict_names[v]);

		p[v] = 0;
		if (x && !get_cnt(x, &p[v]))
			return -1;
	}
	return 0;
}

/* {reason: packets}, every key a blocking reason. */
static int read_blocked(json_t *o, __u64 b[SG_SRC_BLOCK_REASONS])
{
	const char *k;
	json_t *x;

	if (!json_is_object(o))
		return -1;
	json_object_foreach(o, k, x) {
		int r = name_index(sg_reason_names, SG_R_COUNT, k);

		if (r < SG_SRC_FIRST_BLOCK || !get_cnt(x, &b[r - SG_SRC_FIRST_BLOCK]))
			return -1;
	}
	return 0;
}

/* A source's counts (or other's) as the file's version writes them:
 * version 1 {verdict: packets} (packets only), version 2 {packets,
 * connections, bytes, blocked}. */
static int read_counts(json_t *o, int version, struct sg_source_stats *c)
{
	memset(c, 0, sizeof(*c));
	if (version == 1)
		return read_verdicts(o, c->packets);
	return read_verdicts(json_object_get(o, "packets"), c->packets) ||
	       !get_cnt(json_object_get(o, "connections"), &c->conns) ||
	       !get_cnt(json_object_get(o, "bytes"), &c->bytes) ||
	       read_blocked(json_object_get(o, "blocked"), c->blocked) ? -1 : 0;
}

static int read_sources(json_t *arr, int version, struct sg_usage_day *u, const char **what)
{
	size_t i;
	json_t *s;

	if (!json_is_array(arr))
		return (*what = "sources is not an array"), -1;
	json_array_foreach(arr, i, s) {
		const char *text = json_string_value(json_object_get(s, "source"));
		struct sg_source_stats c;
		struct sg_addr a;

		if (!text || sg_addr_parse(text, &a, NULL) ||
		    read_counts(version == 1 ? json_object_get(s, "packets") : s, version, &c))
			return (*what = version == 1 ? "a source is not {source, packets}" :
				"a source is not {source, packets, connections, bytes, "
				"blocked}"), -1;
		if (sg_usage_add_source(u, &a, &c))
			return (*what = "out of memory"), -1;
	}
	return 0;
}

static int read_base(json_t *arr, struct sg_usage_day *u, const char **what)
{
	size_t i;
	json_t *b;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || !(u->base = calloc(json_array_size(arr) + 1, sizeof(*u->base))))
		return (*what = "baseline is not an array"), -1;
	u->has_base = true;
	json_array_foreach(arr, i, b) {
		struct sg_usage_base *x = &u->base[u->n_base];
		uint64_t s, v, r;

		if (json_array_size(b) != 6 || !get_u64(json_array_get(b, 0), &s) ||
		    !get_u64(json_array_get(b, 1), &v) || !get_u64(json_array_get(b, 2), &r) ||
		    s >= SG_MAX_ATTACH || v >= SG_V_COUNT || r >= SG_R_COUNT ||
		    !get_cnt(json_array_get(b, 3), &x->c.packets) ||
		    !get_cnt(json_array_get(b, 4), &x->c.bytes) ||
		    !get_cnt(json_array_get(b, 5), &x->c.conns))
			return (*what = "a baseline cell is not [slot, verdict, reason, packets, "
				"bytes, connections]"), -1;
		x->slot = (uint32_t)s;
		x->verdict = (uint32_t)v;
		x->reason = (uint32_t)r;
		u->n_base++;
	}
	return 0;
}

static int parse_doc(json_t *doc, struct sg_usage_day *u, const char **what)
{
	const char *day = json_string_value(json_object_get(doc, "day"));
	const char *upd = json_string_value(json_object_get(doc, "updated"));
	json_int_t version = json_integer_value(json_object_get(doc, "version"));
	json_t *detail = json_object_get(doc, "source_detail");
	long long t;

	if (!json_is_object(doc))
		return (*what = "not a JSON object"), -1;
	if (version < SG_USAGE_VERSION_MIN || version > SG_USAGE_VERSION)
		return (*what = "not a usage file of version 1 or 2"), -1;
	if (!day || sg_usage_day_parse(day, &u->day))
		return (*what = "day is not YYYY-MM-DD"), -1;
	/* Years 0000 to 9999 once in UTC, as it will be written back. */
	if (!upd || sg_parse_rfc3339(upd, &t) || t < -62167219200LL || t > 253402300799LL)
		return (*what = "updated is not an RFC 3339 time of the years 0000 to 9999"), -1;
	u->updated = t;
	if (read_counts(json_object_get(doc, "other"), (int)version, &u->other))
		return (*what = version == 1 ? "other is not {verdict: packets}" :
			"other is not {packets, connections, bytes, blocked}"), -1;
	if (!get_u64(json_object_get(doc, "sources_seen"), &u->sources_seen))
		return (*what = "sources_seen is not a count"), -1;
	if (version >= 2 && !json_is_boolean(detail))
		return (*what = "source_detail is not true or false"), -1;
	u->source_detail = version >= 2 && json_is_true(detail);
	return read_counters(json_object_get(doc, "counters"), u, what) ||
	       read_sources(json_object_get(doc, "sources"), (int)version, u, what) ||
	       read_base(json_object_get(doc, "baseline"), u, what) ? -1 : 0;
}

int sg_usage_read_fd(int fd, const char *name, struct sg_usage_day *u, struct sg_err *err)
{
	const char *what = "damaged";
	json_error_t jerr;
	struct stat st;
	char *buf;
	ssize_t got;
	json_t *doc;
	int rc;

	memset(u, 0, sizeof(*u));
	if (fstat(fd, &st))
		return sg_errf(err, -errno, "%s: %s", name, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)SG_USAGE_FILE_MAX)
		return sg_errf(err, -EINVAL, "%s: not a usage file (not a regular file of at most "
			       "%u MiB)", name, SG_USAGE_FILE_MAX >> 20);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return sg_errf(err, -ENOMEM, "%s: out of memory", name);
	got = pread(fd, buf, (size_t)st.st_size, 0);
	if (got != st.st_size) {
		rc = got < 0 ? -errno : -EIO;
		free(buf);
		return sg_errf(err, rc, "%s: cannot read: %s", name, strerror(-rc));
	}
	doc = json_loadb(buf, (size_t)got, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!doc)
		return sg_errf(err, -EINVAL, "%s: not JSON (line %d: %s)", name, jerr.line,
			       jerr.text);
	rc = parse_doc(doc, u, &what);
	json_decref(doc);
	if (rc) {
		sg_usage_day_free(u);
		return sg_errf(err, -EINVAL, "%s: not a usage file: %s", name, what);
	}
	return 0;
}

int sg_usage_read(const char *path, struct sg_usage_day *u, struct sg_err *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return sg_errf(err, -errno, "%s: %s", path, strerror(errno));
	rc = sg_usage_read_fd(fd, path, u, err);
	close(fd);
	return rc;
}

/* ---- the directory ---- */

/* The day of a file name "YYYY-MM-DD.json", or -1. */
static int name_day(const char *name, int64_t *day)
{
	char d[SG_DAY_STRLEN];

	if (strlen(name) != SG_DAY_STRLEN - 1 + 5 || strcmp(name + SG_DAY_STRLEN - 1, ".json"))
		return -1;
	memcpy(d, name, SG_DAY_STRLEN - 1);
	d[SG_DAY_STRLEN - 1] = '\0';
	return sg_usage_day_parse(d, day) ? -1 : 0;
}

static int day_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int sg_usage_list(const char *dir, int64_t from, int64_t to, int64_t **days, size_t *n,
		  struct sg_err *err)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*days = NULL;
	*n = 0;
	if (!dh)
		return sg_errf(err, -errno, "%s: %s", dir, strerror(errno));
	while ((de = readdir(dh))) {
		int64_t day;

		if (name_day(de->d_name, &day) || day < from || day > to)
			continue;
		if (*n == cap) {
			int64_t *nd = realloc(*days, (cap = cap ? cap * 2 : 64) * sizeof(*nd));

			if (!nd) {
				closedir(dh);
				free(*days);
				*days = NULL;
				return sg_errf(err, -ENOMEM, "%s: out of memory", dir);
			}
			*days = nd;
		}
		(*days)[(*n)++] = day;
	}
	closedir(dh);
	if (*n) /* qsort's base may not be NULL, even for 0 elements */
		qsort(*days, *n, sizeof(**days), day_cmp);
	return 0;
}

int sg_usage_prune(const char *dir, int64_t today, unsigned keep_days, struct sg_err *err)
{
	int64_t *days, oldest = today - (int64_t)keep_days * SG_DAY_SEC;
	int removed = 0, rc;
	size_t n;

	rc = sg_usage_list(dir, INT64_MIN, oldest - 1, &days, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		char name[SG_DAY_STRLEN], path[4096];

		sg_usage_day_format(days[i], name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s.json", dir, name);
		if (unlink(path) && errno != ENOENT) {
			rc = sg_errf(err, -errno, "%s: %s", path, strerror(errno));
			break;
		}
		removed++;
	}
	free(days);
	return rc ? rc : removed;
}
