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
 *
 * This file is the connections: accepting them within the limits on
 * slots, reading the request line, the deadlines, and starting and
 * stopping the server.  Around it: who the peer is (control_peer.c),
 * the socket file and its access (control_socket.c), writing the reply
 * (control_reply.c), and running a request or parking it behind a
 * reload in progress (control_dispatch.c); control_conn.h is what they
 * share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "control.h"
#include "control_conn.h"
#include "log.h"
#include "loop.h"

/* A peer that may not change anything and has sent nothing is dropped
 * after this long: connecting and then sitting idle holds a slot. */
#define IDLE_TIMEOUT_MS 2000
/* More connections than this wait in the listen backlog. */
#define MAX_CONNECTIONS 256
/* Of them, this many are kept for root and admin_group: a flood of
 * read-only (or refused) clients cannot lock the firewall team out. */
#define ADMIN_RESERVED 16
/* Connections one unprivileged uid may hold at once. */
#define MAX_PER_UID 32
/* A request that must wait for a reload in progress (a change, ban.list)
 * waits at most this long, then is refused as reload_in_progress: well
 * inside smtpgatectl's 60 s, so the client always learns the outcome. */
#define RELOAD_WAIT_MS 30000
/* With --test-mode only, this environment variable sets it instead: the
 * e2e tests cannot make a reload last 30 s. */
#define RELOAD_WAIT_ENV "SMTPGATED_TEST_RELOAD_WAIT_MS"

static void resume_accepting(struct sgd_control *ctl);
static void on_conn(struct sgd *d, void *arg, uint32_t events);

void sgd_conn_close(struct conn *c)
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

int sgd_conn_watch(struct conn *c, uint32_t events)
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
				sgd_conn_close(c);
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
			sgd_conn_close(c);
			return;
		}
		if (n == 0) {
			if (c->in_len)
				sgd_conn_answer(c);
			else
				sgd_conn_close(c);
			return;
		}
		/* Idle no more: the whole request has until the usual deadline. */
		if (!c->in_len)
			c->deadline_ms = c->accepted_ms + REQUEST_TIMEOUT_MS;
		nl = memchr(c->in + c->in_len, '\n', (size_t)n);
		c->in_len += (size_t)n;
		if (nl && (size_t)(nl - c->in) < limit) {
			c->in_len = (size_t)(nl - c->in);
			sgd_conn_answer(c);
			return;
		}
		if (c->in_len > limit || nl) {
			sgd_conn_refuse_early(c, SGD_E_INVALID, limit == SGD_CTL_MAX_REQUEST
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
			sgd_conn_close(c);
		}
		return;
	}
	if (c->draining) {
		sgd_conn_drain(c);
		return;
	}
	if (c->replying) {
		sgd_conn_flush(c);
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
	if (sgd_peer_identify(ctl->d, fd, &peer)) {
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
		sgd_conn_refuse_early(c, SGD_E_DENIED, why);
		return;
	}
	if (sgd_conn_watch(c, EPOLLIN))
		sgd_conn_close(c);
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
			sgd_conn_run(c, sgd_conn_unpark(c), why);
		} else if (c->replying || c->draining) {
			sgd_conn_close(c);
		} else if (!c->in_len && c->peer.role != SGD_ROLE_ADMIN) {
			/* The refusal may close c, and only c. */
			sgd_conn_refuse(c, SGD_E_INVALID, "no request within 2 seconds of connecting");
		} else {
			sgd_conn_refuse(c, SGD_E_INVALID, "the request was not complete within 5 seconds");
		}
	}
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
	if (sgd_control_open_socket(ctl))
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
		sgd_conn_close(ctl->conns);
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
