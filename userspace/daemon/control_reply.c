// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Writing a control connection's one reply: a line built whole, or a
 * streamed one a chunk per turn of the event loop, within the bounds
 * on reply size and on what read-only peers may leave unread; then
 * the close, or, after a refusal the peer may still be writing into,
 * the drain.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "clock.h"
#include "control_conn.h"

/* A reader that stops reading its reply is dropped after this long. */
#define REPLY_TIMEOUT_MS 30000
/* Replies waiting to be read by unprivileged peers, in total: beyond it
 * a reader's reply is "busy" (a reader that does not read its replies
 * must not make the daemon hold them all).  One reply alone always
 * goes, however large. */
#define READER_REPLY_BUDGET (64u << 20)
/* After an early refusal, how long the peer's unread bytes are drained. */
#define DRAIN_MS 2000

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
	if (sgd_conn_watch(c, EPOLLIN))
		sgd_conn_close(c);
}

void sgd_conn_drain(struct conn *c)
{
	char scratch[16384];

	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		sgd_conn_close(c); /* EOF or error */
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
void sgd_conn_flush(struct conn *c)
{
	bool made = false;

	for (;;) {
		int rc = conn_send(c);

		if (rc < 0) {
			sgd_conn_close(c);
			return;
		}
		if (!rc || (c->stream && made)) {
			if (sgd_conn_watch(c, EPOLLOUT))
				sgd_conn_close(c);
			return;
		}
		if (!c->stream)
			break;
		if (conn_next_chunk(c)) {
			sgd_conn_close(c);
			return;
		}
		made = true;
	}
	if (c->drain)
		conn_start_drain(c);
	else
		sgd_conn_close(c);
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
void sgd_conn_reply_text(struct conn *c, char *text)
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
		sgd_conn_close(c);
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
	sgd_conn_flush(c);
}

/* Sends a streamed reply (consumed), chunk by chunk, and closes. */
void sgd_conn_reply_stream(struct conn *c, struct sgd_stream *stream)
{
	c->stream = stream;
	c->replying = true;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	c->out_len = c->out_off = 0;
	c->deadline_ms = sg_mono_ms() + REPLY_TIMEOUT_MS;
	sgd_conn_flush(c);
}

static void conn_reply(struct conn *c, json_t *reply)
{
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	json_decref(reply);
	sgd_conn_reply_text(c, text);
}

void sgd_conn_refuse(struct conn *c, const char *code, const char *why)
{
	json_t *args = json_pack("{s:I}", "bytes", (json_int_t)c->in_len);

	conn_reply(c, sgd_control_refuse(c->ctl->d, &c->peer, code, why, args));
}

/* A refusal while the peer may still be sending. */
void sgd_conn_refuse_early(struct conn *c, const char *code, const char *why)
{
	c->drain = true;
	sgd_conn_refuse(c, code, why);
}
