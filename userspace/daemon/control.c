// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control socket smtpgatectl talks to (docs/control-protocol.md).
 *
 * A Unix stream socket served from the event loop, so requests are
 * serialised with everything else that changes the policy.  Every
 * connection is non-blocking with its own buffers: one request line of
 * at most 64 KiB (64 MiB for an admin: a trust.import batch) within 5
 * seconds, then one reply (a listing is streamed a chunk at a time),
 * then close.  The peer
 * is identified with SO_PEERCRED when the connection is accepted, and a
 * peer in neither control group is answered "permission_denied" before a
 * byte of its request is read.
 *
 * Filesystem permissions keep everyone else out in the first place: the
 * directory is 0750 and the socket 0660, both of group admin_group, and a
 * POSIX ACL gives read_group the same access (read-only users need to
 * connect too; a socket has only one group).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include "clock.h"
#include "control.h"
#include "control_cmd.h"
#include "log.h"
#include "loop.h"
#include "safe_path.h"

#define REQUEST_TIMEOUT_MS 5000
/* A peer that may not change anything and has sent nothing is dropped
 * after this long: connecting and then sitting idle holds a slot. */
#define IDLE_TIMEOUT_MS 2000
/* A reader that stops reading its reply is dropped after this long. */
#define REPLY_TIMEOUT_MS 30000
/* More connections than this wait in the listen backlog. */
#define MAX_CONNECTIONS 256
/* Of them, this many are kept for root and admin_group: a flood of
 * read-only (or refused) clients cannot lock the firewall team out. */
#define ADMIN_RESERVED 16
/* Connections one unprivileged uid may hold at once. */
#define MAX_PER_UID 32
/* Replies waiting to be read by unprivileged peers, in total: beyond it
 * a reader's reply is "busy" (a reader that does not read its replies
 * must not make the daemon hold them all).  One reply alone always
 * goes, however large. */
#define READER_REPLY_BUDGET (64u << 20)
/* After an early refusal, how long the peer's unread bytes are drained. */
#define DRAIN_MS 2000
/* A request that must wait for a reload in progress (a change, ban.list)
 * waits at most this long, then is refused as reload_in_progress: well
 * inside smtpgatectl's 60 s, so the client always learns the outcome. */
#define RELOAD_WAIT_MS 30000
/* With --test-mode only, this environment variable sets it instead: the
 * e2e tests cannot make a reload last 30 s. */
#define RELOAD_WAIT_ENV "SMTPGATED_TEST_RELOAD_WAIT_MS"

struct conn {
	struct sgd_control *ctl;
	int fd;
	struct sgd_peer peer;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	struct sgd_stream *stream; /* the rest of a streamed reply (trust.list) */
	bool replying;          /* the request is answered; writing the reply */
	bool drain;             /* answered early: drain the rest once replied */
	bool draining;          /* replied; discarding input until EOF */
	uint32_t watching;      /* EPOLLIN, EPOLLOUT or 0 */
	int64_t accepted_ms;
	int64_t deadline_ms;
	size_t reader_bytes;    /* counted in ctl->reader_bytes */
	/* Waiting for a reload in progress: the parsed request, and its
	 * place in the queue (requests run in their order of arrival). */
	json_t *parked;
	uint64_t park_seq;
	/* A request answered later (a reload): its reply comes from the
	 * loop when the reload is committed or failed. */
	struct sgd_req *later;
	struct conn *prev, *next;
};

struct sgd_control {
	struct sgd *d;
	int listen_fd;
	int timer_fd;
	bool accepting;         /* the listener is watched */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct conn *conns;
	size_t n_conns;
	size_t n_unprivileged;  /* connections of peers that are not admins */
	size_t reader_bytes;    /* reply bytes held for unprivileged peers */
	uint64_t park_seq;      /* requests parked so far */
	int64_t reload_wait_ms; /* RELOAD_WAIT_MS, or the test's */
	bool busy_logged;       /* "busy" is logged once per episode */
	bool fd_starved;        /* accept ran out of descriptors (logged once) */
};

/* ---- who is asking ------------------------------------------------- */

