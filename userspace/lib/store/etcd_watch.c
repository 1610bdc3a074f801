// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * etcd's watch through the JSON gateway: POST /v3/watch with one
 * {"create_request": ...}, then a stream of JSON objects, one per watch
 * response ({"result": {...}}, or {"error": {...}}).  The stream is
 * parsed as it arrives, one whole object at a time, each bounded in
 * size; curl's multi interface polls every 100 ms so a cancel or the
 * deadline ends the watch promptly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "curl_dl.h"
#include "etcd.h"

#define POLL_MS 100

struct wstate {
	struct sg_etcd *e;
	const char *url;
	char *buf;
	size_t len, cap, max_msg;
	sg_etcd_watch_cb cb;
	void *ctx;
	bool started;           /* etcd confirmed the watch ("created") */
	bool done;              /* stop: rc holds why */
	bool reauth;            /* etcd said the token is no good */
	int rc;
	struct sg_err *err;
};

static void finish(struct wstate *w, int rc)
{
	w->done = true;
	w->rc = rc;
}

/* One message of the stream. */
static void on_message(struct wstate *w, json_t *msg)
{
	json_t *res = json_object_get(msg, "result"), *error = json_object_get(msg, "error");
	int64_t compact = 0;
	int rc;

	if (json_is_object(error)) {
		json_int_t code = json_integer_value(json_object_get(error, "grpc_code"));
		const char *m = json_string_value(json_object_get(error, "message"));

		w->reauth = code == 16;
		finish(w, code == 16 || code == 7 ? -EACCES : SG_STORE_EUNAVAILABLE);
		sg_errf(w->err, w->rc, "%s: etcd ended the watch: %.200s", w->url,
			m ? m : "(no message)");
		return;
	}
	if (!json_is_object(res)) {
		finish(w, -EPROTO);
		sg_errf(w->err, -EPROTO, "%s: a watch message without a result", w->url);
		return;
	}
	if (sg_etcd_get_i64(res, "compact_revision", &compact)) {
		finish(w, -EPROTO);
		sg_errf(w->err, -EPROTO, "%s: a watch message with a bad compact_revision",
			w->url);
		return;
	}
	if (compact > 0) {
		finish(w, SG_STORE_ECOMPACTED);
		sg_errf(w->err, SG_STORE_ECOMPACTED, "%s: etcd no longer has the revisions "
			"asked for (compacted up to %lld): load everything again", w->url,
			(long long)compact);
		return;
	}
	if (json_is_true(json_object_get(res, "canceled"))) {
		const char *why = json_string_value(json_object_get(res, "cancel_reason"));

		/* Auth failures end a watch this way too. */
		w->reauth = why && strstr(why, "auth token");
		finish(w, w->reauth || (why && strstr(why, "permission denied")) ? -EACCES
		       : SG_STORE_EUNAVAILABLE);
		sg_errf(w->err, w->rc, "%s: etcd canceled the watch: %.200s", w->url,
			why ? why : "(no reason given)");
		return;
	}
	if (json_is_true(json_object_get(res, "created")))
		w->started = true;
	rc = w->cb(w->ctx, res);
	if (rc)
		finish(w, rc);
}

