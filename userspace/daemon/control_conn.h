/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the parts of the control socket's server share (control.c is
 * the connections; the peer, the socket file, the reply and the running
 * of a request are in files of their own): the server and its
 * connections, and the functions one part calls in another.
 */
#ifndef SGD_CONTROL_CONN_H
#define SGD_CONTROL_CONN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include "control_cmd.h"
#include "daemon.h"

/* The whole request line within this long of the connection. */
#define REQUEST_TIMEOUT_MS 5000

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

/* control.c */
void sgd_conn_close(struct conn *c);
/* Watches c for events (EPOLLIN, EPOLLOUT or EPOLLHUP) instead of what
 * it watched.  0, or -1: the caller closes c. */
int sgd_conn_watch(struct conn *c, uint32_t events);

/* control_peer.c */
/* The gid of group name (NULL: none); false if there is no such group. */
bool sgd_group_gid(const char *name, gid_t *gid);
/* Who is on the other end of fd, and its role.  0 or -errno. */
int sgd_peer_identify(struct sgd *d, int fd, struct sgd_peer *p);

/* control_socket.c */
/* Makes ctl->path a listening socket (its directory, group and ACL
 * included), in ctl->listen_fd.  0, or -errno (logged). */
int sgd_control_open_socket(struct sgd_control *ctl);

/* control_reply.c.  Each may close c. */
void sgd_conn_drain(struct conn *c);
void sgd_conn_flush(struct conn *c);
void sgd_conn_reply_text(struct conn *c, char *text);
void sgd_conn_reply_stream(struct conn *c, struct sgd_stream *stream);
void sgd_conn_refuse(struct conn *c, const char *code, const char *why);
void sgd_conn_refuse_early(struct conn *c, const char *code, const char *why);

/* control_dispatch.c.  Each may close c. */
void sgd_conn_run(struct conn *c, json_t *req, const char *refuse_reload);
/* The parked request of c (returned), no longer parked. */
json_t *sgd_conn_unpark(struct conn *c);
void sgd_conn_answer(struct conn *c);

#endif