static bool group_gid(const char *name, gid_t *gid)
{
	struct group *g = name ? getgrnam(name) : NULL;

	if (g)
		*gid = g->gr_gid;
	return g != NULL;
}

/* Primary and supplementary groups of the user, as getgrouplist(3)
 * reports them. */
static bool user_in_group(const struct passwd *pw, gid_t want)
{
	int n = 64;
	bool found = false;

	for (int tries = 0; tries < 4; tries++) {
		gid_t *groups = calloc((size_t)n, sizeof(*groups));
		int got = n;

		if (!groups)
			return false;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &got) >= 0) {
			for (int i = 0; i < got && !found; i++)
				found = groups[i] == want;
			free(groups);
			return found;
		}
		free(groups);
		n = got > n ? got : n * 4;
	}
	return false;
}

static int peer_identify(struct sgd *d, int fd, struct sgd_peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd *pw;
	gid_t gid;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	p->uid = cred.uid;
	p->gid = cred.gid;
	p->pid = cred.pid;
	p->role = SGD_ROLE_NONE;
	pw = getpwuid(cred.uid);
	if (pw)
		snprintf(p->user, sizeof(p->user), "%s", pw->pw_name);
	else
		snprintf(p->user, sizeof(p->user), "uid %u", (unsigned)cred.uid);
	if (cred.uid == 0)
		p->role = SGD_ROLE_ADMIN;
	else if (pw && group_gid(d->cfg.admin_group, &gid) && user_in_group(pw, gid))
		p->role = SGD_ROLE_ADMIN;
	else if (pw && group_gid(d->cfg.read_group, &gid) && user_in_group(pw, gid))
		p->role = SGD_ROLE_READ;
	return 0;
}

/* ---- connections ----------------------------------------------------- */

static void resume_accepting(struct sgd_control *ctl);
static void on_conn(struct sgd *d, void *arg, uint32_t events);

static void conn_close(struct conn *c)
{
	struct sgd_control *ctl = c->ctl;

	sgd_watch_del(ctl->d, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->n_conns--;
	if (c->peer.role != SGD_ROLE_ADMIN)
		ctl->n_unprivileged--;
	ctl->reader_bytes -= c->reader_bytes;
	if (c->parked) {
		json_decref(c->parked);
		ctl->d->requests_waiting--;
	}
	if (c->later)
		sgd_req_forget_client(c->later); /* the reload goes on, unanswered */
	sgd_stream_free(c->stream);
	free(c->in);
	free(c->out);
	free(c);
	resume_accepting(ctl);
}

static int conn_watch(struct conn *c, uint32_t events)
{
	if (c->watching == events)
		return 0;
	if (c->watching)
		sgd_watch_del(c->ctl->d, c->fd);
	c->watching = 0;
	if (sgd_watch_add(c->ctl->d, c->fd, events, on_conn, c))
		return -1;
	c->watching = events;
	return 0;
}

/* A peer refused before its request was read may still be writing it:
 * closing with its bytes unread would make its write fail (EPIPE) and
 * could cost it the reply.  So the reply is followed by a half-close and
 * the rest of its input is read and thrown away, never looked at, until
 * it closes or DRAIN_MS pass. */
static void conn_start_drain(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->draining = true;
	c->deadline_ms = sg_mono_ms() + DRAIN_MS;
	if (conn_watch(c, EPOLLIN))
		conn_close(c);
}

static void conn_drain(struct conn *c)
{
	char scratch[16384];

	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c); /* EOF or error */
		return;
	}
}

/* Sends what is pending: 1 all of it, 0 the socket is full, -1 the peer
 * is gone. */
static int conn_send(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		c->out_off += (size_t)w;
	}
	return 1;
}

/* The next chunk of a streamed reply in place of the one sent; the last
 * gets the reply's newline.  0, or -1 (the reply is cut short). */
