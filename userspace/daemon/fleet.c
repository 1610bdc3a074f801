// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet store's life in the daemon: open it at start, follow it,
 * write changes to it, wait for them to come back, close it.  What the
 * watch delivers is applied in fleet_apply.c.  See fleet.h.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "fleet.h"
#include "log.h"
#include "loop.h"

/* After a failed expiry tidy-up (store down), wait this long. */
#define EXPIRY_RETRY_SEC 30

/* Keeps st as the state applied first, freeing the one there was. */
static void adopt(struct sgd *d, struct sg_store_state *st)
{
	sg_store_state_free(d->fleet);
	*d->fleet = *st;
	memset(st, 0, sizeof(*st));
}

static void log_refusals(const struct sg_store_state *st, const char *from)
{
	size_t kept = sizeof(st->refusals) / sizeof(st->refusals[0]);

	for (size_t i = 0; i < st->n_refused && i < kept; i++)
		sgd_err("fleet store: %s: record %s refused: %s", from, st->refusals[i].key,
			st->refusals[i].why);
	if (st->n_refused > kept)
		sgd_err("fleet store: %s: %zu more records refused", from, st->n_refused - kept);
}

int sgd_fleet_open(struct sgd *d)
{
	const struct sg_store_config *cfg = d->cfg.store;
	struct sg_store_state cached = { 0 }, fresh = { 0 };
	struct sg_err err = { 0 };
	bool have_cache;
	int rc;

	d->fleet = calloc(1, sizeof(*d->fleet));
	if (!d->fleet) {
		sgd_err("fleet store: out of memory");
		return -1;
	}
	sg_store_gateway_name(cfg, d->gateway, sizeof(d->gateway));
	snprintf(d->store_cache_path, sizeof(d->store_cache_path), "%s/store-cache.json",
		 d->cfg.state_dir);
	if (sg_store_open(cfg, d->gateway, &d->store, &err)) {
		sgd_err("fleet store: %s", err.msg);
		return -1;
	}
	rc = sg_store_cache_load(d->store_cache_path, cfg->prefix, &cached, &err);
	have_cache = !rc;
	if (rc && rc != -ENOENT)
		sgd_warn("fleet store: the local cache is not used: %s", err.msg);
	if (have_cache)
		log_refusals(&cached, d->store_cache_path);

	rc = sg_store_load(d->store, &fresh, &err);
	if (rc == -EACCES) {
		/* Wrong CA, certificate or password: a configuration error,
		 * not an outage; starting would only hide it. */
		sgd_err("fleet store: %s", err.msg);
		goto fail;
	}
	if (rc) {
		if (!have_cache) {
			sgd_err("fleet store unreachable and no local cache (%s) to start from: %s",
				d->store_cache_path, err.msg);
			goto fail;
		}
		sgd_warn("fleet store unreachable (%s): enforcing the local cache's state as of "
			 "revision %lld until it answers", err.msg, (long long)cached.revision);
		adopt(d, &cached);
		return 0;
	}
	log_refusals(&fresh, "etcd");
	if (have_cache && fresh.revision >= cached.revision) {
		/* Start from the cache: the watch from its revision + 1 replays
		 * what happened meanwhile, the fleet's audit records included. */
		adopt(d, &cached);
		sg_store_state_free(&fresh);
		return 0;
	}
	if (have_cache)
		sgd_warn("fleet store: its revision %lld is below the local cache's %lld (etcd "
			 "restored from a backup?): applying the store's state as it is",
			 (long long)fresh.revision, (long long)cached.revision);
	sg_store_state_free(&cached);
	adopt(d, &fresh);
	if (sg_store_cache_save(d->store_cache_path, cfg->prefix, d->fleet, &err))
		sgd_warn("fleet store: cannot save the local cache: %s", err.msg);
	return 0;
fail:
	sg_store_state_free(&cached);
	sg_store_state_free(&fresh);
	return -1;
}

/* The follower's fd is unwatched while a reload runs (level-triggered,
 * it would wake the loop for nothing): the watch's items wait in the
 * follower's queue, in order, until sgd_fleet_resume. */
static bool follower_paused;

static void on_follower(struct sgd *d, void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	if (sgd_reload_busy(d)) {
		sgd_watch_del(d, sg_store_follow_fd(d->follower));
		follower_paused = true;
		return;
	}
	sgd_fleet_drain(d);
}

