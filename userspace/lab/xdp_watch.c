// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sglab xdp-watch: samples an interface's XDP program on a fixed period
 * from one process (libbpf's bpf_xdp_query, one netlink request a
 * sample), so samples stay on time on a busy machine where a fork per
 * sample (ip link) would not.  The tests measure with it how long an
 * interface goes without enforcement across a daemon's restart or a
 * link flap.  The name is resolved again for every sample: an interface
 * that is deleted and re-created gets a new index.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "sglab.h"

struct watch {
	const char *ifname;
	long duration_ms;
	long period_ms;
	bool until_attached;
	const char *stop_file;
};

static long long now_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A non-negative number of milliseconds, or -1. */
static long parse_ms(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	return v;
}

static int parse_args(int argc, char **argv, struct watch *w)
{
	int i = 3;

	if (argc < 3)
		return -1;
	w->ifname = argv[1];
	w->duration_ms = parse_ms(argv[2]);
	w->period_ms = 50;
	if (w->duration_ms < 0)
		return -1;
	if (i < argc && argv[i][0] != '-') {
		w->period_ms = parse_ms(argv[i++]);
		if (w->period_ms <= 0)
			return -1;
	}
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--until-attached"))
			w->until_attached = true;
		else if (!strcmp(argv[i], "--stop-file") && i + 1 < argc)
			w->stop_file = argv[++i];
		else
			return -1;
	}
	return 0;
}

/* The id of the XDP program on ifname into buf: "0" for none, "-" if the
 * interface does not exist (now). */
static void sample(const char *ifname, char *buf, size_t len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int ifindex = (int)if_nametoindex(ifname);
	__u32 id;

	if (!ifindex || bpf_xdp_query(ifindex, 0, &q)) {
		snprintf(buf, len, "-");
		return;
	}
	/* prog_id is the program of the one mode in use; several modes at
	 * once report each on its own. */
	id = q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id
										     : q.hw_prog_id;
	snprintf(buf, len, "%u", id);
}

int sglab_xdp_watch(int argc, char **argv)
{
	struct watch w = {};
	long long end, t, stamp;
	char id[16];

	if (parse_args(argc, argv, &w)) {
		fprintf(stderr, "sglab: usage: sglab xdp-watch IF DURATION_MS [PERIOD_MS]"
				" [--until-attached] [--stop-file FILE]\n");
		return 2;
	}
	/* Quiet: a missing interface is a sample ("-"), not a warning. */
	libbpf_set_print(NULL);
	end = now_ms(CLOCK_MONOTONIC) + w.duration_ms;
	for (;;) {
		t = now_ms(CLOCK_MONOTONIC);
		stamp = now_ms(CLOCK_REALTIME);
		sample(w.ifname, id, sizeof(id));
		printf("%lld %s\n", stamp, id);
		fflush(stdout);
		if (w.until_attached && strcmp(id, "0") && strcmp(id, "-"))
			return 0;
		if (w.stop_file && access(w.stop_file, F_OK) == 0)
			return 0;
		if (t >= end)
			return w.until_attached ? 1 : 0;
		t = w.period_ms - (now_ms(CLOCK_MONOTONIC) - t);
		if (t > 0)
			usleep((useconds_t)(t * 1000));
	}
}
