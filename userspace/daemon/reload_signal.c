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
#include <stdlib.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include "append.h"
#include "daemon.h"
#include "log.h"

struct signal_reload {
	struct sgd *d;
	struct sgd_audit a;
	char user[64];
	int pid;
	bool recorded;
	struct sg_append_mark mark;
};

/* A SIGHUP during a reload: one more reload once it ends, as the last
 * sender asked (several signals meanwhile ask for the same thing: the
 * files as they are then). */
static struct {
	bool due;
	unsigned uid;
	int pid;
} pending;

static json_t *signal_args(int pid)
{
	return json_pack("{s:s, s:i}", "signal", "SIGHUP", "pid", pid);
}

static int gate(void *ctx, struct sg_err *err)
{
	struct signal_reload *s = ctx;
	int rc;

	s->a.args = signal_args(s->pid);
	rc = sgd_audit_mark(s->d, &s->a, &s->mark);
	if (rc)
		return sg_errf(err, rc, "the audit log cannot be written (%s), so the reload "
			       "was not made", strerror(-rc));
	s->recorded = true;
	return 0;
}

static void done(void *ctx, int rc, struct sg_diag *diag)
{
	struct signal_reload *s = ctx;
	char msg[16384];

	if (!rc) {
		sg_append_done(&s->mark);
		free(s);
		return;
	}
	/* Refused, or recorded and then failed: the failure is the record. */
	if (s->recorded)
		sgd_audit_retract(s->d, &s->mark);
	sgd_diag_text(diag, msg, sizeof(msg));
	s->a.result = "failed";
	s->a.error = msg;
	s->a.args = signal_args(s->pid);
	sgd_audit(s->d, &s->a);
	free(s);
}

void sgd_reload_on_signal(struct sgd *d, unsigned uid, int pid)
{
	struct signal_reload *s;
	struct passwd *pw;
	struct sg_diag diag = { 0 };
	char by[96];
	int rc;

	if (sgd_reload_busy(d)) {
		pending.due = true;
		pending.uid = uid;
		pending.pid = pid;
		sgd_notice("SIGHUP from pid %d during a reload: another reload follows it", pid);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		sgd_err("SIGHUP: out of memory: no reload");
		return;
	}
	s->d = d;
	s->a = (struct sgd_audit){ .uid = uid, .command = "reload", .result = "ok" };
	s->pid = pid;
	pw = getpwuid(uid);
	if (pw)
		snprintf(s->user, sizeof(s->user), "%s", pw->pw_name);
	else
		snprintf(s->user, sizeof(s->user), "uid %u", uid);
	s->a.user = s->user;
	snprintf(by, sizeof(by), "SIGHUP from pid %d (%s)", pid, s->user);
	rc = sgd_reload_start(d, by, gate, done, s);
	if (!rc)
		return;
	if (rc == -EBUSY) { /* not reached: checked above */
		free(s);
		return;
	}
	/* No worker: the reload runs here, as before. */
	rc = sgd_reload(d, &diag, gate, s);
	done(s, rc, &diag);
	sg_diag_free(&diag);
}

void sgd_reload_signal_pending(struct sgd *d)
{
	if (!pending.due)
		return;
	pending.due = false;
	sgd_notice("reloading %s as SIGHUP from pid %d asked during the previous reload",
		   d->cfg.policy_path, pending.pid);
	sgd_reload_on_signal(d, pending.uid, pending.pid);
}