static int conn_next_chunk(struct conn *c)
{
	struct sgd_control *ctl = c->ctl;
	char *buf = NULL, *nb;
	size_t len = 0;
	int rc = c->stream->next(ctl->d, c->stream->state, &buf, &len);

	if (rc < 0)
		return -1;
	if (!rc) {
		if (!(nb = realloc(buf, len + 1))) {
			free(buf);
			return -1;
		}
		buf = nb;
		buf[len++] = '\n';
		sgd_stream_free(c->stream);
		c->stream = NULL;
	}
	free(c->out);
	c->out = buf;
	c->out_len = len;
	c->out_off = 0;
	if (c->peer.role != SGD_ROLE_ADMIN) {
		ctl->reader_bytes += len - c->reader_bytes;
		c->reader_bytes = len;
	}
	/* A long listing read steadily is not "a reader that stops reading". */
	c->deadline_ms = sg_mono_ms() + REPLY_TIMEOUT_MS;
	return 0;
}

/* Writes what the socket takes; closes when all is written or the peer
 * is gone.  A streamed reply makes one chunk per call, and the call
 * comes from the event loop (EPOLLOUT, level-triggered), so the other
 * connections and the daemon's other work take turns with it. */
static void conn_flush(struct conn *c)
{
	bool made = false;

	for (;;) {
		int rc = conn_send(c);

		if (rc < 0) {
			conn_close(c);
			return;
		}
		if (!rc || (c->stream && made)) {
			if (conn_watch(c, EPOLLOUT))
				conn_close(c);
			return;
		}
		if (!c->stream)
			break;
		if (conn_next_chunk(c)) {
			conn_close(c);
			return;
		}
		made = true;
	}
	if (c->drain)
		conn_start_drain(c);
	else
		conn_close(c);
}

/* A reply that cannot be sent as it is: one line saying why, instead. */
static char *reply_instead(char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *reply_instead(char *text, const char *fmt, ...)
{
	char why[256];
	json_t *o;
	va_list ap;

	free(text);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", why, "code", SGD_E_FAILED);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* Sends the reply line (malloc'd, consumed) and closes. */
static void conn_reply_text(struct conn *c, char *text)
{
	struct sgd_control *ctl = c->ctl;
	size_t len = text ? strlen(text) : 0;

	if (len > SGD_CTL_MAX_REPLY)
		text = reply_instead(text, "the reply would be %zu bytes, over the limit of %d MiB: "
				     "ask for less", len, SGD_CTL_MAX_REPLY >> 20);
	else if (text && c->peer.role != SGD_ROLE_ADMIN && ctl->reader_bytes &&
		 ctl->reader_bytes + len > READER_REPLY_BUDGET)
		text = reply_instead(text, "smtpgated is busy: %zu MiB of replies wait for other "
				     "read-only clients to read them; try again later",
				     ctl->reader_bytes >> 20);
	if (!text)
		text = strdup("{\"ok\":false,\"error\":\"out of memory\",\"code\":\"failed\"}");
	if (!text) {
		conn_close(c);
		return;
	}
	c->out_len = strlen(text);
	if (c->peer.role != SGD_ROLE_ADMIN) {
		c->reader_bytes = c->out_len + 1;
		ctl->reader_bytes += c->reader_bytes;
	}
	text[c->out_len++] = '\n'; /* json_dumps' NUL becomes the newline */
	c->out = text;
	c->out_off = 0;
	c->replying = true;
	c->deadline_ms = sg_mono_ms() + REPLY_TIMEOUT_MS;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	conn_flush(c);
}

/* Sends a streamed reply (consumed), chunk by chunk, and closes. */
static void conn_reply_stream(struct conn *c, struct sgd_stream *stream)
{
	c->stream = stream;
	c->replying = true;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	c->out_len = c->out_off = 0;
	c->deadline_ms = sg_mono_ms() + REPLY_TIMEOUT_MS;
	conn_flush(c);
}

static void conn_reply(struct conn *c, json_t *reply)
{
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	json_decref(reply);
	conn_reply_text(c, text);
}

static void conn_refuse(struct conn *c, const char *code, const char *why)
{
	json_t *args = json_pack("{s:I}", "bytes", (json_int_t)c->in_len);

	conn_reply(c, sgd_control_refuse(c->ctl->d, &c->peer, code, why, args));
}

/* A refusal while the peer may still be sending. */
static void conn_refuse_early(struct conn *c, const char *code, const char *why)
{
	c->drain = true;
	conn_refuse(c, code, why);
}

static void on_reply(void *ctx, char *text)
{
	struct conn *c = ctx;

	c->later = NULL;
	conn_reply_text(c, text);
}

static void on_reply_stream(void *ctx, struct sgd_stream *stream)
{
	struct conn *c = ctx;

	c->later = NULL;
	conn_reply_stream(c, stream);
}

/* Runs the request (consumed); refuse_reload: refuse it as
 * reload_in_progress with this reason instead.  c may be closed on
 * return, unless its reply comes later. */
static void conn_run(struct conn *c, json_t *req, const char *refuse_reload)
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
	if (conn_watch(c, EPOLLHUP))
		conn_close(c);
}

/* The request waits for the reload in progress (consumed). */
static void conn_park(struct conn *c, json_t *req)
{
	struct sgd_control *ctl = c->ctl;

	c->parked = req;
	c->park_seq = ++ctl->park_seq;
	c->deadline_ms = sg_mono_ms() + ctl->reload_wait_ms;
	ctl->d->requests_waiting++;
	if (conn_watch(c, EPOLLHUP))
		conn_close(c);
}

static json_t *conn_unpark(struct conn *c)
{
	json_t *req = c->parked;

	c->parked = NULL;
	c->ctl->d->requests_waiting--;
	return req;
}

static void conn_answer(struct conn *c)
{
	json_error_t jerr;
	json_t *req = json_loadb(c->in, c->in_len, JSON_REJECT_DUPLICATES, &jerr);
	char why[256];

	if (!req) {
		snprintf(why, sizeof(why), "the request is not valid JSON: line %d, column %d: %s",
			 jerr.line, jerr.column, jerr.text);
		conn_refuse(c, SGD_E_INVALID, why);
		return;
	}
	if (!json_is_object(req)) {
		json_decref(req);
		conn_refuse(c, SGD_E_INVALID, "the request must be a JSON object");
		return;
	}
	if (sgd_control_waits_for_reload(c->ctl->d, req)) {
		conn_park(c, req);
		return;
	}
	conn_run(c, req, NULL);
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
		conn_run(first, conn_unpark(first), NULL);
	}
}

