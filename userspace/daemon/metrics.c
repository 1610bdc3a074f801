// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * /metrics over HTTP (libmicrohttpd) and the optional textfile output.
 *
 * Nothing here runs in the event loop.  libmicrohttpd runs its own
 * threads (a small pool, epoll, non-blocking sockets), and the textfile
 * writer has its own thread, so a slow client, a flood of connections or
 * a slow disk can only ever delay metrics, never the loop thread, the
 * event reader or the control socket.  Those threads read the kernel's
 * maps through the library (plain syscalls) and the daemon's scalars and
 * expiries under d->lock, held only to copy them.
 *
 * The exposure is bounded: a fixed thread pool, a total and a per-IP
 * connection limit, an idle timeout, and a per-connection memory limit
 * that caps request headers.  A rendering is reused for up to a second,
 * so however often /metrics is fetched the maps are read at most about
 * once a second.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "metrics.h"
#include "file_replace.h"
#include "metrics_text.h"

#define HTTP_THREADS         2
#define HTTP_MAX_CONNECTIONS 64
#define HTTP_MAX_PER_IP      8
#define HTTP_IDLE_TIMEOUT_S  10
#define HTTP_MEMORY_LIMIT    16384  /* per connection: request line and headers */
#define HTTP_BACKLOG         64
#define RENDER_REUSE_S       1.0
#define TEXTFILE_INTERVAL_S  5
#define MHD_LOG_INTERVAL_S   60     /* at most one libmicrohttpd message per minute */

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define ALLOWED_METHODS      "GET, HEAD"

struct sgd_metrics {
	struct sgd *d;
	struct MHD_Daemon *http;

	/* The last rendering, shared by scrapes and the textfile. */
	pthread_mutex_t render_lock;
	char *text;
	size_t len;
	double rendered_at;             /* CLOCK_MONOTONIC seconds */

	/* The textfile writer. */
	pthread_t textfile_thread;
	bool textfile_running;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
	bool textfile_failing;          /* log a failure once, and the recovery */

	/* Rate limit for libmicrohttpd's messages (a connection flood makes
	 * one per refused connection). */
	pthread_mutex_t log_lock;
	double log_at;
	unsigned long log_suppressed;
};

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- rendering ---------------------------------------------------------- */

