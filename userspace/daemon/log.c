// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "log.h"

static bool to_syslog, to_journal, debug;

/* libbpf's own messages go through the daemon's log.  Netlink "Kernel
 * error message" lines describe failures we report ourselves with more
 * context (or expected ones, like clsact already existing): debug only.
 * Verifier logs and other warnings stay visible. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[4096];
	size_t n;

	if (level == LIBBPF_DEBUG && !debug)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (level == LIBBPF_DEBUG || strstr(msg, "Kernel error message"))
		sgd_log(LOG_DEBUG, "libbpf: %s", msg);
	else
		sgd_log(level == LIBBPF_WARN ? LOG_WARNING : LOG_INFO, "libbpf: %s", msg);
	return 0;
}

void sgd_log_init(bool use_syslog, bool verbose)
{
	libbpf_set_print(libbpf_print);
	to_syslog = use_syslog;
	to_journal = getenv("JOURNAL_STREAM") != NULL;
	debug = verbose;
	if (to_syslog)
		openlog("smtpgated", LOG_PID, LOG_DAEMON);
}

void sgd_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	char msg[2048];
	va_list ap;

	if (level == LOG_DEBUG && !debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (to_journal)
		fprintf(stderr, "<%d>%s\n", level, msg);
	else
		fprintf(stderr, "smtpgated: %s: %s\n", names[level & 7], msg);
	if (to_syslog)
		syslog(level, "%s", msg);
}
