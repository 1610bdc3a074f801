// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A call to etcd (see etcd.h): the authentication token first, then the
 * request on the endpoint that answered last, and on the others in turn,
 * pass after pass, until one answers or the time budget is spent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "etcd_internal.h"

/* A try on one endpoint gets at least this much of the budget, so a
 * member that is slow to answer is not given up on after a few ms. */
#define MIN_TRY_MS 500
/* Pause between two passes over every endpoint (an election takes about
 * a second: the second pass usually finds the new leader). */
#define PASS_PAUSE_MS 100

int sg_etcd_ensure_token(struct sg_etcd *e, size_t i, long long timeout_ms, struct sg_err *err)
{
	struct etcd_body b = { 0 };
	bool elsewhere, reauth;
	json_t *req, *reply;
	const char *token;
	char *text;
	int rc;

	if (!e->user)
		return 0;
	pthread_mutex_lock(&e->lock);
	rc = e->token != NULL;
	pthread_mutex_unlock(&e->lock);
	if (rc)
		return 0;
	req = json_pack("{s:s, s:s}", "name", e->user, "password", e->password ? e->password : "");
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text)
		return sg_errf(err, -ENOMEM, "out of memory");
	rc = sg_etcd_post_one(e, i, "/v3/auth/authenticate", text, timeout_ms, 64 << 10, &b,
		      &elsewhere, &reauth, err);
	explicit_bzero(text, strlen(text));
	free(text);
	if (rc) {
		if (rc == -EACCES || rc == -EINVAL)
			sg_err_prefix(err, "authenticating as \"%s\"", e->user);
		return rc == -EINVAL ? -EACCES : rc;
	}
	reply = json_loadb(b.buf, b.len, 0, NULL);
	free(b.buf);
	token = json_string_value(json_object_get(reply, "token"));
	if (!token || !*token || strlen(token) > TOKEN_MAX || strpbrk(token, "\r\n")) {
		json_decref(reply);
		return sg_errf(err, -EPROTO, "%s: the authentication reply holds no usable token",
			       e->endpoints[i % e->n]);
	}
	pthread_mutex_lock(&e->lock);
	free(e->token);
	e->token = strdup(token);
	pthread_mutex_unlock(&e->lock);
	json_decref(reply);
	return 0;
}

void sg_etcd_drop_token(struct sg_etcd *e)
{
	pthread_mutex_lock(&e->lock);
	free(e->token);
	e->token = NULL;
	pthread_mutex_unlock(&e->lock);
}

void sg_etcd_note_failure(char *why, size_t len, const char *what)
{
	size_t n = strlen(why);

	/* Truncation is fine in a message; the first endpoints matter most. */
	if (n && n + 2 < len) {
		memcpy(why + n, "; ", 2);
		n += 2;
	}
	for (; *what && n + 1 < len; what++)
		why[n++] = *what;
	why[n < len ? n : len - 1] = '\0';
}

int sg_etcd_call(struct sg_etcd *e, const char *path, json_t *req, size_t max_reply,
		 json_t **reply, struct sg_err *err)
{
	long long deadline = sg_mono_ms() + e->timeout_ms;
	char why[SG_ERR_MAX] = "";
	size_t start = sg_etcd_current(e), tries = 0;
	bool denied = false, reauthed = false;
	struct sg_err one = { 0 };
	char *text = json_dumps(req, JSON_COMPACT);
	int rc = SG_STORE_EUNAVAILABLE;

	*reply = NULL;
	if (!text)
		return sg_errf(err, -ENOMEM, "out of memory");
	/* Pass after pass over the endpoints, from the one that answered
	 * last, until one answers or the budget is spent. */
	for (;;) {
		size_t i = (start + tries) % e->n;
		long long left = deadline - sg_mono_ms(), budget;
		bool elsewhere, reauth;
		struct etcd_body b = { 0 };
		json_error_t je;

		if (left <= 0)
			break;
		if (tries && tries % e->n == 0) {
			if (left <= PASS_PAUSE_MS)
				break;
			usleep(PASS_PAUSE_MS * 1000);
			left -= PASS_PAUSE_MS;
		}
		/* Each endpoint left in this pass gets its share, but not
		 * less than MIN_TRY_MS (nor more than what is left). */
		budget = left / (long long)(e->n - tries % e->n);
		if (budget < MIN_TRY_MS)
			budget = left < MIN_TRY_MS ? left : MIN_TRY_MS;
		tries++;
		rc = sg_etcd_ensure_token(e, i, budget, &one);
		if (!rc)
			rc = sg_etcd_post_one(e, i, path, text, budget, max_reply, &b, &elsewhere,
				      &reauth, &one);
		else
			elsewhere = rc == SG_STORE_EUNAVAILABLE, reauth = false;
		if (!rc) {
			sg_etcd_set_current(e, i);
			*reply = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, &je);
			free(b.buf);
			free(text);
			if (!json_is_object(*reply)) {
				json_decref(*reply);
				*reply = NULL;
				return sg_errf(err, -EPROTO, "%s%s: the reply is not a JSON "
					       "object: %s", e->endpoints[i], path, je.text);
			}
			return 0;
		}
		if (reauth && e->user && !reauthed) {
			/* The token expired (etcd's simple tokens last 5 minutes
			 * idle): once more with a fresh one. */
			reauthed = true;
			sg_etcd_drop_token(e);
			tries--;
			continue;
		}
		denied |= rc == -EACCES;
		sg_etcd_note_failure(why, sizeof(why), one.msg);
		if (!elsewhere && rc != -EACCES)
			break;          /* etcd answered, and said no */
		if (denied && tries >= e->n)
			break;          /* a refusal does not heal by waiting */
	}
	free(text);
	if (rc != SG_STORE_EUNAVAILABLE && rc != -EACCES)
		return sg_errf(err, rc, "%s", one.msg);
	if (denied)
		return sg_errf(err, -EACCES, "etcd refused this gateway (check store.etcd's tls "
			       "and credentials): %s", why);
	return sg_errf(err, SG_STORE_EUNAVAILABLE, "etcd: no endpoint answered within %u ms: %s",
		       e->timeout_ms, why[0] ? why : "no time left");
}
