// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * etcd's JSON gateway over libcurl: endpoints and failover, TLS, the
 * authentication token, bounded replies, and errors an operator can act
 * on.  See etcd.h.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "etcd.h"

#define PASSWORD_MAX 1024
#define TOKEN_MAX 4096
#define ERROR_REPLY_MAX (64u << 10)
/* A try on one endpoint gets at least this much of the budget, so a
 * member that is slow to answer is not given up on after a few ms. */
#define MIN_TRY_MS 500
/* Pause between two passes over every endpoint (an election takes about
 * a second: the second pass usually finds the new leader). */
#define PASS_PAUSE_MS 100

struct sg_etcd {
	char **endpoints;
	size_t n;
	char *ca, *cert, *key;
	char *user, *password;
	unsigned timeout_ms;

	pthread_mutex_t lock;   /* the fields below */
	char *token;
	size_t cur;
	uint64_t failovers;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The password: one line of a file only its owner may read. */
static int read_password(const char *path, char **out, struct sg_err *err)
{
	char buf[PASSWORD_MAX + 2];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return sg_errf(err, -errno, "store.etcd.password_file: %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return sg_errf(err, -EINVAL, "store.etcd.password_file: %s is not a regular file",
			       path);
	}
	if (st.st_mode & S_IRWXO) {
		close(fd);
		return sg_errf(err, -EPERM, "store.etcd.password_file: %s can be read by anyone "
			       "(mode %04o): chmod 0600 it", path, (unsigned)st.st_mode & 07777);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return sg_errf(err, -errno, "store.etcd.password_file: %s: %s", path,
			       strerror(errno));
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (!n || n > PASSWORD_MAX || strchr(buf, '\n'))
		return sg_errf(err, -EINVAL, "store.etcd.password_file: %s must hold the password "
			       "on one line of 1 to %d bytes", path, PASSWORD_MAX);
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : sg_errf(err, -ENOMEM, "out of memory");
}

int sg_etcd_open(const struct sg_store_config *cfg, struct sg_etcd **out, struct sg_err *err)
{
	struct sg_etcd *e;
	int rc;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc)
		return sg_errf(err, -EIO, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	if (!cfg->n_endpoints)
		return sg_errf(err, -EINVAL, "store.etcd.endpoints: none configured");
	e = calloc(1, sizeof(*e));
	if (!e)
		return sg_errf(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&e->lock, NULL);
	e->endpoints = calloc(cfg->n_endpoints, sizeof(*e->endpoints));
	if (!e->endpoints)
		goto oom;
	for (; e->n < cfg->n_endpoints; e->n++) {
		/* "https://h:2379/" and "https://h:2379" are one endpoint */
		size_t l = strlen(cfg->endpoints[e->n]);

		e->endpoints[e->n] = strndup(cfg->endpoints[e->n],
					     l && cfg->endpoints[e->n][l - 1] == '/' ? l - 1 : l);
		if (!e->endpoints[e->n])
			goto oom;
	}
	e->ca = dup_or_null(cfg->ca);
	e->cert = dup_or_null(cfg->cert);
	e->key = dup_or_null(cfg->key);
	e->user = dup_or_null(cfg->username);
	e->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : SG_STORE_DEFAULT_TIMEOUT_MS;
	if ((cfg->ca && !e->ca) || (cfg->cert && !e->cert) || (cfg->key && !e->key) ||
	    (cfg->username && !e->user))
		goto oom;
	if (cfg->password_file) {
		rc = read_password(cfg->password_file, &e->password, err);
		if (rc) {
			sg_etcd_close(e);
			return rc;
		}
	}
	*out = e;
	return 0;
oom:
	sg_etcd_close(e);
	return sg_errf(err, -ENOMEM, "out of memory");
}

void sg_etcd_close(struct sg_etcd *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e->user);
	if (e->password) {
		explicit_bzero(e->password, strlen(e->password));
		free(e->password);
	}
	free(e->token);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

uint64_t sg_etcd_failovers(struct sg_etcd *e)
{
	uint64_t n;

	pthread_mutex_lock(&e->lock);
	n = e->failovers;
	pthread_mutex_unlock(&e->lock);
	return n;
}

size_t sg_etcd_n_endpoints(struct sg_etcd *e)
{
	return e->n;
}

unsigned sg_etcd_timeout_ms(struct sg_etcd *e)
{
	return e->timeout_ms;
}

const char *sg_etcd_endpoint_at(struct sg_etcd *e, size_t i)
{
	return e->endpoints[i % e->n];
}

size_t sg_etcd_current(struct sg_etcd *e)
{
	size_t i;

	pthread_mutex_lock(&e->lock);
	i = e->cur;
	pthread_mutex_unlock(&e->lock);
	return i;
}

void sg_etcd_set_current(struct sg_etcd *e, size_t i)
{
	pthread_mutex_lock(&e->lock);
	if (e->cur != i % e->n)
		e->failovers++;
	e->cur = i % e->n;
	pthread_mutex_unlock(&e->lock);
}

const char *sg_etcd_endpoint(struct sg_etcd *e)
{
	return e->endpoints[sg_etcd_current(e)];
}

/* ---- one request ------------------------------------------------------ */

struct body {
	char *buf;
	size_t len, cap, max;
	bool over;
};

/* Keeps at most b->max bytes; one more and the transfer is aborted. */
static size_t body_write(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
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
	CURL *c = curl_easy_init();

	*headers = NULL;
	if (!c)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", e->endpoints[i % e->n], path);
	h = curl_slist_append(NULL, "Content-Type: application/json");
	pthread_mutex_lock(&e->lock);
	if (h && e->token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		t = curl_slist_append(h, auth);
		h = t ? t : NULL;
	}
	pthread_mutex_unlock(&e->lock);
	/* "Expect: 100-continue" would cost a round trip on large bodies. */
	t = h ? curl_slist_append(h, "Expect:") : NULL;
	if (!t) {
		curl_slist_free_all(h);
		curl_easy_cleanup(c);
		return NULL;
	}
	h = t;
	*headers = h;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if CURL_AT_LEAST_VERSION(7, 85, 0)
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	if (e->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->ca);
	if (e->cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
	}
	return c;
}

int sg_etcd_curl_error(struct sg_etcd *e, const char *url, int code, const char *detail,
		       bool *denied, char *buf, size_t len)
{
	const char *what = detail && *detail ? detail : curl_easy_strerror(code);

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

/* POSTs body to path on endpoint i: 0 with the reply in *out, or an
 * error (message in err) and whether another endpoint may do better. */
static int post_one(struct sg_etcd *e, size_t i, const char *path, const char *body,
		    long long timeout_ms, size_t max_reply, struct body *out, bool *elsewhere,
		    bool *reauth, struct sg_err *err)
{
	char url[1024], detail[CURL_ERROR_SIZE] = "", msg[SG_ERR_MAX];
	struct curl_slist *h;
	struct body b = { .max = max_reply };
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
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
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

int sg_etcd_ensure_token(struct sg_etcd *e, size_t i, long long timeout_ms, struct sg_err *err)
{
	struct body b = { 0 };
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
	rc = post_one(e, i, "/v3/auth/authenticate", text, timeout_ms, 64 << 10, &b,
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
		struct body b = { 0 };
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
			rc = post_one(e, i, path, text, budget, max_reply, &b, &elsewhere,
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
