// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sgwait: waits until the data plane behind a pin dir holds (or no longer
 * holds) a trusted entry, and prints when, so a benchmark can time how
 * long a change made elsewhere (another gateway, through the fleet store)
 * takes to reach this gateway's kernel map.  Read-only.
 *
 *   sgwait --pin-dir DIR (--present|--absent) PREFIX [--timeout-ms N]
 *
 * Polls the map every 100 microseconds.  Prints "seen <unix ns>" (the
 * wall clock, comparable across processes) and exits 0; exits 1 after
 * the timeout (default 10000 ms), 2 on bad usage or an unreadable pin dir.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"
#include "dataplane.h"

static long long now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "present", required_argument, NULL, 'p' },
		{ "absent", required_argument, NULL, 'a' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pin_dir = NULL, *text = NULL;
	long long timeout_ms = 10000, deadline;
	struct sg_err err = { 0 };
	struct sg_prefix prefix;
	struct sg_trusted t;
	struct sg_dp *dp;
	bool want = true;
	int o;

	while ((o = getopt_long(argc, argv, "", longs, NULL)) >= 0) {
		switch (o) {
		case 'd': pin_dir = optarg; break;
		case 'p': text = optarg; want = true; break;
		case 'a': text = optarg; want = false; break;
		case 't': timeout_ms = atoll(optarg); break;
		default: return 2;
		}
	}
	if (!pin_dir || !text || timeout_ms <= 0) {
		fprintf(stderr, "usage: sgwait --pin-dir DIR (--present|--absent) PREFIX "
			"[--timeout-ms N]\n");
		return 2;
	}
	if (sg_prefix_parse(text, &prefix, &err) || sg_dp_open_pinned(&dp, pin_dir, &err)) {
		fprintf(stderr, "sgwait: %s\n", err.msg);
		return 2;
	}
	deadline = now_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000LL;
	while ((sg_dp_trust_peek(dp, &prefix, &t) == 0) != want) {
		if (now_ns(CLOCK_MONOTONIC) >= deadline) {
			sg_dp_close(dp);
			fprintf(stderr, "sgwait: %s still %s after %lld ms\n", text,
				want ? "absent" : "present", timeout_ms);
			return 1;
		}
		usleep(100);
	}
	printf("seen %lld\n", now_ns(CLOCK_REALTIME));
	sg_dp_close(dp);
	return 0;
}