/* The daemon's own part of the snapshot, copied under d->lock. */
static int copy_daemon_state(struct sgd *d, struct sg_mt_snapshot *s)
{
	struct sg_expiry_item *raw = NULL;
	size_t n_raw = 0;
	int rc = 0;

	s->version = SG_VERSION;
	s->libbpf_version = libbpf_version_string();
	s->start_time = d->started;     /* set before any thread starts */
	pthread_mutex_lock(&d->lock);
	s->trusted_prefixes = d->n_trusted;
	s->approvals = d->n_approvals;
	s->reload_failures = d->reload_failures;
	s->approvals_not_durable = d->approvals_not_durable;
	s->last_reload_success = d->last_reload_success;
	s->reload_in_progress = d->reload_since_ms != 0;
	s->reload_last_ms = d->reload_last_ms;
	s->events_written = d->events_written;
	s->events_write_failures = d->events_write_failures;
	s->audit_write_failures = d->audit_write_failures;
	s->audit_refusals_suppressed = d->audit_refusals_suppressed;
	memcpy(s->policy_sha256, d->policy_sha256, sizeof(s->policy_sha256));
	s->store.configured = d->store_view.configured;
	s->store.up = d->store_view.up;
	s->store.revision = d->store_view.revision;
	s->store.last_sync = d->store_view.last_sync;
	s->store.refused = d->store_view.refused;
	s->store.failovers = d->store_view.failovers;
	s->store.reconnects = d->store_view.reconnects;
	s->n_expiring = d->expiries.n_expiring;
	/* Copied as they are (two arrays), pointers made after the lock. */
	if (d->expiries.n) {
		raw = malloc(d->expiries.n * sizeof(*raw));
		s->expiry_text = malloc(d->expiries.text_len);
		if (raw && s->expiry_text) {
			memcpy(raw, d->expiries.items, d->expiries.n * sizeof(*raw));
			memcpy(s->expiry_text, d->expiries.text, d->expiries.text_len);
			n_raw = d->expiries.n;
		} else {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (n_raw && (s->expiries = calloc(n_raw, sizeof(*s->expiries)))) {
		for (size_t i = 0; i < n_raw; i++) {
			s->expiries[i].prefix = raw[i].prefix;
			s->expiries[i].ticket = s->expiry_text + raw[i].ticket;
			s->expiries[i].expires = raw[i].expires;
		}
		s->n_expiries = n_raw;
	} else if (n_raw) {
		rc = -ENOMEM;
	}
	free(raw);
	return rc;
}

static int render_fresh(struct sgd_metrics *m, char **text, size_t *len)
{
	struct sgd *d = m->d;
	struct sg_mt_snapshot s;
	int rc;

	rc = sg_mt_collect(d->dp, d->cfg.ifaces, d->cfg.n_ifaces, d->cfg.top_sources, &s);
	if (rc)
		return rc;
	rc = copy_daemon_state(d, &s);
	if (!rc)
		rc = sg_mt_render_buffer(&s, text, len);
	sg_mt_snapshot_free(&s);
	return rc;
}

/* A copy of the current text (at most RENDER_REUSE_S old), malloc'd.
 * Concurrent callers wait for one rendering instead of each making one. */
static int current_text(struct sgd_metrics *m, char **out, size_t *out_len)
{
	double now = monotonic_seconds();
	int rc = 0;

	pthread_mutex_lock(&m->render_lock);
	if (!m->text || now - m->rendered_at >= RENDER_REUSE_S) {
		char *text = NULL;
		size_t len = 0;

		rc = render_fresh(m, &text, &len);
		if (!rc) {
			free(m->text);
			m->text = text;
			m->len = len;
			m->rendered_at = monotonic_seconds();
		}
	}
	if (!rc) {
		*out = malloc(m->len + 1);
		if (*out) {
			memcpy(*out, m->text, m->len + 1);
			*out_len = m->len;
		} else {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&m->render_lock);
	return rc;
}

/* ---- HTTP --------------------------------------------------------------- */

static const char index_page[] =
	"<!DOCTYPE html>\n"
	"<html><head><title>smtpgated</title></head>\n"
	"<body><h1>smtpgated</h1>\n"
	"<p>Outbound SMTP governance (XDP/TC). Prometheus metrics: "
	"<a href=\"/metrics\">/metrics</a></p>\n"
	"</body></html>\n";

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
			       char *body, size_t len, enum MHD_ResponseMemoryMode mode,
			       const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_static(struct MHD_Connection *c, unsigned status,
				      const char *text, const char *allow)
{
	return respond(c, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
		       MHD_RESPMEM_PERSISTENT, allow);
}

static enum MHD_Result serve_metrics(struct sgd_metrics *m, struct MHD_Connection *c)
{
	char *text = NULL;
	size_t len = 0;
	int rc = current_text(m, &text, &len);

	if (rc) {
		sgd_warn("metrics: cannot read the data plane's counters: %s", strerror(-rc));
		return respond_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				      "cannot read smtpgate's counters; see the daemon's log\n",
				      NULL);
	}
	return respond(c, MHD_HTTP_OK, CONTENT_TYPE_METRICS, text, len, MHD_RESPMEM_MUST_FREE,
		       NULL);
}

/* Every request is answered on the first call, before any body is read:
 * nothing served here takes a body, and libmicrohttpd closes a connection
 * whose body was not consumed. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **req)
{
	struct sgd_metrics *m = cls;
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
	bool known = !strcmp(url, "/metrics") || !strcmp(url, "/");

	(void)version;
	(void)upload_data;
	if (*req) {
		/* Only reached for a body sent after our answer: discard. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	*req = m;
	if (!known)
		return respond_static(c, MHD_HTTP_NOT_FOUND, "not found; try /metrics\n", NULL);
	if (!get)
		return respond_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
				      ALLOWED_METHODS);
	if (!strcmp(url, "/"))
		return respond(c, MHD_HTTP_OK, "text/html; charset=utf-8", (char *)index_page,
			       sizeof(index_page) - 1, MHD_RESPMEM_PERSISTENT, NULL);
	return serve_metrics(m, c);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct sgd_metrics *m = cls;
	double now = monotonic_seconds();
	unsigned long suppressed;
	char msg[512];
	size_t n;

	pthread_mutex_lock(&m->log_lock);
	if (m->log_at && now - m->log_at < MHD_LOG_INTERVAL_S) {
		m->log_suppressed++;
		pthread_mutex_unlock(&m->log_lock);
		return;
	}
	m->log_at = now;
	suppressed = m->log_suppressed;
	m->log_suppressed = 0;
	pthread_mutex_unlock(&m->log_lock);

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (suppressed)
		sgd_warn("metrics: %s (%lu similar messages suppressed)", msg, suppressed);
	else
		sgd_warn("metrics: %s", msg);
}

static int start_http(struct sgd_metrics *m)
{
	const char *listen = m->d->cfg.metrics_listen;
	struct sockaddr_storage ss;
	struct sg_err err = { 0 };
	unsigned flags, len = 0;

	if (!listen || !strcmp(listen, "off"))
		return 0;
	if (sg_parse_listen(listen, &ss, &len, &err)) {
		sgd_err("metrics.listen: %s", err.msg);
		return -1;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	/* The logger first, so that no option's message escapes it. */
	m->http = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m,
				   MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, m,
				   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				   MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
				   MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_PER_IP,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
				   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
				   MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)HTTP_BACKLOG,
				   MHD_OPTION_END);
	if (!m->http) {
		sgd_err("metrics: cannot serve on %s%s%s (metrics.listen; \"off\" disables it)",
			listen, errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	return 0;
}

/* ---- textfile ----------------------------------------------------------- */

/* Write-temp-and-rename in the same directory: a reader (node_exporter's
 * textfile collector) sees the old file or the new one, never a part.
 * The temporary name does not end in .prom, so the collector skips it.
 * No fsync: the file is regenerated every few seconds, and a crash can
 * at worst leave an older complete file or none. */
static int write_textfile(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fchmod(fd, 0644) ? -errno : 0;
	if (!rc)
		rc = sg_write_all(fd, text, len);
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static void textfile_once(struct sgd_metrics *m)
{
	const char *path = m->d->cfg.metrics_textfile;
	char *text = NULL;
	size_t len = 0;
	int rc = current_text(m, &text, &len);

	if (!rc)
		rc = write_textfile(path, text, len);
	free(text);
	if (rc && !m->textfile_failing)
		sgd_warn("metrics: cannot write %s: %s (will keep trying)", path, strerror(-rc));
	else if (!rc && m->textfile_failing)
		sgd_notice("metrics: writing %s again", path);
	m->textfile_failing = rc != 0;
}

static void *textfile_main(void *arg)
{
	struct sgd_metrics *m = arg;
	struct timespec until;

	pthread_mutex_lock(&m->stop_lock);
	while (!m->stopping) {
		pthread_mutex_unlock(&m->stop_lock);
		textfile_once(m);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += TEXTFILE_INTERVAL_S;
		pthread_mutex_lock(&m->stop_lock);
		while (!m->stopping &&
		       pthread_cond_timedwait(&m->stop_cond, &m->stop_lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->stop_lock);
	return NULL;
}

static int start_textfile(struct sgd_metrics *m)
{
	pthread_condattr_t attr;
	int rc;

	if (!m->d->cfg.metrics_textfile)
		return 0;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&m->stop_cond, &attr);
	pthread_condattr_destroy(&attr);
	rc = pthread_create(&m->textfile_thread, NULL, textfile_main, m);
	if (rc) {
		sgd_err("metrics: cannot start the textfile writer: %s", strerror(rc));
		pthread_cond_destroy(&m->stop_cond);
		return -1;
	}
	m->textfile_running = true;
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

int sgd_metrics_start(struct sgd *d)
{
	struct sgd_metrics *m = calloc(1, sizeof(*m));

	if (!m) {
		sgd_err("metrics: out of memory");
		return -1;
	}
	m->d = d;
	pthread_mutex_init(&m->render_lock, NULL);
	pthread_mutex_init(&m->stop_lock, NULL);
	pthread_mutex_init(&m->log_lock, NULL);
	d->metrics = m;
	if (start_http(m) || start_textfile(m)) {
		sgd_metrics_stop(d);
		return -1;
	}
	if (m->http)
		sgd_info("metrics: serving http://%s/metrics", d->cfg.metrics_listen);
	if (m->textfile_running)
		sgd_info("metrics: writing %s every %d s", d->cfg.metrics_textfile,
			 TEXTFILE_INTERVAL_S);
	return 0;
}

void sgd_metrics_stop(struct sgd *d)
{
	struct sgd_metrics *m = d->metrics;

	if (!m)
		return;
	if (m->http)
		MHD_stop_daemon(m->http);
	if (m->textfile_running) {
		pthread_mutex_lock(&m->stop_lock);
		m->stopping = true;
		pthread_cond_signal(&m->stop_cond);
		pthread_mutex_unlock(&m->stop_lock);
		pthread_join(m->textfile_thread, NULL);
		pthread_cond_destroy(&m->stop_cond);
	}
	pthread_mutex_destroy(&m->render_lock);
	pthread_mutex_destroy(&m->stop_lock);
	pthread_mutex_destroy(&m->log_lock);
	free(m->text);
	free(m);
	d->metrics = NULL;
}
