// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One request to etcd's JSON gateway over libcurl: the handle with its
 * TLS files and token, a reply bounded in size, and errors an operator
 * can act on (which certificate, which endpoint, what etcd said).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curl_dl.h"
#include "etcd_internal.h"

#define ERROR_REPLY_MAX (64u << 10)

/* Keeps at most b->max bytes; one more and the transfer is aborted. */
static size_t body_write(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct etcd_body *b = ctx;
	size_t add = size * nmemb;

	if (add > b->max - b->len) {
		b->over = true;
		return 0;
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *n;

		while (cap < b->len + add + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		n = realloc(b->buf, cap);
		if (!n)
			return 0;
		b->buf = n;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, add);
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

void *sg_etcd_handle(struct sg_etcd *e, size_t i, const char *path, const char *body,
		     void *headers_out)
{
	struct curl_slist **headers = headers_out, *h = NULL, *t;
	char url[1024], auth[TOKEN_MAX + 32];
	CURL *c = sg_curl.easy_init();

	*headers = NULL;
	if (!c)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", e->endpoints[i % e->n], path);
	h = sg_curl.slist_append(NULL, "Content-Type: application/json");
	pthread_mutex_lock(&e->lock);
	if (h && e->token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		t = sg_curl.slist_append(h, auth);
		h = t ? t : NULL;
	}
	pthread_mutex_unlock(&e->lock);
	/* "Expect: 100-continue" would cost a round trip on large bodies. */
	t = h ? sg_curl.slist_append(h, "Expect:") : NULL;
	if (!t) {
		sg_curl.slist_free_all(h);
		sg_curl.easy_cleanup(c);
		return NULL;
	}
	h = t;
	*headers = h;
	sg_curl_setopt_str(c, CURLOPT_URL, url);
	sg_curl_setopt_slist(c, CURLOPT_HTTPHEADER, h);
	sg_curl_setopt_str(c, CURLOPT_POSTFIELDS, body);
	sg_curl_setopt_long(c, CURLOPT_NOSIGNAL, 1L);
	sg_curl_setopt_long(c, CURLOPT_FOLLOWLOCATION, 0L);
#if CURL_AT_LEAST_VERSION(7, 85, 0)
	sg_curl_setopt_str(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	sg_curl_setopt_long(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	sg_curl_setopt_long(c, CURLOPT_TCP_NODELAY, 1L);
	if (e->ca)
		sg_curl_setopt_str(c, CURLOPT_CAINFO, e->ca);
	if (e->cert) {
		sg_curl_setopt_str(c, CURLOPT_SSLCERT, e->cert);
		sg_curl_setopt_str(c, CURLOPT_SSLKEY, e->key);
	}
	return c;
}

int sg_etcd_curl_error(struct sg_etcd *e, const char *url, int code, const char *detail,
		       bool *denied, char *buf, size_t len)
{
	const char *what = detail && *detail ? detail : sg_curl.easy_strerror(code);

	*denied = false;
	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
		*denied = true;
		return snprintf(buf, len, "%s: TLS: the server's certificate is not trusted "
				"(CA %s): %s", url, e->ca ? e->ca : "the system's", what);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		*denied = true;
		return snprintf(buf, len, "%s: TLS: %s", url, what);
	case CURLE_OPERATION_TIMEDOUT:
		return snprintf(buf, len, "%s: no answer in time (%s)", url, what);
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_COULDNT_CONNECT:
		/* A server that wants a client certificate we do not send (or
		 * does not trust ours) ends the handshake with an alert, which
		 * TLS 1.3 delivers on the first read. */
		if (!strstr(url, "https://") || (!strstr(what, "SSL") && !strstr(what, "alert") &&
						  !strstr(what, "getpeername")))
			break;
		*denied = true;
		return snprintf(buf, len, "%s: TLS: the server ended the handshake (it requires a "
				"client certificate it trusts: %s): %s", url,
				e->cert ? "is store.etcd.tls.cert signed by its CA?"
					: "store.etcd.tls.cert is not set", what);
	default:
		break;
	}
	return snprintf(buf, len, "%s: %s", url, what);
}

int sg_etcd_error_reply(struct sg_etcd *e, const char *url, long status, const char *body,
			size_t len, bool *retry_elsewhere, bool *reauth, struct sg_err *err)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));
	json_int_t code = json_integer_value(json_object_get(j, "code"));
	char text[300];
	int rc;

	(void)e;
	*retry_elsewhere = false;
	*reauth = false;
	/* Only a bounded, printable part of what the server said. */
	snprintf(text, sizeof(text), "%s", msg ? msg : "(no message)");
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	switch (code) {
	case 14:        /* UNAVAILABLE: no leader, leader changed, stopping */
	case 4:         /* DEADLINE_EXCEEDED: the member could not commit in time */
		*retry_elsewhere = true;
		rc = SG_STORE_EUNAVAILABLE;
		break;
	case 16:        /* UNAUTHENTICATED: the token expired or was revoked */
		*reauth = true;
		rc = -EACCES;
		break;
	case 7:         /* PERMISSION_DENIED */
		rc = -EACCES;
		break;
	case 11:        /* OUT_OF_RANGE: "required revision has been compacted" */
		rc = SG_STORE_ECOMPACTED;
		break;
	default:
		rc = strstr(text, "authentication failed") ? -EACCES
			: status >= 500 ? SG_STORE_EUNAVAILABLE : -EINVAL;
		*retry_elsewhere = rc == SG_STORE_EUNAVAILABLE;
		break;
	}
	if (!j) {
		/* Not the gateway's JSON: say what came back, briefly. */
		if (len)
			snprintf(text, sizeof(text), "HTTP status %ld: %.*s", status,
				 len > 200 ? 200 : (int)len, body);
		else
			snprintf(text, sizeof(text), "HTTP status %ld with no body (is this an etcd "
				 "v3 client URL?)", status);
		for (char *p = text; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		/* etcd 3.4 with --client-cert-auth refuses gateway clients whose
		 * certificate has a CommonName (it could not be used as the
		 * user name through the gateway). */
		if (strstr(text, "CommonName")) {
			rc = -EACCES;
			*retry_elsewhere = false;
			sg_errf(err, rc, "%s: etcd refuses client certificates with a CommonName on "
				"its JSON gateway: issue store.etcd.tls.cert without one (e.g. "
				"subject O=smtpgate, OU=<gateway>) and authenticate with username "
				"and password_file", url);
			json_decref(j);
			return rc;
		}
	}
	sg_errf(err, rc, "%s: etcd: %s", url, text);
	json_decref(j);
	return rc;
}

int sg_etcd_post_one(struct sg_etcd *e, size_t i, const char *path, const char *body,
		     long long timeout_ms, size_t max_reply, struct etcd_body *out,
		     bool *elsewhere, bool *reauth, struct sg_err *err)
{
	char url[1024], detail[CURL_ERROR_SIZE] = "", msg[SG_ERR_MAX];
	struct curl_slist *h;
	struct etcd_body b = { .max = max_reply };
	long status = 0;
	bool denied;
	CURLcode cc;
	CURL *c;
	int rc;

	*elsewhere = false;
	*reauth = false;
	snprintf(url, sizeof(url), "%s%s", e->endpoints[i % e->n], path);
	c = sg_etcd_handle(e, i, path, body, &h);
	if (!c)
		return sg_errf(err, -ENOMEM, "out of memory");
	sg_curl_setopt_ptr(c, CURLOPT_ERRORBUFFER, detail);
	sg_curl_setopt_write(c, CURLOPT_WRITEFUNCTION, body_write);
	sg_curl_setopt_ptr(c, CURLOPT_WRITEDATA, &b);
	sg_curl_setopt_long(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	sg_curl_setopt_long(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	cc = sg_curl.easy_perform(c);
	sg_curl_getinfo_long(c, CURLINFO_RESPONSE_CODE, &status);
	sg_curl.easy_cleanup(c);
	sg_curl.slist_free_all(h);
	if (b.over) {
		rc = sg_errf(err, -EMSGSIZE, "%s: the reply is larger than %zu bytes: refused",
			     url, max_reply);
	} else if (cc != CURLE_OK) {
		sg_etcd_curl_error(e, url, cc, detail, &denied, msg, sizeof(msg));
		rc = sg_errf(err, denied ? -EACCES : SG_STORE_EUNAVAILABLE, "%s", msg);
		*elsewhere = !denied;
	} else if (status != 200) {
		rc = sg_etcd_error_reply(e, url, status, b.buf ? b.buf : "", b.len, elsewhere,
					 reauth, err);
	} else {
		*out = b;
		return 0;
	}
	free(b.buf);
	return rc;
}
