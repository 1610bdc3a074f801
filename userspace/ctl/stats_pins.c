// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl stats --pin-dir: the counters read straight from the
 * pinned maps (libbpf), for when smtpgated is down.  Apart from stats.c
 * because it is the only part of stats that needs libbpf: it lives in
 * smtpgatectl-full (full.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/libbpf.h>
#include "config.h"
#include "ctl.h"
#include "stats_json.h"

/* libbpf's warnings only, and marked as its own. */
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	fputs("smtpgatectl: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

int ctl_stats_from_pins(struct ctl *c, const char *dir, bool sources, unsigned top,
			json_t **out)
{
	/* What smtpgated's "stats" reads (control_read.c), caches included. */
	const struct sg_stats_opts opts = { .sources = sources, .top_n = top, .add_cached = true };
	struct sg_stats_snapshot snap;
	struct sg_err err = { 0 };
	struct sg_dp *dp;

	libbpf_set_print(quiet_libbpf);
	if (sg_dp_open_pinned(&dp, dir, &err))
		return ctl_fail(c, CTL_FAILED, "--pin-dir %s: %s", dir, err.msg);
	*out = NULL;
	if (!sg_stats_collect(dp, &opts, &snap)) {
		*out = sg_stats_json(&snap, sg_dp_trust_count(dp));
		sg_stats_snapshot_free(&snap);
	}
	sg_dp_close(dp);
	if (!*out)
		return ctl_fail(c, CTL_FAILED, "--pin-dir %s: cannot read the counters", dir);
	return CTL_OK;
}
