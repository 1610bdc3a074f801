// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reading a usage history day file (usage_file.h) strictly: a damaged
 * file is reported, never half-read; a version 1 file reads without
 * the per-source detail.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addr.h"
#include "load.h"
#include "usage_file.h"

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
