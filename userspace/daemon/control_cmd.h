/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the parts of the control server share: one request being answered
 * (who asked, the arguments, the outcome), argument getters that fail the
 * request with a message naming the argument, and the command handlers.
 * The protocol itself is docs/control-protocol.md.
 */
#ifndef SGD_CONTROL_CMD_H
#define SGD_CONTROL_CMD_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include "append.h"
#include "smtpgate/control.h"
#include "daemon.h"

/* A request line, at most this many bytes; an admin's at most the
 * second (a trust.import of about 300,000 approvals). */
#define SGD_CTL_MAX_REQUEST (64 * 1024)
#define SGD_CTL_MAX_ADMIN_REQUEST (64 << 20)
/* A reply line built whole, at most this many bytes: a larger one is
 * replaced by a "failed" error that says so.  trust.list is streamed a
 * chunk at a time (struct sgd_stream) and never built whole, so a table
 * of a million entries is not bounded by it. */
#define SGD_CTL_MAX_REPLY (256 << 20)
/* What `audit` puts in a reply, at most: the newest records that fit,
 * then the reply says it was cut ("truncated": true, and a warning). */
#define SGD_AUDIT_REPLY_BUDGET (8 << 20)

enum sgd_role {
	SGD_ROLE_NONE = 0,      /* in neither group: refused before reading */
	SGD_ROLE_READ = 1,      /* control.read_group */
	SGD_ROLE_ADMIN = 2,     /* root or control.admin_group */
};

/* The peer of a connection, from SO_PEERCRED. */
struct sgd_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64];          /* the user name, or "uid N" without one */
	int role;               /* enum sgd_role */
};

/* Reply codes (include/smtpgate/control.h, shared with smtpgatectl). */
#define SGD_E_INVALID   SG_CTL_E_INVALID
#define SGD_E_DENIED    SG_CTL_E_DENIED
#define SGD_E_NOT_FOUND SG_CTL_E_NOT_FOUND
#define SGD_E_CONFLICT  SG_CTL_E_CONFLICT
#define SGD_E_FAILED    SG_CTL_E_FAILED
#define SGD_E_CHANGED   SG_CTL_E_CHANGED
#define SGD_E_RELOADING SG_CTL_E_RELOADING

/* A command's "answered later" (reload): the request stays open until
 * the command calls sgd_req_answer. */
#define SGD_REQ_LATER 1

/* Where a reply line goes: text is malloc'd (consumed), NULL when out of
 * memory. */
typedef void (*sgd_reply_fn)(void *ctx, char *text);
struct sgd_stream;
/* Where a streamed reply goes (consumed): the caller writes it chunk by
 * chunk. */
typedef void (*sgd_stream_fn)(void *ctx, struct sgd_stream *stream);

struct sgd_command;

struct sgd_req {
	struct sgd *d;
	const struct sgd_peer *peer;    /* &peer_copy */
	struct sgd_peer peer_copy;
	const struct sgd_command *cmd;  /* NULL if the request named none */
	json_t *request;                /* held: command points into it */
	sgd_reply_fn reply;             /* NULL: the client is gone */
	sgd_stream_fn reply_stream;     /* NULL: a stream is drained into one line */
	void *reply_ctx;
	bool may_answer_later;          /* the caller takes a late reply */
	bool audit_refusal;             /* a failure is audited */
	const char *command;
	json_t *args;           /* an object (empty when the request had none); borrowed */
	/* The outcome: result on success; code, error and arg on failure. */
	json_t *result;
	const char *code;
	char *error;            /* "arg: problem", malloc'd */
	char arg[32];           /* the argument at fault, "" if none */
	char *raw_result;       /* or the result as JSON text, malloc'd */
	json_t *warnings;       /* array of strings, or NULL */
	bool truncated;         /* the result was cut to fit a reply */
	/* Or a result too large to build whole, written a chunk at a time
	 * (set by trust.list; the whole reply comes from it). */
	struct sgd_stream *stream;
	/* A change recorded before it was made (sgd_req_audit_change). */
	bool audited;
	struct sg_append_mark audit_mark;
	/* The change is recorded as many records (trust.import): warnings
	 * go in the reply and the log, the records stay as written. */
	bool audited_batch;
};

