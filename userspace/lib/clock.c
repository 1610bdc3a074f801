// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <time.h>
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
