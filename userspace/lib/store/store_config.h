/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The host config's optional "store" key (smtpgate.json):
 *
 *     "store": {"etcd": {"endpoints": ["https://198.18.0.1:2379", ...],
 *                        "prefix": "/smtpgate/site-a/",
 *                        "tls": {"ca": "/etc/smtpgate/etcd-ca.pem",
 *                                "cert": "/etc/smtpgate/gw1.pem",
 *                                "key": "/etc/smtpgate/gw1-key.pem"},
 *                        "username": "smtpgate-site-a",
 *                        "password_file": "/etc/smtpgate/etcd-password",
 *                        "timeout_ms": 2000}}
 *
 * Parsed by config.c through this one hook, so the rest of the host
 * config does not need to know about stores.
 */
#ifndef SG_STORE_CONFIG_H
#define SG_STORE_CONFIG_H

#include "load_internal.h"
#include "store.h"

/* Parses root["store"] if present: *out becomes a new config (NULL when
 * the key is absent).  Every problem is reported at its JSON path
 * ("smtpgate.json: store.etcd.endpoints[1]: ..."); *out stays NULL if
 * there was any. */
void sg_store_config_parse(struct sg_jctx *c, json_t *root, struct sg_store_config **out);

#endif
