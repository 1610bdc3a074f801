// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The usage history's day files (usage_file.h): the days they are
 * named after, a day in memory, and listing and pruning a directory of
 * them.  Writing one is usage_file_write.c, reading one
 * usage_file_read.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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
