/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane keeps time on CLOCK_MONOTONIC at tick resolution
 * (bpf_ktime_get_coarse_ns(), see abi.h), which userspace reads as
 * CLOCK_MONOTONIC_COARSE: immune to wall-clock steps.
 * Expiry dates are wall-clock (RFC 3339), so they are converted when
 * written to the maps and converted again on every policy build, which
 * keeps the two in step across clock adjustments while the daemon runs.
 * (The names say "boot" for history; the clock is the data plane's.)
 */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>

/* Now on the data-plane clock (CLOCK_MONOTONIC_COARSE), in ns. */
uint64_t sg_boot_ns(void);
int64_t sg_real_ns(void);
/* Data-plane deadline for a wall-clock time (unix seconds).  0 means
 * "never" and stays 0; a time already past maps to a past deadline (1). */
uint64_t sg_deadline_from_unix(int64_t unix_sec);
/* The wall-clock time (unix seconds) of a data-plane instant. */
int64_t sg_unix_from_boot(uint64_t boot_ns);

#endif
