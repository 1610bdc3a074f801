// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A reload asked for by SIGHUP (systemctl reload, kill -HUP) is a change
 * like `smtpgatectl reload`, and is audited like one: command "reload",
 * as the uid that sent the signal (the kernel's si_uid), with args
 * {"signal": "SIGHUP", "pid": <sender>}, "ok" or "failed" with the
 * reason.  As for the control socket, the record is written before the
 * new policy is applied, and a reload that cannot be recorded is not
 * made.
 */
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include "append.h"
#include "daemon.h"

struct signal_reload {
	struct sgd *d;
	struct sgd_audit a;
	char user[64];
	int pid;
	bool recorded;
	struct sg_append_mark mark;
};

static json_t *signal_args(int pid)
{
	return json_pack("{s:s, s:i}", "signal", "SIGHUP", "pid", pid);
}

static int gate(void *ctx, char *msg, size_t len)
{
	struct signal_reload *s = ctx;
	int rc;

	s->a.args = signal_args(s->pid);
	rc = sgd_audit_mark(s->d, &s->a, &s->mark);
	if (rc) {
		snprintf(msg, len, "error: the audit log cannot be written (%s), so the reload "
			 "was not made", strerror(-rc));
		return -1;
	}
	s->recorded = true;
	return 0;
}

void sgd_reload_on_signal(struct sgd *d, unsigned uid, int pid)
{
	struct signal_reload s = {
		.d = d,
		.a = { .uid = uid, .command = "reload", .result = "ok" },
		.pid = pid,
	};
	struct passwd *pw = getpwuid(uid);
	char msg[16384];

	if (pw)
		snprintf(s.user, sizeof(s.user), "%s", pw->pw_name);
	else
		snprintf(s.user, sizeof(s.user), "uid %u", uid);
	s.a.user = s.user;
	if (!sgd_reload(d, msg, sizeof(msg), gate, &s)) {
		sg_append_done(&s.mark);
		return;
	}
	/* Refused, or recorded and then failed: the failure is the record. */
	if (s.recorded)
		sgd_audit_retract(d, &s.mark);
	s.a.result = "failed";
	s.a.error = msg;
	s.a.args = signal_args(pid);
	sgd_audit(d, &s.a);
}