/* Reads what is there; answers once the request line is complete (a
 * newline, or the end of the stream). */
static void conn_read(struct conn *c)
{
	/* An admin's request may carry a batch (trust.import); anyone
	 * else's is small.  The buffer grows with what arrives. */
	size_t limit = c->peer.role == SGD_ROLE_ADMIN ? SGD_CTL_MAX_ADMIN_REQUEST
						      : SGD_CTL_MAX_REQUEST;

	for (;;) {
		char *nl;
		ssize_t n;

		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap ? c->in_cap * 2 : SGD_CTL_MAX_REQUEST + 1;
			char *in;

			if (cap > limit + 1)
				cap = limit + 1;
			if (!(in = realloc(c->in, cap))) {
				conn_close(c);
				return;
			}
			c->in = in;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (n == 0) {
			if (c->in_len)
				conn_answer(c);
			else
				conn_close(c);
			return;
		}
		/* Idle no more: the whole request has until the usual deadline. */
		if (!c->in_len)
			c->deadline_ms = c->accepted_ms + REQUEST_TIMEOUT_MS;
		nl = memchr(c->in + c->in_len, '\n', (size_t)n);
		c->in_len += (size_t)n;
		if (nl && (size_t)(nl - c->in) < limit) {
			c->in_len = (size_t)(nl - c->in);
			conn_answer(c);
			return;
		}
		if (c->in_len > limit || nl) {
			conn_refuse_early(c, SGD_E_INVALID, limit == SGD_CTL_MAX_REQUEST
					  ? "the request is larger than 65536 bytes"
					  : "the request is larger than 64 MiB");
			return;
		}
	}
}