void sgd_fleet_resume(struct sgd *d)
{
	if (!d->follower)
		return;
	if (follower_paused &&
	    sgd_watch_add(d, sg_store_follow_fd(d->follower), EPOLLIN, on_follower, NULL))
		sgd_err("fleet store: cannot watch the follower again: changes are applied "
			"once a second only");
	follower_paused = false;
	sgd_fleet_drain(d);
}

int sgd_fleet_follow(struct sgd *d)
{
	struct sg_err err = { 0 };

	if (sg_store_follow_start(d->store, d->fleet->revision + 1, &d->follower, &err)) {
		sgd_err("fleet store: cannot follow it: %s", err.msg);
		return -1;
	}
	if (sgd_watch_add(d, sg_store_follow_fd(d->follower), EPOLLIN, on_follower, NULL)) {
		sgd_err("fleet store: cannot watch the follower");
		return -1;
	}
	sgd_notice("fleet store %s: gateway %s follows it from revision %lld",
		   d->cfg.store->prefix, d->gateway, (long long)d->fleet->revision + 1);
	sgd_fleet_publish(d);
	return 0;
}

void sgd_fleet_close(struct sgd *d)
{
	if (d->follower) {
		if (!follower_paused)
			sgd_watch_del(d, sg_store_follow_fd(d->follower));
		sg_store_follow_stop(d->follower);
		d->follower = NULL;
	}
	sg_store_close(d->store);
	d->store = NULL;
	sg_store_state_free(d->fleet);
	free(d->fleet);
	d->fleet = NULL;
}

int sgd_fleet_change(struct sgd *d, const struct sg_store_change *c, int64_t *rev,
		     struct sg_err *err)
{
	int rc = sg_store_apply(d->store, c, rev, err);

	if (rc && rc != SG_STORE_ECONFLICT)
		sgd_warn("fleet store: %s %s not made: %s", c->actor.command, c->name, err->msg);
	if (rc == SG_STORE_EUNAVAILABLE && d->follower)
		sg_store_follow_recheck(d->follower);
	sgd_fleet_publish(d);
	return rc;
}

int sgd_fleet_wait(struct sgd *d, int64_t rev)
{
	int64_t deadline = sg_mono_ms() + d->cfg.store->timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = sg_store_follow_fd(d->follower), .events = POLLIN };
		int64_t left;

		sgd_fleet_drain(d);
		if (d->fleet->revision >= rev)
			return 0;
		left = deadline - sg_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
}

const struct sg_store_rec *sgd_fleet_find(struct sgd *d, int kind, const char *name)
{
	return sg_store_state_find(d->fleet, kind, name);
}

void sgd_fleet_expire_approval(struct sgd *d, size_t i)
{
	const struct sg_trusted_entry *t = &d->policy.trusted[i];
	long long now = (long long)time(NULL);
	struct sgd_audit a = { .uid = -1, .command = "expire", .result = "ok" };
	struct sg_store_change c = { .kind = SG_STORE_APPROVAL };
	const struct sg_store_rec *rec;
	char text[SG_PREFIX_STRLEN], when[32];
	struct sg_err err = { 0 };
	int64_t rev = 0;
	int rc;

	if (now < d->fleet_expiry_retry)
		return;
	sg_prefix_format(&t->prefix, text, sizeof(text));
	rec = sgd_fleet_find(d, SG_STORE_APPROVAL, text);
	if (!rec)
		return;
	sg_format_rfc3339(t->expires, when, sizeof(when));
	c.name = text;
	c.expect_mod_revision = rec->mod_revision;
	c.before = rec->value;
	c.actor = (struct sg_store_actor){ .uid = -1, .user = "smtpgated", .command = "expire",
					   .ticket = t->ticket };
	rc = sgd_fleet_change(d, &c, &rev, &err);
	if (rc == SG_STORE_ECONFLICT)
		return; /* another gateway tidied it up first: the watch brings it */
	if (rc) {
		d->fleet_expiry_retry = now + EXPIRY_RETRY_SEC;
		return;
	}
	a.ticket = t->ticket;
	a.revision = rev;
	a.args = json_pack("{s:s, s:s}", "addr", text, "expires", when);
	sgd_audit(d, &a);
	sgd_notice("approval %s expired at %s: removed from the fleet store (revision %lld)",
		   text, when, (long long)rev);
	/* Not waited for: the expiry loop is walking d->policy, and the
	 * watch removes the entry in a moment (the kernel blocks it since
	 * its deadline anyway). */
}

void sgd_fleet_tick(struct sgd *d)
{
	sgd_fleet_publish(d);
}
