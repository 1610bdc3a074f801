// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the usage history's day file reader (usage_file_read.c),
 * which smtpgated (on start) and smtpgatectl report run on files that
 * may be damaged.  Properties: a refused file leaves nothing allocated
 * (no sources, no baseline); an accepted one is written back
 * (sg_usage_write, top 2, so "other" takes the rest) and read again to
 * the same day, totals, baseline, source_detail, and sums of sources and
 * other of every per-source field (packets per verdict, connections,
 * bytes, blocked per reason): keeping the top sources loses nothing.
 * Version 1 files (packets only) and version 2 files are both read.
 */
#include "fuzz_common.h"
#include "usage_file.h"

static char in_path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_path(in_path, sizeof(in_path), "in.json");
	return 0;
}

static void sums(const struct sg_usage_day *u, struct sg_source_stats *out)
{
	*out = u->other;
	for (size_t i = 0; i < u->n_src; i++)
		sg_usage_stats_add(out, &u->src[i].c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_usage_day u, back;
	struct sg_err err = { 0 };
	struct sg_source_stats a, b;
	char name[SG_DAY_STRLEN], path[160];

	fz_write_file(in_path, data, size);
	if (sg_usage_read(in_path, &u, &err)) {
		fz_check(!u.src && !u.base && !u.n_src && !u.n_base && err.msg[0],
			 "a refused file left something allocated, or no reason");
		return 0;
	}
	sg_usage_day_format(u.day, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s.json", fz_dir(), name);
	if (sg_usage_write(fz_dir(), &u, 2, &err) < 0) {
		/* Sums past 2^63 cannot be written as JSON integers: refused. */
		sg_usage_day_free(&u);
		return 0;
	}
	fz_check(!sg_usage_read(path, &back, &err), "a written day does not read back: %s",
		 err.msg);
	sums(&u, &a);
	sums(&back, &b);
	fz_check(back.day == u.day && back.updated == u.updated &&
		 back.source_detail == u.source_detail &&
		 !memcmp(back.totals, u.totals, sizeof(u.totals)) && !memcmp(&a, &b, sizeof(a)) &&
		 back.n_base == u.n_base && back.sources_seen == u.sources_seen &&
		 back.n_src <= 4 && (!u.n_base || !memcmp(back.base, u.base,
							   u.n_base * sizeof(*u.base))),
		 "the day read back differs (%zu sources, %zu baseline cells)", u.n_src, u.n_base);
	unlink(path);
	sg_usage_day_free(&u);
	sg_usage_day_free(&back);
	return 0;
}