static void on_conn(struct sgd *d, void *arg, uint32_t events)
{
	struct conn *c = arg;

	(void)d;
	if (c->parked || c->later) {
		/* Only a hang-up is watched for: the client went away.  A
		 * parked request is dropped unrun; a later one finishes. */
		if (events & (EPOLLHUP | EPOLLERR)) {
			sgd_info("control: %s (uid %u) hung up before its %s was answered%s",
				 c->peer.user, (unsigned)c->peer.uid,
				 c->parked ? "request" : "reload",
				 c->parked ? ": the request was not run" : "");
			conn_close(c);
		}
		return;
	}
	if (c->draining) {
		conn_drain(c);
		return;
	}
	if (c->replying) {
		conn_flush(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
}

/* How many connections uid holds. */
static size_t conns_of(const struct sgd_control *ctl, uid_t uid)
{
	size_t n = 0;

	for (const struct conn *c = ctl->conns; c; c = c->next)
		n += c->peer.uid == uid;
	return n;
}

/* A peer over its share of connections is told so and closed at once,
 * without a slot: draining it would hold one. */
static bool over_share(struct sgd_control *ctl, int fd, const struct sgd_peer *p)
{
	char why[256], *text;
	json_t *o;

	if (p->role == SGD_ROLE_ADMIN)
		return false;
	if (ctl->n_unprivileged >= MAX_CONNECTIONS - ADMIN_RESERVED)
		snprintf(why, sizeof(why), "smtpgated is busy: %d connections of clients that may "
			 "only read are open (the rest are kept for admins); try again later",
			 MAX_CONNECTIONS - ADMIN_RESERVED);
	else if (conns_of(ctl, p->uid) >= MAX_PER_UID)
		snprintf(why, sizeof(why), "smtpgated is busy: %s (uid %u) already has %d "
			 "connections open; try again later", p->user, (unsigned)p->uid,
			 MAX_PER_UID);
	else
		return false;
	if (!ctl->busy_logged)
		sgd_warn("control: %s (further refusals for lack of slots are not logged until a "
			 "connection of this kind is accepted again)", why);
	ctl->busy_logged = true;
	o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", why, "code", SGD_E_FAILED);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text) {
		size_t len = strlen(text);

		text[len] = '\n';
		if (send(fd, text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			sgd_debug("control: busy reply: %s", strerror(errno));
	}
	free(text);
	close(fd);
	return true;
}

static void conn_new(struct sgd_control *ctl, int fd)
{
	struct conn *c;
	struct sgd_peer peer = { 0 };
	char why[256];

	/* Who it is decides whether it may have a slot at all. */
	if (peer_identify(ctl->d, fd, &peer)) {
		close(fd);
		return;
	}
	if (over_share(ctl, fd, &peer))
		return;
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->peer = peer;
	c->accepted_ms = sg_mono_ms();
	c->deadline_ms = c->accepted_ms +
			 (peer.role == SGD_ROLE_ADMIN ? REQUEST_TIMEOUT_MS : IDLE_TIMEOUT_MS);
	c->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = c;
	ctl->conns = c;
	ctl->n_conns++;
	if (peer.role != SGD_ROLE_ADMIN) {
		ctl->n_unprivileged++;
		ctl->busy_logged = false;
	}
	if (c->peer.role == SGD_ROLE_NONE) {
		snprintf(why, sizeof(why), "permission denied: %s (uid %u) is neither root nor in "
			 "control.admin_group \"%s\" or control.read_group \"%s\"", c->peer.user,
			 (unsigned)c->peer.uid, ctl->d->cfg.admin_group, ctl->d->cfg.read_group);
		/* Refused before a byte of the request is read (and logged with
		 * its audit record, both rate-limited per uid). */
		conn_refuse_early(c, SGD_E_DENIED, why);
		return;
	}
	if (conn_watch(c, EPOLLIN))
		conn_close(c);
}

static void pause_accepting(struct sgd_control *ctl)
{
	if (!ctl->accepting)
		return;
	sgd_watch_del(ctl->d, ctl->listen_fd);
	ctl->accepting = false;
}

static void on_listen(struct sgd *d, void *arg, uint32_t events);

static void resume_accepting(struct sgd_control *ctl)
{
	if (ctl->accepting || ctl->listen_fd < 0 || ctl->n_conns >= MAX_CONNECTIONS)
		return;
	if (!sgd_watch_add(ctl->d, ctl->listen_fd, EPOLLIN, on_listen, ctl))
		ctl->accepting = true;
}

/* Accepts everything waiting: a burst of clients is not left in the
 * backlog until the next wakeup. */
static void on_listen(struct sgd *d, void *arg, uint32_t events)
{
	struct sgd_control *ctl = arg;

	(void)d;
	(void)events;
	while (ctl->n_conns < MAX_CONNECTIONS) {
		int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/* The connection stays in the backlog, so the
				 * listener stays readable: unwatch it (or the
				 * loop would spin, logging) until a connection
				 * closes or the next second's timer. */
				if (!ctl->fd_starved)
					sgd_warn("control: out of file descriptors (%zu connections "
						 "open): new connections wait in the backlog",
						 ctl->n_conns);
				ctl->fd_starved = true;
				pause_accepting(ctl);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				sgd_warn("control: accept: %s", strerror(errno));
			}
			return;
		}
		ctl->fd_starved = false;
		conn_new(ctl, fd);
	}
	pause_accepting(ctl);
}

/* Once a second: connections past their deadline. */
static void on_timer(struct sgd *d, void *arg, uint32_t events)
{
	struct sgd_control *ctl = arg;
	int64_t now = sg_mono_ms();
	uint64_t ticks;
	struct conn *c, *next;

	(void)d;
	(void)events;
	if (read(ctl->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	resume_accepting(ctl); /* after running out of file descriptors */
	for (c = ctl->conns; c; c = next) {
		next = c->next;
		if (c->deadline_ms > now)
			continue;
		if (c->parked) {
			char why[256];

			snprintf(why, sizeof(why), "a reload has been in progress for over %.1f "
				 "seconds; nothing was changed: try again once it is over "
				 "(smtpgatectl status shows it)",
				 (double)ctl->reload_wait_ms / 1000.0);
			conn_run(c, conn_unpark(c), why);
		} else if (c->replying || c->draining) {
			conn_close(c);
		} else if (!c->in_len && c->peer.role != SGD_ROLE_ADMIN) {
			/* The refusal may close c, and only c. */
			conn_refuse(c, SGD_E_INVALID, "no request within 2 seconds of connecting");
		} else {
			conn_refuse(c, SGD_E_INVALID, "the request was not complete within 5 seconds");
		}
	}
}

/* ---- the socket ------------------------------------------------------ */

#define ACL_ENTRY(tag, perm, id) \
	{ htole16(tag), htole16((uint16_t)(perm)), htole32((uint32_t)(id)) }

/* A POSIX ACL (system.posix_acl_access) that adds group `gid` with perm
 * to the owner/group/other bits of mode.  On fd when it is >= 0, else on
 * path. */
static int set_group_acl(int fd, const char *path, mode_t mode, gid_t gid, unsigned perm)
{
	struct {
		struct posix_acl_xattr_header h;
		struct posix_acl_xattr_entry e[5];
	} __attribute__((packed)) acl = {
		.h.a_version = htole32(POSIX_ACL_XATTR_VERSION),
		.e = {
			ACL_ENTRY(ACL_USER_OBJ, (mode >> 6) & 7, ACL_UNDEFINED_ID),
			ACL_ENTRY(ACL_GROUP_OBJ, (mode >> 3) & 7, ACL_UNDEFINED_ID),
			ACL_ENTRY(ACL_GROUP, perm, gid),
			ACL_ENTRY(ACL_MASK, ((mode >> 3) & 7) | perm, ACL_UNDEFINED_ID),
			ACL_ENTRY(ACL_OTHER, mode & 7, ACL_UNDEFINED_ID),
		},
	};

	/* f-/l-: never through a link planted in place of the socket or dir. */
	if (fd >= 0)
		return fsetxattr(fd, "system.posix_acl_access", &acl, sizeof(acl), 0) ? -errno : 0;
	return lsetxattr(path, "system.posix_acl_access", &acl, sizeof(acl), 0) ? -errno : 0;
}

/* Group admin_group (when it exists) and an ACL for read_group, on fd
 * when it is >= 0, else on path (named in messages either way). */
static void set_access(struct sgd *d, int fd, const char *path, mode_t mode, unsigned read_perm)
{
	gid_t admin, reader;
	bool have_admin = group_gid(d->cfg.admin_group, &admin);
	int rc;

	if (have_admin && (fd >= 0 ? fchown(fd, (uid_t)-1, admin) : lchown(path, (uid_t)-1, admin)))
		sgd_warn("control: chgrp %s %s: %s", d->cfg.admin_group, path, strerror(errno));
	if (!group_gid(d->cfg.read_group, &reader)) {
		sgd_info("control: no group \"%s\" (control.read_group): only root%s%s%s may use %s",
			 d->cfg.read_group, have_admin ? " and members of \"" : "",
			 have_admin ? d->cfg.admin_group : "", have_admin ? "\"" : "", path);
		return;
	}
	if (have_admin && admin == reader)
		return;
	rc = set_group_acl(fd, path, mode, reader, read_perm);
	if (rc)
		sgd_warn("control: cannot give group \"%s\" access to %s with an ACL (%s): its "
			 "members cannot connect", d->cfg.read_group, path, strerror(-rc));
}

/* True if directory fd holds nothing but (maybe) an entry named sock. */
static bool only_socket_in(int fd, const char *sock)
{
	struct dirent *e;
	bool only = true;
	DIR *dir;
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (dup_fd < 0)
		return false;
	dir = fdopendir(dup_fd);
	if (!dir) {
		close(dup_fd);
		return false;
	}
	while (only && (e = readdir(dir)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, sock))
			only = false;
	closedir(dir);
	return only;
}

/* The socket's directory gets mode 0750, group admin_group and an ACL
 * for read_group, whoever made it: systemd (RuntimeDirectory=) or
 * tmpfiles make /run/smtpgate before the daemon starts, as root:root
 * 0750, which would lock both groups out.  Only a directory that is the
 * daemon's own (owned by its uid, holding nothing but the socket) is
 * changed, so a socket configured in a shared directory such as /run
 * never changes that directory: there a warning says why the groups may
 * not reach the socket.  Through a descriptor (O_NOFOLLOW): a symlink
 * is not followed. */
static int own_socket_dir(struct sgd *d, const char *dir, const char *sock)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (st.st_uid != geteuid() || !only_socket_in(fd, sock)) {
		if ((st.st_mode & 05) != 05)
			sgd_warn("control: %s is not smtpgated's own directory (owner uid %u, "
				 "other entries than %s): its mode and group stay as they are, so "
				 "members of \"%s\" and \"%s\" may not reach the socket; "
				 "configure control.socket in a directory of its own",
				 dir, (unsigned)st.st_uid, sock, d->cfg.admin_group, d->cfg.read_group);
		goto out;
	}
	if (fchmod(fd, 0750)) {
		rc = -errno;
		goto out;
	}
	set_access(d, fd, dir, 0750, ACL_READ | ACL_EXECUTE);
out:
	close(fd);
	return rc;
}

/* The socket's directory may be the admin and read groups' to enter
 * (r-x), but root's alone to write: whoever may write it could swap the
 * socket for a link between bind() and the ownership changes below. */
static int check_socket_dir(struct sgd *d, const char *sock_path)
{
	struct sg_err err = { 0 };
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", sock_path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (sg_check_private_dir("the directory of control.socket", dir,
				 d->load_opts.allow_any_owner, &err)) {
		sgd_err("control: %s", err.msg);
		return -EPERM;
	}
	return 0;
}

