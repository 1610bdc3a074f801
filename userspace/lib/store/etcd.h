/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An etcd v3 client over etcd's JSON gateway (gRPC-gateway: POST
 * /v3/kv/range, /v3/kv/txn, /v3/watch, /v3/auth/authenticate ...) with
 * libcurl and jansson.  Debian 12 has no maintained C client for etcd v3
 * (its gRPC API would need grpc-c++ and generated code); the gateway is
 * part of every etcd server and speaks plain HTTP/1.1 + JSON, which the
 * daemon already parses.
 *
 * What it adds to "POST some JSON":
 *  - several endpoints, tried in turn until one answers, within one time
 *    budget per call (a dead member costs a refused connection, a
 *    partitioned one at most its share of the budget);
 *  - TLS with a CA, and a client certificate and key;
 *  - username + password (from a file): a token, renewed when etcd says
 *    it expired;
 *  - replies bounded in size before they are read: a server can never
 *    make the client allocate without bound;
 *  - errors that name the endpoint and say what happened.
 * Keys and values are base64 in the gateway's JSON; 64-bit numbers are
 * JSON strings.  Everything here is thread-safe (the watch runs in a
 * thread of its own).
 */
#ifndef SG_ETCD_H
#define SG_ETCD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "store.h"

struct sg_etcd;

/* Reads the password file now (so a wrong path fails at start). */
int sg_etcd_open(const struct sg_store_config *cfg, struct sg_etcd **out, struct sg_err *err);
void sg_etcd_close(struct sg_etcd *e);

/* POSTs req (JSON) to path (e.g. "/v3/kv/txn") on the first endpoint
 * that answers, and parses its reply (at most max_reply bytes) into
 * *reply.  Returns 0; SG_STORE_EUNAVAILABLE (no endpoint answered within
 * the budget); -EACCES (TLS or authentication refused: a configuration
 * error, not an outage); SG_STORE_ECOMPACTED; -EMSGSIZE; -EPROTO (a
 * reply that is not what etcd sends); -EINVAL (etcd refused the
 * request).  err names the endpoint(s) and the reason. */
int sg_etcd_call(struct sg_etcd *e, const char *path, json_t *req, size_t max_reply,
		 json_t **reply, struct sg_err *err);

/* Counters: calls that had to move to another endpoint. */
uint64_t sg_etcd_failovers(struct sg_etcd *e);
/* The endpoint that answered last. */
const char *sg_etcd_endpoint(struct sg_etcd *e);

/* ---- JSON helpers ----------------------------------------------------- */

/* A JSON string holding base64 of data, or NULL (ENOMEM). */
json_t *sg_etcd_b64(const void *data, size_t len);
/* The end of the range of every key starting with prefix (prefix with
 * its last byte incremented), as base64 JSON. */
json_t *sg_etcd_prefix_end(const char *prefix);
/* obj[key] as base64-decoded bytes (NUL-terminated, malloc'd), at most
 * max bytes; absent is an empty value.  Returns 0 or -EPROTO/-EMSGSIZE/
 * -ENOMEM. */
int sg_etcd_get_bytes(json_t *obj, const char *key, size_t max, char **out, size_t *len);
/* obj[key] as int64: the gateway writes them as strings; absent is 0
 * (proto3 omits zero values).  Returns 0 or -EPROTO. */
int sg_etcd_get_i64(json_t *obj, const char *key, int64_t *out);

/* ---- watch ------------------------------------------------------------ */

/* Called with each {"result": ...} message of the stream; returns 0 to go
 * on, anything else to stop with it. */
typedef int (*sg_etcd_watch_cb)(void *ctx, json_t *result);

/* Watches [key, range_end) from revision from_rev.  Each message is at
 * most max_msg bytes.  Ends when cb returns non-zero (that value), at
 * timeout_ms (0: never; returns 0), when *cancel becomes true (-EINTR),
 * or when the stream fails (SG_STORE_EUNAVAILABLE...).  A watch that
 * never started tries the next endpoint; one that broke returns, and the
 * caller resumes from the revision after the last it saw. */
int sg_etcd_watch(struct sg_etcd *e, json_t *create_request, unsigned timeout_ms,
		  size_t max_msg, sg_etcd_watch_cb cb, void *ctx, volatile int *cancel,
		  struct sg_err *err);

/* ---- shared by etcd_request.c, etcd_call.c and etcd_watch.c ---------- */

/* A curl handle set up for POST path on endpoint i (TLS, token, no
 * signals, HTTP(S) only).  NULL on ENOMEM. */
void *sg_etcd_handle(struct sg_etcd *e, size_t i, const char *path, const char *body,
		     void *headers_out /* struct curl_slist ** */);
size_t sg_etcd_n_endpoints(struct sg_etcd *e);
unsigned sg_etcd_timeout_ms(struct sg_etcd *e);
const char *sg_etcd_endpoint_at(struct sg_etcd *e, size_t i);
size_t sg_etcd_current(struct sg_etcd *e);
void sg_etcd_set_current(struct sg_etcd *e, size_t i);
/* Makes sure a token is held when username is set (authenticates on
 * endpoint i, within timeout_ms, if not).  Returns 0 or as sg_etcd_call. */
int sg_etcd_ensure_token(struct sg_etcd *e, size_t i, long long timeout_ms, struct sg_err *err);
/* Appends "; what" to why (a list of what each endpoint said). */
void sg_etcd_note_failure(char *why, size_t len, const char *what);
/* Forgets the token: the next request authenticates again. */
void sg_etcd_drop_token(struct sg_etcd *e);
/* A reply's {"error", "code"} as an errno with a message naming url. */
int sg_etcd_error_reply(struct sg_etcd *e, const char *url, long status, const char *body,
			size_t len, bool *retry_elsewhere, bool *reauth, struct sg_err *err);
/* A curl failure as a message, and whether it was a TLS refusal. */
int sg_etcd_curl_error(struct sg_etcd *e, const char *url, int code, const char *detail,
		       bool *denied, char *buf, size_t len);

#endif
