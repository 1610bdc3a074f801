// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One control request, from its JSON object to the reply line: the
 * outcome a command sets, the peer's right to run it, the audit record
 * of every change and every refused change, and the reply, whole or
 * streamed, now or (a reload) later.  The command table is
 * control_commands.c, the argument getters control_args.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "control_cmd.h"
#include "log.h"

int sgd_req_fail(struct sgd_req *r, const char *code, const char *arg, const char *fmt, ...)
{
	char *problem = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&problem, fmt, ap) < 0)
		problem = NULL;
	va_end(ap);
	free(r->error);
	r->error = NULL;
	if (arg) {
		if (asprintf(&r->error, "%s: %s", arg, problem ? problem : "invalid") < 0)
			r->error = NULL;
		snprintf(r->arg, sizeof(r->arg), "%s", arg);
	} else {
		r->error = problem ? strdup(problem) : NULL;
		r->arg[0] = '\0';
	}
	free(problem);
	r->code = code;
	json_decref(r->result);
	r->result = NULL;
	return -1;
}

int sgd_req_ok_raw(struct sgd_req *r, char *text)
{
	if (!text)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	r->raw_result = text;
	return 0;
}

int sgd_req_ok(struct sgd_req *r, json_t *result)
{
	/* A change already made (and recorded) is not reported as failed
	 * for want of memory to describe it. */
	if (!result && r->audited && (result = json_object()))
		sgd_req_warn(r, "the change is made, but describing it ran out of memory");
	if (!result)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	r->result = result;
	return 0;
}

void sgd_req_warn(struct sgd_req *r, const char *fmt, ...)
{
	char *line;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (!r->warnings)
		r->warnings = json_array();
	json_array_append_new(r->warnings, json_string(line));
	free(line);
}

/* ---- replies and the audit trail ------------------------------------- */

static const char *audit_result(const char *code)
{
	if (!code)
		return "ok";
	return strcmp(code, SGD_E_FAILED) ? "refused" : "failed";
}

static json_t *error_reply(const char *code, const char *error, const char *arg)
{
	json_t *o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", error ? error : "out of memory",
			      "code", code);

	if (o && arg && arg[0])
		json_object_set_new(o, "arg", json_string(arg));
	return o;
}

/* Writes the record of a request.  Refusals of peers that may not change
 * anything are rate-limited per uid (audit_limit.c).  Returns false when
 * the record was suppressed (then the refusal is not logged either); a
 * write failure is logged and counted by sgd_audit, and *rc says it. */
static bool audit(struct sgd *d, const struct sgd_peer *peer, const char *command,
		  json_t *args, json_t *warnings, const char *code, const char *error,
		  struct sg_append_mark *mark, int *rc)
{
	json_t *ticket = args ? json_object_get(args, "ticket") : NULL;
	struct sgd_audit a = {
		.uid = peer->uid,
		.user = peer->user,
		.command = command,
		.ticket = json_is_string(ticket) ? json_string_value(ticket) : NULL,
		.result = audit_result(code),
		.error = error,
		.warnings = code ? NULL : warnings,
	};

	*rc = 0;
	if (code && peer->role != SGD_ROLE_ADMIN &&
	    !sgd_refusal_admit(d, (unsigned)peer->uid, &a.suppressed))
		return false;
	a.args = args ? json_deep_copy(args) : NULL;
	*rc = sgd_audit_mark(d, &a, mark);
	return true;
}

int sgd_req_audit_change(struct sgd_req *r)
{
	int rc;

	audit(r->d, r->peer, r->command, r->args, NULL, NULL, NULL, &r->audit_mark, &rc);
	if (rc)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "the audit log cannot be written (%s), "
				    "so the change was not made", strerror(-rc));
	r->audited = true;
	return 0;
}

json_t *sgd_control_refuse(struct sgd *d, const struct sgd_peer *peer, const char *code,
			   const char *why, json_t *audit_args)
{
	int rc;

	/* A peer in neither group never had a request read: record the
	 * attempt itself.  An admin's unreadable request may have been a
	 * change: record its refusal. */
	if (!strcmp(code, SGD_E_DENIED)) {
		if (audit(d, peer, "connect", audit_args, NULL, code, why, NULL, &rc))
			sgd_warn("control: %s", why);
	} else if (peer->role == SGD_ROLE_ADMIN) {
		audit(d, peer, "invalid_request", audit_args, NULL, code, why, NULL, &rc);
	}
	json_decref(audit_args);
	return error_reply(code, why, NULL);
}

