// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The thin smtpgatectl's stand-ins for the commands of smtpgatectl-full
 * (ctl.h, full.c): each runs smtpgatectl-full with the command line
 * smtpgatectl got, in this process (exec), so the output, exit code and
 * signals are that command's own.  smtpgatectl-full is looked for next
 * to this binary (the build directory), then in ../libexec/smtpgate/
 * relative to it (make install, the package: /usr/libexec/smtpgate/).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ctl.h"

static int run_full(struct ctl *c)
{
	static const char *const where[] = { "smtpgatectl-full", "../libexec/smtpgate/smtpgatectl-full" };
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int e = ENOENT;

	if (n <= 0)
		return ctl_fail(c, CTL_FAILED, "cannot find smtpgatectl-full: /proc/self/exe: %s",
				strerror(errno));
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	fflush(NULL);
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", self, where[i]);
		execv(path, ctl_main_argv);
		if (errno != ENOENT)
			e = errno;
	}
	return ctl_fail(c, CTL_FAILED, "this command is smtpgatectl-full's, which cannot be run "
			"(looked for %s/smtpgatectl-full and %s/../libexec/smtpgate/): %s", self,
			self, strerror(e));
}

int ctl_cmd_check(struct ctl *c)
{
	return run_full(c);
}

int ctl_cmd_store(struct ctl *c)
{
	return run_full(c);
}

int ctl_cmd_report(struct ctl *c)
{
	return run_full(c);
}

int ctl_stats_from_pins(struct ctl *c, const char *dir, bool sources, unsigned top,
			json_t **out)
{
	(void)dir;
	(void)sources;
	(void)top;
	*out = NULL;
	return run_full(c);
}

int ctl_audit_fleet(struct ctl *c, long long since, long long limit, json_t **out)
{
	(void)since;
	(void)limit;
	*out = NULL;
	return run_full(c);
}
