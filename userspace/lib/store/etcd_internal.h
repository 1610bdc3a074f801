/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the three files of the etcd client share and etcd.h does not
 * show: the handle's fields, a bounded reply body, one POST to one
 * endpoint.
 *   etcd_client.c   the handle: endpoints, TLS files, password, failover state
 *   etcd_request.c  one request: a curl handle, its reply, its errors
 *   etcd_call.c     a call: token, then endpoint after endpoint in the budget
 */
#ifndef SG_ETCD_INTERNAL_H
#define SG_ETCD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include "etcd.h"

#define TOKEN_MAX 4096

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

/* A reply body, kept up to max bytes (over: the transfer was cut). */
struct etcd_body {
	char *buf;
	size_t len, cap, max;
	bool over;
};

/* POSTs body to path on endpoint i: 0 with the reply in *out, or an
 * error (message in err), whether another endpoint may do better
 * (*elsewhere) and whether a fresh token may (*reauth). */
int sg_etcd_post_one(struct sg_etcd *e, size_t i, const char *path, const char *body,
		     long long timeout_ms, size_t max_reply, struct etcd_body *out,
		     bool *elsewhere, bool *reauth, struct sg_err *err);

#endif
