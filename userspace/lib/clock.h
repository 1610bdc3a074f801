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
/* Milliseconds of CLOCK_MONOTONIC: for timeouts and budgets. */
int64_t sg_mono_ms(void);
/* Milliseconds since this process was started (forked), from
 * /proc/self/stat at its tick resolution (10 ms); -1 if unknown. */
int64_t sg_process_age_ms(void);
/* The latest expiry date smtpgate takes, 2262-01-01T00:00:00Z in unix
 * seconds.  A deadline is kept in nanoseconds, and the wall-clock
 * nanoseconds since 1970 run out of a signed 64-bit count on
 * 2262-04-11; a round date a little before that leaves room for the
 * offset between the two clocks.  Later dates are refused where they
 * are read (policy.json, approvals.json, trust.add), never bent into
 * something else: "never" is written by leaving the expiry out. */
#define SG_EXPIRES_MAX 9214646400LL
#define SG_EXPIRES_MAX_TEXT "2262-01-01T00:00:00Z"

/* Data-plane deadline for a wall-clock time (unix seconds).  0 means
 * "never" and stays 0; a time already past (however far) maps to a past
 * deadline (1); a time after SG_EXPIRES_MAX (which callers refuse) is
 * held at SG_EXPIRES_MAX rather than wrapping into the past. */
uint64_t sg_deadline_from_unix(int64_t unix_sec);
/* The wall-clock time (unix seconds) of a data-plane instant. */
int64_t sg_unix_from_boot(uint64_t boot_ns);

#endif
