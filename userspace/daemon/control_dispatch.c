// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A control connection's complete request line: parsed, then run at
 * once, or parked behind a reload in progress (a change, ban.list)
 * and run when it is over, in the order the requests arrived; a
 * reload's own reply comes later, from the loop.
 */
#include <stdio.h>
#include <sys/epoll.h>
#include "clock.h"
#include "control.h"
#include "control_conn.h"

static void on_reply(void *ctx, char *text)
{
	struct conn *c = ctx;

	c->later = NULL;
	sgd_conn_reply_text(c, text);
}

static void on_reply_stream(void *ctx, struct sgd_stream *stream)
{
	struct conn *c = ctx;

	c->later = NULL;
	sgd_conn_reply_stream(c, stream);
}

/* Runs the request (consumed); refuse_reload: refuse it as
 * reload_in_progress with this reason instead.  c may be closed on
 * return, unless its reply comes later. */
void sgd_conn_run(struct conn *c, json_t *req, const char *refuse_reload)
{
	struct sgd_answer_opts o = {
		.reply = on_reply,
		.stream = on_reply_stream,
		.ctx = c,
		.may_answer_later = true,
		.refuse_reload_busy = refuse_reload,
	};
	struct sgd_req *later = sgd_control_answer(c->ctl->d, &c->peer, req, &o);

	json_decref(req);
	if (!later)
		return; /* answered: c may be gone */
	/* Until the reply: no deadline (a reload takes what it takes; the
	 * client waits 60 s), and only a hang-up is watched for, so that
	 * the client's going does not go unnoticed. */
	c->later = later;
	c->deadline_ms = INT64_MAX;
	if (sgd_conn_watch(c, EPOLLHUP))
		sgd_conn_close(c);
}

/* The request waits for the reload in progress (consumed). */
static void conn_park(struct conn *c, json_t *req)
{
	struct sgd_control *ctl = c->ctl;

	c->parked = req;
	c->park_seq = ++ctl->park_seq;
	c->deadline_ms = sg_mono_ms() + ctl->reload_wait_ms;
	ctl->d->requests_waiting++;
	if (sgd_conn_watch(c, EPOLLHUP))
		sgd_conn_close(c);
}

json_t *sgd_conn_unpark(struct conn *c)
{
	json_t *req = c->parked;

	c->parked = NULL;
	c->ctl->d->requests_waiting--;
	return req;
}

void sgd_conn_answer(struct conn *c)
{
	json_error_t jerr;
	json_t *req = json_loadb(c->in, c->in_len, JSON_REJECT_DUPLICATES, &jerr);
	char why[256];

	if (!req) {
		snprintf(why, sizeof(why), "the request is not valid JSON: line %d, column %d: %s",
			 jerr.line, jerr.column, jerr.text);
		sgd_conn_refuse(c, SGD_E_INVALID, why);
		return;
	}
	if (!json_is_object(req)) {
		json_decref(req);
		sgd_conn_refuse(c, SGD_E_INVALID, "the request must be a JSON object");
		return;
	}
	if (sgd_control_waits_for_reload(c->ctl->d, req)) {
		conn_park(c, req);
		return;
	}
	sgd_conn_run(c, req, NULL);
}

void sgd_control_resume(struct sgd *d)
{
	struct sgd_control *ctl = d->control;

	while (ctl && !sgd_reload_busy(d)) {
		struct conn *first = NULL;

		for (struct conn *c = ctl->conns; c; c = c->next)
			if (c->parked && (!first || c->park_seq < first->park_seq))
				first = c;
		if (!first)
			return;
		first->deadline_ms = sg_mono_ms() + REQUEST_TIMEOUT_MS;
		sgd_conn_run(first, sgd_conn_unpark(first), NULL);
	}
}