static const char *peer_groups_text(const struct sgd *d, char *buf, size_t len)
{
	snprintf(buf, len, "control.admin_group \"%s\"", d->cfg.admin_group);
	return buf;
}

/* {"ok": true, "result": <raw>, ...}: a result that is JSON text already
 * (audit's records as read) is not parsed into a tree again. */
static char *raw_reply(const char *raw, json_t *warnings, bool truncated)
{
	char *w = warnings ? json_dumps(warnings, JSON_COMPACT) : NULL, *text = NULL;

	if (warnings && !w)
		return NULL;
	if (asprintf(&text, "{\"ok\":true,\"result\":%s%s%s%s}", raw, w ? ",\"warnings\":" : "",
		     w ? w : "", truncated ? ",\"truncated\":true" : "") < 0)
		text = NULL;
	free(w);
	return text;
}

static char *dump_reply(json_t *reply)
{
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	json_decref(reply);
	return text;
}

void sgd_stream_free(struct sgd_stream *s)
{
	if (!s)
		return;
	s->free(s->state);
	free(s);
}

/* The whole stream as one reply line (malloc'd), the stream freed: for
 * callers that take the reply at once (the fuzz targets check it whole). */
static char *drain_stream(struct sgd *d, struct sgd_stream *stream)
{
	char *reply = NULL;
	size_t len = 0;
	int rc = 1;

	while (stream && rc == 1) {
		char *chunk = NULL, *joined;
		size_t n = 0;

		rc = stream->next(d, stream->state, &chunk, &n);
		joined = rc >= 0 ? realloc(reply, len + n + 1) : NULL;
		if (!joined) {
			free(chunk);
			free(reply);
			reply = NULL;
			break;
		}
		memcpy(joined + len, chunk, n);
		len += n;
		joined[len] = '\0';
		reply = joined;
		free(chunk);
	}
	sgd_stream_free(stream);
	return reply;
}

/* The tail of every request: the audit record settled, the reply line
 * built (or, for a streamed reply, *stream set and NULL returned), the
 * request freed. */
static char *req_finish(struct sgd_req *r, const struct sgd_command *cmd, bool audited, int rc,
			struct sgd_stream **stream)
{
	struct sgd *d = r->d;
	const struct sgd_peer *peer = r->peer;
	bool logged = true;
	char *reply;

	*stream = NULL;
	if (!rc && !r->result && !r->raw_result && !r->stream)
		rc = sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	if (r->audited && !rc && json_array_size(r->warnings) && !r->audited_batch) {
		int wrc;

		/* Done, with something the operator must know (a change that a
		 * power loss may undo): the record is rewritten to say it. */
		sgd_audit_retract(d, &r->audit_mark);
		audit(d, peer, cmd->name, r->args, r->warnings, NULL, NULL, NULL, &wrc);
		if (wrc)
			sgd_req_warn(r, "the change is made, but its audit record could not be "
				     "rewritten with the warnings above (see the daemon's log)");
	} else if (r->audited && !rc) {
		sg_append_done(&r->audit_mark);
	} else if (audited) {
		int wrc;

		/* Recorded as done, then failed: the failure replaces it. */
		if (r->audited)
			sgd_audit_retract(d, &r->audit_mark);
		logged = audit(d, peer, cmd ? cmd->name : "invalid_request", r->args, NULL, r->code,
			       r->error, NULL, &wrc);
		if (wrc && !rc)
			sgd_req_warn(r, "the change is made, but the audit log could not be "
				     "written (see the daemon's log)");
	}
	if (rc) {
		if (cmd && cmd->change && logged)
			sgd_info("control: %s by %s (uid %u) refused: %s", r->command, peer->user,
				 (unsigned)peer->uid, r->error ? r->error : "?");
		reply = dump_reply(error_reply(r->code, r->error, r->arg));
	} else if (r->stream) {
		/* Reads only (trust.list): no record, no warnings. */
		*stream = r->stream;
		r->stream = NULL;
		reply = NULL;
	} else if (r->raw_result) {
		reply = raw_reply(r->raw_result, r->warnings, r->truncated);
	} else {
		json_t *o = json_pack("{s:b, s:O}", "ok", 1, "result", r->result);

		if (o && r->warnings)
			json_object_set(o, "warnings", r->warnings);
		if (o && r->truncated)
			json_object_set_new(o, "truncated", json_true());
		reply = dump_reply(o);
		if (cmd->change)
			sgd_notice("control: %s by %s (uid %u): ok", r->command, peer->user,
				   (unsigned)peer->uid);
	}
	json_decref(r->result);
	free(r->raw_result);
	sgd_stream_free(r->stream);
	json_decref(r->warnings);
	json_decref(r->args);
	json_decref(r->request);
	free(r->error);
	free(r);
	return reply;
}