/* Parses every whole object in the buffer and keeps the rest. */
static void parse_buffer(struct wstate *w)
{
	size_t off = 0;

	while (!w->done) {
		json_error_t je;
		json_t *msg;

		while (off < w->len && strchr(" \t\r\n", w->buf[off]))
			off++;
		if (off == w->len)
			break;
		msg = json_loadb(w->buf + off, w->len - off,
				 JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
		if (!msg) {
			if (json_error_code(&je) == json_error_premature_end_of_input)
				break;  /* the rest of it is still on its way */
			finish(w, -EPROTO);
			sg_errf(w->err, -EPROTO, "%s: the watch stream is not JSON: %s", w->url,
				je.text);
			break;
		}
		off += (size_t)je.position;
		on_message(w, msg);
		json_decref(msg);
	}
	memmove(w->buf, w->buf + off, w->len - off);
	w->len -= off;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct wstate *w = ctx;
	size_t add = size * nmemb;

	if (w->done)
		return 0;
	/* A message still incomplete at max_msg bytes is refused: the
	 * buffer never grows beyond it. */
	if (add > w->max_msg - w->len) {
		finish(w, -EMSGSIZE);
		sg_errf(w->err, -EMSGSIZE, "%s: a watch message larger than %zu bytes: refused",
			w->url, w->max_msg);
		return 0;
	}
	if (w->len + add + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 16384;
		char *n;

		while (cap < w->len + add + 1)
			cap *= 2;
		n = realloc(w->buf, cap);
		if (!n) {
			finish(w, -ENOMEM);
			sg_errf(w->err, -ENOMEM, "out of memory");
			return 0;
		}
		w->buf = n;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, add);
	w->len += add;
	parse_buffer(w);
	return w->done ? 0 : add;
}

/* Runs the transfer until it ends, w is done, the deadline (0: none)
 * or a cancel. */
static CURLcode run(CURL *c, struct wstate *w, long long deadline, volatile int *cancel)
{
	CURLM *m = sg_curl.multi_init();
	CURLcode cc = CURLE_OK;
	int running = 1;

	if (!m)
		return CURLE_OUT_OF_MEMORY;
	sg_curl.multi_add_handle(m, c);
	while (running && !w->done) {
		CURLMsg *msg;
		int left;

		if (sg_curl.multi_perform(m, &running) != CURLM_OK) {
			cc = CURLE_OUT_OF_MEMORY;
			break;
		}
		while ((msg = sg_curl.multi_info_read(m, &left)))
			if (msg->msg == CURLMSG_DONE)
				cc = msg->data.result;
		if (!running || w->done)
			break;
		if (cancel && *cancel) {
			finish(w, -EINTR);
			sg_errf(w->err, -EINTR, "the watch was canceled");
			break;
		}
		if (deadline && sg_mono_ms() >= deadline) {
			finish(w, 0);
			break;
		}
		sg_curl.multi_poll(m, NULL, 0, POLL_MS, NULL);
	}
	sg_curl.multi_remove_handle(m, c);
	sg_curl.multi_cleanup(m);
	return cc;
}

int sg_etcd_watch(struct sg_etcd *e, json_t *create_request, unsigned timeout_ms,
		  size_t max_msg, sg_etcd_watch_cb cb, void *ctx, volatile int *cancel,
		  struct sg_err *err)
{
	long long deadline = timeout_ms ? sg_mono_ms() + timeout_ms : 0;
	json_t *req = json_pack("{s:O}", "create_request", create_request);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t n = sg_etcd_n_endpoints(e), start = sg_etcd_current(e);
	char why[SG_ERR_MAX] = "";
	bool reauthed = false;
	int rc = SG_STORE_EUNAVAILABLE;

	json_decref(req);
	if (!body)
		return sg_errf(err, -ENOMEM, "out of memory");
	for (size_t t = 0; t < n; t++) {
		size_t i = (start + t) % n;
		char url[1024], detail[CURL_ERROR_SIZE] = "", msg[SG_ERR_MAX];
		struct wstate w = { .e = e, .url = url, .max_msg = max_msg, .cb = cb, .ctx = ctx,
				    .err = err };
		struct curl_slist *h;
		long status = 0;
		bool denied;
		CURLcode cc;
		CURL *c;

		snprintf(url, sizeof(url), "%s/v3/watch", sg_etcd_endpoint_at(e, i));
		rc = sg_etcd_ensure_token(e, i, sg_etcd_timeout_ms(e), err);
		if (rc == -EACCES)
			break;
		if (rc) {
			snprintf(msg, sizeof(msg), "%s", err->msg);
			goto next;
		}
		c = sg_etcd_handle(e, i, "/v3/watch", body, &h);
		if (!c) {
			rc = sg_errf(err, -ENOMEM, "out of memory");
			break;
		}
		sg_curl_setopt_ptr(c, CURLOPT_ERRORBUFFER, detail);
		sg_curl_setopt_write(c, CURLOPT_WRITEFUNCTION, on_data);
		sg_curl_setopt_ptr(c, CURLOPT_WRITEDATA, &w);
		sg_curl_setopt_long(c, CURLOPT_CONNECTTIMEOUT_MS, (long)sg_etcd_timeout_ms(e));
		/* An idle watch is normal; a dead peer is found by keepalive. */
		sg_curl_setopt_long(c, CURLOPT_TCP_KEEPALIVE, 1L);
		sg_curl_setopt_long(c, CURLOPT_TCP_KEEPIDLE, 5L);
		sg_curl_setopt_long(c, CURLOPT_TCP_KEEPINTVL, 2L);
		cc = run(c, &w, deadline, cancel);
		sg_curl_getinfo_long(c, CURLINFO_RESPONSE_CODE, &status);
		sg_curl.easy_cleanup(c);
		sg_curl.slist_free_all(h);
		if (!w.done && status && status != 200) {
			bool elsewhere, reauth;

			rc = sg_etcd_error_reply(e, url, status, w.buf ? w.buf : "", w.len,
						 &elsewhere, &reauth, err);
			w.reauth = reauth;
			w.done = true;
			w.rc = rc;
		}
		free(w.buf);
		if (w.done && w.reauth && e && !reauthed) {
			reauthed = true;
			sg_etcd_drop_token(e);
			t--;
			continue;
		}
		if (w.done) {
			if (!w.rc || w.started || w.rc != SG_STORE_EUNAVAILABLE) {
				if (!w.rc || w.started)
					sg_etcd_set_current(e, i);
				rc = w.rc;
				goto out;
			}
			snprintf(msg, sizeof(msg), "%s", err->msg);
			goto next;
		}
		if (w.started) {
			/* The stream broke after it had begun: the caller
			 * resumes after the last revision it saw. */
			rc = sg_errf(err, SG_STORE_EUNAVAILABLE, "%s: the watch stream ended (%s)",
				     url, cc ? (detail[0] ? detail : sg_curl.easy_strerror(cc))
					     : "closed by the server");
			goto out;
		}
		sg_etcd_curl_error(e, url, cc, detail, &denied, msg, sizeof(msg));
		if (denied) {
			rc = sg_errf(err, -EACCES, "%s", msg);
			goto out;
		}
next:
		sg_etcd_note_failure(why, sizeof(why), msg);
		rc = SG_STORE_EUNAVAILABLE;
	}
	if (rc == SG_STORE_EUNAVAILABLE)
		sg_errf(err, rc, "etcd: no endpoint would watch: %s", why);
out:
	free(body);
	return rc;
}
