/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fleet store in the daemon (docs/fleet.md): approvals and manual
 * bans shared by every gateway of a site through etcd.
 *
 * A change made through this gateway is written to the store
 * (sgd_fleet_change) and takes effect here only when the watch delivers
 * it back (fleet_apply.c), like every other gateway's changes: one apply
 * path, strictly in revision order, so the kernel maps, the policy in
 * memory and the local cache are always "the store as of revision N".
 * Everything here runs in the loop thread; the follower thread of the
 * store library only queues what it sees.
 */
#ifndef SGD_FLEET_H
#define SGD_FLEET_H

#include <stdbool.h>
#include <stdint.h>
#include "daemon.h"
#include "store/store.h"

/* At start, before the policy is loaded: opens the store, loads the
 * local cache and checks the store's credentials with a first load.
 * The state applied first is the cache's (the watch then replays what
 * it missed, audit records included); without a cache, the store's.
 * Wrong credentials, or neither a cache nor a reachable store, fail the
 * start (the pinned maps of the previous run stay in force).  0 or -1. */
int sgd_fleet_open(struct sgd *d);
/* After the event loop exists: starts following the store from the
 * applied revision + 1.  0 or -1. */
int sgd_fleet_follow(struct sgd *d);
void sgd_fleet_close(struct sgd *d);

/* Adds the fleet's approvals to policy p (instead of approvals.json),
 * each validated against p like an entry of approvals.json; one that
 * fails is logged once and counted, the rest load.  0 or -ENOMEM. */
int sgd_fleet_merge(struct sgd *d, struct sg_policy *p);
/* Manual bans: the kernel's become exactly the fleet's (at start). */
void sgd_fleet_apply_bans(struct sgd *d);

/* Makes one change in the store, with its audit record (uid and user
 * of the requester, or the daemon's own: uid -1).  Returns 0 with the
 * change's revision in *rev, SG_STORE_ECONFLICT (another gateway changed
 * the record meanwhile), SG_STORE_EUNAVAILABLE or -errno, with err. */
int sgd_fleet_change(struct sgd *d, const struct sg_store_change *c, int64_t *rev,
		     struct sg_err *err);
/* Applies what the watch delivers until revision rev is applied here,
 * at most the store's timeout.  0, or -ETIMEDOUT. */
int sgd_fleet_wait(struct sgd *d, int64_t rev);
/* The record of that kind and name as applied here, or NULL. */
const struct sg_store_rec *sgd_fleet_find(struct sgd *d, int kind, const char *name);

/* Expiry with a store: asks the store to delete expired approval i
 * (any gateway may; a conflict means another one did it first).  The
 * watch then removes it here. */
void sgd_fleet_expire_approval(struct sgd *d, size_t i);
/* After a reload: applies what the watch delivered during it (the
 * follower is not read while a reload runs: its approvals are what the
 * reload loaded), in order. */
void sgd_fleet_resume(struct sgd *d);
/* Once a second: the status the metrics and `status` show. */
void sgd_fleet_tick(struct sgd *d);

/* fleet_apply.c: the watch's items, applied (loop thread). */
void sgd_fleet_drain(struct sgd *d);
/* Replaces the applied state by st (a load after a compaction, or a
 * restore): applies the difference.  st's records are moved out. */
void sgd_fleet_apply_state(struct sgd *d, struct sg_store_state *st);
/* Refreshes d->store_view from the follower (under d->lock). */
void sgd_fleet_publish(struct sgd *d);

#endif