static void reply_to(sgd_reply_fn fn, void *ctx, char *text)
{
	if (fn)
		fn(ctx, text);
	else
		free(text);
}

/* The reply goes where r said; r is freed by req_finish, so where is
 * read first. */
static void sgd_req_answer_now(struct sgd_req *r, int rc)
{
	sgd_reply_fn fn = r->reply;
	sgd_stream_fn stream_fn = r->reply_stream;
	void *ctx = r->reply_ctx;
	struct sgd *d = r->d;
	struct sgd_stream *stream;
	char *text = req_finish(r, r->cmd, r->audit_refusal, rc, &stream);

	if (!stream)
		reply_to(fn, ctx, text);
	else if (stream_fn && fn)
		stream_fn(ctx, stream);
	else if (fn)
		reply_to(fn, ctx, drain_stream(d, stream));
	else
		sgd_stream_free(stream);
}

struct sgd_req *sgd_control_answer(struct sgd *d, const struct sgd_peer *peer, json_t *request,
				   const struct sgd_answer_opts *o)
{
	struct sgd_req *r = calloc(1, sizeof(*r));
	const struct sgd_command *cmd = NULL;
	char groups[128];
	int rc;

	if (!r || !(r->args = json_object())) {
		free(r);
		reply_to(o->reply, o->ctx, NULL);
		return NULL;
	}
	r->d = d;
	r->peer_copy = *peer;     /* the connection may go before a late reply */
	r->peer = &r->peer_copy;
	r->command = "?";
	r->request = json_incref(request);
	r->reply = o->reply;
	r->reply_stream = o->stream;
	r->reply_ctx = o->ctx;
	r->may_answer_later = o->may_answer_later;
	rc = sgd_req_parse(r, request, &cmd);
	r->cmd = cmd;
	/* A change, or anything unreadable an admin sent (it may have been
	 * meant as one), is audited; reads are not. */
	r->audit_refusal = cmd ? cmd->change : peer->role == SGD_ROLE_ADMIN;
	if (!rc && cmd->change && peer->role != SGD_ROLE_ADMIN)
		rc = sgd_req_fail(r, SGD_E_DENIED, NULL, "%s changes the policy: only root and "
				  "members of %s may; %s (uid %u) may only read", r->command,
				  peer_groups_text(d, groups, sizeof(groups)), peer->user,
				  (unsigned)peer->uid);
	if (!rc)
		rc = sgd_req_check_keys(r, cmd->keys);
	if (!rc && o->refuse_reload_busy)
		rc = sgd_req_fail(r, SGD_E_RELOADING, NULL, "%s", o->refuse_reload_busy);
	if (!rc)
		rc = cmd->run(r);
	if (rc == SGD_REQ_LATER)
		return r;
	sgd_req_answer_now(r, rc);
	return NULL;
}

void sgd_req_answer(struct sgd_req *r)
{
	sgd_req_answer_now(r, r->code ? -1 : 0);
}

void sgd_req_forget_client(struct sgd_req *r)
{
	r->reply = NULL;
	r->reply_stream = NULL;
	r->reply_ctx = NULL;
}

static void keep_text(void *ctx, char *text)
{
	*(char **)ctx = text;
}

char *sgd_control_handle(struct sgd *d, const struct sgd_peer *peer, json_t *request)
{
	char *text = NULL;
	struct sgd_answer_opts o = { .reply = keep_text, .ctx = &text };

	sgd_control_answer(d, peer, request, &o);
	return text;
}
