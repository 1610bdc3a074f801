// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"

static uint64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The very clock bpf_ktime_get_coarse_ns() reads (the timekeeper's last
 * tick), so an instant taken here before a packet and one after bracket
 * the data plane's "now" exactly. */
uint64_t sg_boot_ns(void)
{
	return ts_ns(CLOCK_MONOTONIC_COARSE);
}

int64_t sg_real_ns(void)
{
	return (int64_t)ts_ns(CLOCK_REALTIME);
}

int64_t sg_mono_ms(void)
{
	return (int64_t)(ts_ns(CLOCK_MONOTONIC) / 1000000);
}

int64_t sg_process_age_ms(void)
{
	char buf[1024], *p;
	unsigned long long start;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name, field 2, is in parentheses and may hold
	 * anything: the fields after it start at the last ')'.  Each
	 * step lands on the space before field 3, 4, ... 22, starttime. */
	p = strrchr(buf, ')');
	if (!p || hz <= 0)
		return -1;
	for (int field = 3; field <= 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return -1;
	return (int64_t)(ts_ns(CLOCK_BOOTTIME) / 1000000) - (int64_t)(start * 1000 / (unsigned long long)hz);
}

uint64_t sg_deadline_from_unix(int64_t unix_sec)
{
	int64_t real = sg_real_ns();
	uint64_t boot = sg_boot_ns();
	int64_t until;

	if (unix_sec == 0)
		return 0;
	/* Checked before multiplying: 9999-12-31 or year 1 in nanoseconds
	 * overflow 64 bits, and the wrapped product once turned a far
	 * future into "expired at once" (and could turn a far past into a
	 * future). */
	if (unix_sec < 0 || unix_sec <= real / 1000000000ll)
		return 1;
	if (unix_sec > SG_EXPIRES_MAX)
		unix_sec = SG_EXPIRES_MAX;
	until = unix_sec * 1000000000ll - real;
	if (until <= 0)
		return 1;
	return boot + (uint64_t)until;
}

int64_t sg_unix_from_boot(uint64_t boot_ns)
{
	int64_t real = sg_real_ns();
	int64_t boot = (int64_t)sg_boot_ns();

	return (real + ((int64_t)boot_ns - boot)) / 1000000000ll;
}
