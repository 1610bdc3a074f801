/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane keeps time in CLOCK_BOOTTIME (bpf_ktime_get_boot_ns):
 * monotonic, counts suspend, immune to wall-clock steps.  Expiry dates
 * are wall-clock (RFC 3339), so they are converted when written to the
 * maps and converted again on every policy build, which keeps the two in
 * step across clock adjustments while the daemon runs.
 */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>

uint64_t sg_boot_ns(void);
int64_t sg_real_ns(void);
/* CLOCK_BOOTTIME deadline for a wall-clock time (unix seconds).  0 means
 * "never" and stays 0; a time already past maps to a past deadline (1). */
uint64_t sg_deadline_from_unix(int64_t unix_sec);
/* The wall-clock time (unix seconds) of a CLOCK_BOOTTIME instant. */
int64_t sg_unix_from_boot(uint64_t boot_ns);

#endif