/* Fails the request: code, the argument at fault (NULL: none) and the
 * problem.  The message becomes "arg: problem".  Returns -1. */
int sgd_req_fail(struct sgd_req *r, const char *code, const char *arg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sets the result (stolen).  Returns 0, or -1 (failed) if it is NULL. */
int sgd_req_ok(struct sgd_req *r, json_t *result);
/* Sets the result as JSON text (malloc'd, stolen; the caller has made
 * sure it is valid JSON).  Returns 0, or -1 (failed) if it is NULL. */
int sgd_req_ok_raw(struct sgd_req *r, char *text);
/* Adds a warning line to the reply. */
void sgd_req_warn(struct sgd_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the change the request is about to make, as done, before it is
 * made: a change that cannot be recorded is not made.  Change commands
 * call it once their arguments are checked, right before their first
 * effect; if the change then fails, the record is taken back and the
 * failure recorded instead.  Returns 0, or -1 (the request has failed). */
int sgd_req_audit_change(struct sgd_req *r);

/* Argument getters.  Each returns 1 (present and valid, *out set), 0
 * (absent and optional) or -1 (the request has failed with a message
 * naming the argument). */
int sgd_arg_text(struct sgd_req *r, const char *key, bool required, size_t max,
		 const char **out);
int sgd_arg_int(struct sgd_req *r, const char *key, bool required, long long min,
		long long max, long long *out);
int sgd_arg_bool(struct sgd_req *r, const char *key, bool *out);
int sgd_arg_prefix(struct sgd_req *r, const char *key, struct sg_prefix *out);
int sgd_arg_addr(struct sgd_req *r, const char *key, struct sg_addr *out);
int sgd_arg_time(struct sgd_req *r, const char *key, bool required, long long *out);

/* A command: its name on the wire, whether it changes anything (admin
 * only, audited), whether it waits for a reload in progress, its
 * argument keys and its handler (0, -1, or SGD_REQ_LATER). */
struct sgd_command {
	const char *name;
	bool change;
	bool waits_for_reload;
	const char *const *keys;
	int (*run)(struct sgd_req *r);
};

/* A reply written a chunk at a time as the client reads it, so that a
 * listing of a million entries is never held whole in memory, and other
 * clients are answered between its chunks (control_reply.c writes one
 * chunk per turn of the event loop).  next() appends the next chunk to *buf
 * (malloc'd text, *len bytes) and returns 1 when more follow, 0 when it
 * wrote the end of the reply, -1 when it failed (the reply is then cut
 * short, which the client sees as an incomplete reply).  Each chunk is
 * made from the daemon's state at the time, so changes made between
 * chunks are seen by the chunks after them. */
struct sgd_stream {
	int (*next)(struct sgd *d, void *state, char **buf, size_t *len);
	void (*free)(void *state);
	void *state;
};
void sgd_stream_free(struct sgd_stream *s);

/* Finds a command by name, or NULL. */
const struct sgd_command *sgd_command_find(const char *name);
/* The command the request names, in *cmd, its args copied into r->args:
 * 0, or -1 (the request has failed: an unknown key or command, args not
 * an object). */
int sgd_req_parse(struct sgd_req *r, json_t *request, const struct sgd_command **cmd);
/* 0 if r->args has only keys of the list (NULL-terminated), else -1
 * (the request has failed, naming the keys the command takes). */
int sgd_req_check_keys(struct sgd_req *r, const char *const *keys);

struct sgd_answer_opts {
	sgd_reply_fn reply;
	/* A streamed reply (trust.list) goes here, to be written a chunk at
	 * a time; NULL: it is drained into one line for reply. */
	sgd_stream_fn stream;
	void *ctx;
	/* The caller can take the reply after sgd_control_answer returns
	 * (the socket can; the fuzzers cannot): a reload answers when it
	 * is committed or failed. */
	bool may_answer_later;
	/* Refuse with SGD_E_RELOADING and this reason instead of running the
	 * command (it waited too long for a reload): audited as refused. */
	const char *refuse_reload_busy;
};
/* Answers one request: checks the keys and the peer's right, runs the
 * command, audits it, and hands the reply line (without its newline) to
 * o->reply, before returning NULL, or later: then the request is
 * returned, and o->reply gets its line from the loop when the command
 * is done (sgd_req_answer). */
struct sgd_req *sgd_control_answer(struct sgd *d, const struct sgd_peer *peer, json_t *request,
				   const struct sgd_answer_opts *o);
/* A command answered later has its outcome: reply, and free r. */
void sgd_req_answer(struct sgd_req *r);
/* The client of a request answered later is gone: its reply, when it
 * comes, is dropped (the command still finishes and is audited). */
void sgd_req_forget_client(struct sgd_req *r);
/* sgd_control_answer for callers that need the reply at once (every
 * command then runs to its end in the call).  NULL when out of memory. */
char *sgd_control_handle(struct sgd *d, const struct sgd_peer *peer, json_t *request);
/* True if a reload is in progress and this request must wait for it
 * (a change, or ban.list). */
bool sgd_control_waits_for_reload(struct sgd *d, json_t *request);
/* A reply for a request that could not even be parsed; audited when
 * the peer may change things. */
json_t *sgd_control_refuse(struct sgd *d, const struct sgd_peer *peer, const char *code,
			   const char *why, json_t *audit_args);

/* control_trust.c */
int sgd_cmd_trust_add(struct sgd_req *r);
int sgd_cmd_trust_del(struct sgd_req *r);
int sgd_cmd_trust_import(struct sgd_req *r);
/* control_trust_list.c */
int sgd_cmd_trust_list(struct sgd_req *r);

/* The approval the request's args describe (trust.add's keys), checked
 * by the rules of a policy.json entry, with an expiry in the future;
 * strings point into r->args, t->extra to *x (created now; created_by
 * is the caller's to set).  0, or -1 (the request has failed). */
int sgd_trust_parse_entry(struct sgd_req *r, long long now, struct sg_trusted_entry *t,
			  struct sg_trusted_extra *x);
/* Undoing a data-plane change failed: rebuilds the data plane from the
 * policy in memory.  0, or -1 with why in err. */
int sgd_trust_resync(struct sgd *d, const char *what, struct sg_err *err);

/* An entry as trust.list shows it. */
json_t *sgd_trust_entry_json(const struct sg_policy *p, const struct sg_trusted_entry *t,
			     long long now);

/* control_fleet.c: the changes on a gateway with a fleet store.  Each
 * returns 0 (made and, unless a warning says otherwise, applied here)
 * or -1 (the request has failed; nothing changed).  The trust handlers
 * set the reply (trust_del's result is stolen); the ban handlers leave
 * it to the caller.  sgd_fleet_unban returns 1 if the store has no ban
 * of that address. */
int sgd_fleet_trust_add(struct sgd_req *r, const struct sg_trusted_entry *t);
int sgd_fleet_trust_del(struct sgd_req *r, const struct sg_prefix *prefix, const char *ticket,
			json_t *result);
int sgd_fleet_ban(struct sgd_req *r, const struct sg_addr *a, long long duration_sec,
		  const char *reason, const char *ticket);
int sgd_fleet_unban(struct sgd_req *r, const struct sg_addr *a, const char *ticket);

/* control_ban.c */
int sgd_cmd_ban_add(struct sgd_req *r);
int sgd_cmd_ban_del(struct sgd_req *r);
int sgd_cmd_ban_list(struct sgd_req *r);

/* control_read.c */
int sgd_cmd_status(struct sgd_req *r);
int sgd_cmd_relay_list(struct sgd_req *r);
int sgd_cmd_stats(struct sgd_req *r);
int sgd_cmd_reload(struct sgd_req *r);

/* audit_read.c */
int sgd_cmd_audit(struct sgd_req *r);

#endif
