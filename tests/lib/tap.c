// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "tap.h"

static int n_run, n_failed;

bool tap_check(bool cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	n_run++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n_run, name);
	if (!cond) {
		n_failed++;
		printf("#   ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
	return cond;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	n_run++;
	n_failed++;
	printf("not ok %d - set-up: ", n_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n1..%d\n", n_run);
	fflush(stdout);
	exit(1);
}

int tap_failures(void)
{
	return n_failed;
}

int tap_done(void)
{
	printf("1..%d\n", n_run);
	fflush(stdout);
	return n_failed ? 1 : 0;
}