static int make_socket_dir(struct sgd *d, const char *sock_path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", sock_path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	/* Checked before it is made ours: a directory others could write
	 * may already hold what they planted, so it is refused, not fixed. */
	if (check_socket_dir(d, sock_path))
		return -EPERM;
	return own_socket_dir(d, dir, slash + 1);
}

/* An existing socket at path: refuse if a daemon answers on it, remove
 * it if it is stale. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		sgd_err("control: %s exists and is not a socket; refusing to replace it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (!rc || rc == -EAGAIN) {
		sgd_err("control: another smtpgated answers on %s; give this one its own "
			"control.socket", path);
		return -EADDRINUSE;
	}
	if (rc != -ECONNREFUSED) {
		sgd_err("control: cannot tell whether %s is in use: %s", path, strerror(-rc));
		return rc;
	}
	sgd_info("control: removing the stale socket %s", path);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

static int open_socket(struct sgd_control *ctl)
{
	struct sgd *d = ctl->d;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_mask;
	int rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl->path);
	rc = make_socket_dir(d, ctl->path);
	if (rc == -EPERM)
		return rc; /* check_socket_dir said why */
	if (rc) {
		sgd_err("control: cannot create the directory of %s: %s", ctl->path, strerror(-rc));
		return rc;
	}
	rc = clear_stale(ctl->path, &sa);
	if (rc)
		return rc;
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->listen_fd < 0) {
		rc = -errno;
		sgd_err("control: socket: %s", strerror(-rc));
		return rc;
	}
	/* The mode comes from the umask at bind(), not from a chmod of the
	 * path afterwards (which would follow whatever is there by then).
	 * No other thread runs yet to see the umask changed. */
	old_mask = umask(0117);
	rc = bind(ctl->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old_mask);
	if (rc) {
		sgd_err("control: bind %s: %s", ctl->path, strerror(-rc));
		return rc;
	}
	/* Nobody can connect before listen(): the group and ACL are in
	 * place first. */
	if (lstat(ctl->path, &st) || !S_ISSOCK(st.st_mode)) {
		sgd_err("control: %s is not the socket just bound", ctl->path);
		return -EEXIST;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	set_access(d, -1, ctl->path, 0660, ACL_READ | ACL_WRITE);
	if (listen(ctl->listen_fd, SOMAXCONN)) {
		rc = -errno;
		sgd_err("control: listen %s: %s", ctl->path, strerror(errno));
		return rc;
	}
	return 0;
}

