/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TAP output for test programs: one "ok N - name" or "not ok N - name"
 * line per check, which tests/run.sh counts across all suites.
 */
#ifndef SG_TEST_TAP_H
#define SG_TEST_TAP_H

#include <stdbool.h>

/* Records one check; returns cond.  On failure, prints the diagnostic
 * (fmt) as a "# " comment line under the result. */
bool tap_check(bool cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define tap_ok(cond, name) tap_check((cond), (name), "%s", #cond)
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A failure that stops the program (set-up failed): counted, exits 1. */
void tap_bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Prints the plan line and returns the exit status (0: all passed). */
int tap_done(void);
int tap_failures(void);

#endif
