// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The audit trail: one JSON object per line for every control-plane
 * change or refused change, appended and fsync'd before the change is
 * reported done.
 *
 * A change is recorded before it is made (sgd_audit_mark), so that a
 * change that cannot be recorded is not made; if the change then fails,
 * its "ok" line is taken back (sg_append_retract) and the failure is
 * recorded instead.  Each change thus has exactly one complete line.
 *
 * What a refused request writes is bounded (its arguments are cut to
 * SGD_AUDIT_REFUSED_ARGS_MAX bytes), and how often unprivileged peers get
 * their refusals written is limited per uid (audit_limit.c): a read-only
 * user cannot fill the disk with refusals.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "append.h"
#include "daemon.h"
#include "log.h"

/* Longest ticket kept in a record: SG_TICKET_MAX characters of UTF-8. */
#define AUDIT_TICKET_MAX (SG_TICKET_MAX * 4)
/* A refused request's argument names kept when its arguments are cut. */
#define AUDIT_KEYS_MAX 16
#define AUDIT_KEY_MAX 64

/* The longest prefix of s, at most max bytes, that does not cut a UTF-8
 * sequence (jansson refuses invalid UTF-8). */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* A refused request's arguments stand in the record as sent when they
 * are small; otherwise as their size and their first argument names. */
static json_t *bound_args(json_t *args)
{
	char *text = json_dumps(args, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	json_t *keys, *o;
	const char *key;
	json_t *v;

	free(text);
	if (text && len <= SGD_AUDIT_REFUSED_ARGS_MAX)
		return args;
	keys = json_array();
	json_object_foreach(args, key, v) {
		if (json_array_size(keys) >= AUDIT_KEYS_MAX)
			break;
		json_array_append_new(keys, json_stringn(key, utf8_cut(key, AUDIT_KEY_MAX)));
	}
	o = json_pack("{s:b, s:I, s:o}", "truncated", 1, "bytes", (json_int_t)len,
		      "keys", keys ? keys : json_array());
	json_decref(args);
	return o;
}

static char *record_line(const struct sgd_audit *a, size_t *len)
{
	char when[32];
	json_t *o, *args = a->args;
	char *line;

	sg_format_rfc3339((long long)time(NULL), when, sizeof(when));
	o = json_pack("{s:s, s:I, s:s, s:s, s:s}", "time", a->time ? a->time : when,
		      "uid", (json_int_t)a->uid,
		      "user", a->user ? a->user : "smtpgated", "command", a->command,
		      "result", a->result);
	if (!o) {
		json_decref(args);
		return NULL;
	}
	if (args && strcmp(a->result, "ok"))
		args = bound_args(args);
	if (args)
		json_object_set_new(o, "args", args);
	if (a->ticket)
		json_object_set_new(o, "ticket", json_stringn(a->ticket,
							      utf8_cut(a->ticket, AUDIT_TICKET_MAX)));
	if (a->error)
		json_object_set_new(o, "error", json_string(a->error));
	if (a->warnings && json_array_size(a->warnings))
		json_object_set(o, "warnings", (json_t *)a->warnings);
	if (a->gateway)
		json_object_set_new(o, "gateway", json_string(a->gateway));
	if (a->revision)
		json_object_set_new(o, "revision", json_integer((json_int_t)a->revision));
	if (a->fleet)
		json_object_set_new(o, "fleet", json_true());
	if (a->suppressed)
		json_object_set_new(o, "suppressed_before", json_integer((json_int_t)a->suppressed));
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!line)
		return NULL;
	*len = strlen(line);
	line[(*len)++] = '\n'; /* json_dumps' NUL becomes the newline */
	return line;
}

/* Counts a failure, logs it (and its end) without repeating itself. */
static void note_result(struct sgd *d, int rc, const char *why)
{
	pthread_mutex_lock(&d->lock);
	if (rc)
		d->audit_write_failures++;
	pthread_mutex_unlock(&d->lock);
	if (rc && !d->audit_failing)
		sgd_err("audit log: %s; changes are refused until it can be written "
			"(smtpgate_audit_write_failures_total counts the failures)", why);
	else if (!rc && d->audit_failing)
		sgd_notice("audit log %s: writable again", d->audit_path);
	d->audit_failing = rc != 0;
}

int sgd_audit_mark(struct sgd *d, const struct sgd_audit *a, struct sg_append_mark *mark)
{
	struct sg_err err = { 0 };
	struct sgd_audit named = *a;
	size_t len = 0;
	char *line;
	int rc;

	/* With a fleet store, every record says which gateway wrote it:
	 * the fleet's records are mirrored into each gateway's file. */
	if (!named.gateway && d->store)
		named.gateway = d->gateway;
	line = record_line(&named, &len);

	if (mark)
		mark->fd = -1;
	if (!line) {
		note_result(d, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	rc = sg_append_line(d->audit_path, line, len, mark, &err);
	free(line);
	note_result(d, rc, err.msg);
	return rc;
}

int sgd_audit_batch_mark(struct sgd *d, const struct sgd_audit *a, size_t n,
			 struct sg_append_mark *mark)
{
	struct sg_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = f ? 0 : -ENOMEM;

	mark->fd = -1;
	for (size_t i = 0; i < n; i++) {
		struct sgd_audit named = a[i];
		size_t llen = 0;
		char *line;

		if (!named.gateway && d->store)
			named.gateway = d->gateway;
		line = record_line(&named, &llen); /* takes the args, even after a failure */
		if (!rc && (!line || fwrite(line, 1, llen, f) != llen))
			rc = -ENOMEM;
		free(line);
	}
	if (f && fclose(f))
		rc = -ENOMEM;
	if (rc) {
		free(buf);
		note_result(d, rc, "out of memory");
		return rc;
	}
	rc = len ? sg_append_line(d->audit_path, buf, len, mark, &err) : 0;
	free(buf);
	note_result(d, rc, err.msg);
	return rc;
}

int sgd_audit(struct sgd *d, const struct sgd_audit *a)
{
	return sgd_audit_mark(d, a, NULL);
}

void sgd_audit_retract(struct sgd *d, struct sg_append_mark *mark)
{
	struct sg_err err = { 0 };

	if (sg_append_retract(mark, &err))
		sgd_err("audit log %s: %s: it records as done a change that failed", d->audit_path,
			err.msg);
}