int sgd_control_start(struct sgd *d)
{
	struct itimerspec every_second = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct sgd_control *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return -1;
	ctl->d = d;
	ctl->listen_fd = -1;
	ctl->timer_fd = -1;
	ctl->reload_wait_ms = RELOAD_WAIT_MS;
	if (d->opts.allow_any_owner && getenv(RELOAD_WAIT_ENV))
		ctl->reload_wait_ms = atoll(getenv(RELOAD_WAIT_ENV));
	d->control = ctl;
	if (strlen(d->cfg.control_socket) >= sizeof(ctl->path)) {
		sgd_err("control: socket path %s is longer than %zu bytes", d->cfg.control_socket,
			sizeof(ctl->path) - 1);
		return -1;
	}
	snprintf(ctl->path, sizeof(ctl->path), "%s", d->cfg.control_socket);
	if (open_socket(ctl))
		return -1;
	ctl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ctl->timer_fd < 0 || timerfd_settime(ctl->timer_fd, 0, &every_second, NULL) ||
	    sgd_watch_add(d, ctl->timer_fd, EPOLLIN, on_timer, ctl)) {
		sgd_err("control: timer: %s", strerror(errno));
		return -1;
	}
	resume_accepting(ctl);
	if (!ctl->accepting) {
		sgd_err("control: cannot watch %s", ctl->path);
		return -1;
	}
	sgd_info("control: listening on %s", ctl->path);
	return 0;
}

void sgd_control_stop(struct sgd *d)
{
	struct sgd_control *ctl = d->control;
	struct stat st;

	if (!ctl)
		return;
	while (ctl->conns)
		conn_close(ctl->conns);
	pause_accepting(ctl);
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
		ctl->listen_fd = -1;
		/* Only our own socket: not one another daemon bound since. */
		if (!lstat(ctl->path, &st) && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
			unlink(ctl->path);
	}
	if (ctl->timer_fd >= 0) {
		sgd_watch_del(d, ctl->timer_fd);
		close(ctl->timer_fd);
	}
	free(ctl);
	d->control = NULL;
}
