// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the fleet store's watch delivers, applied to this gateway: the
 * kernel maps, the policy in memory, the fleet's audit records in the
 * local audit log, then the local cache (once per batch).  Loop thread
 * only.  See fleet.h for why changes take effect only from here.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "fleet.h"
#include "log.h"

/* Items taken from the follower at a time. */
#define BATCH 256

static void refuse(struct sgd *d, const struct sg_store_rec *rec, const char *why)
{
	/* A reload's worker merges the fleet's approvals (sgd_fleet_merge)
	 * while the loop publishes this count. */
	pthread_mutex_lock(&d->lock);
	d->fleet_refused++;
	pthread_mutex_unlock(&d->lock);
	sgd_err("fleet store: %s %s (revision %lld) refused, not applied here: %s",
		rec->kind == SG_STORE_BAN ? "ban" : "approval", rec->name,
		(long long)rec->mod_revision, why);
}

/* The data plane follows memory: an approval shadowed by policy.json's
 * entry for the same prefix stays out of it. */
static void remove_approval(struct sgd *d, long i)
{
	struct sg_trusted_entry *t = &d->policy.trusted[i];
	struct sg_err err = { 0 };
	char text[SG_PREFIX_STRLEN];
	int rc = 0;

	if (!sgd_is_shadowed(&d->policy, t))
		rc = sg_dp_trust_del(d->dp, &t->prefix, &err);
	if (rc && rc != -ENOENT) {
		sg_prefix_format(&t->prefix, text, sizeof(text));
		sgd_err("fleet store: removing %s from the data plane: %s", text, err.msg);
	}
	sg_policy_remove_trusted(&d->policy, (size_t)i);
}

static void apply_approval(struct sgd *d, const struct sg_store_rec *rec, long long now)
{
	struct sg_trusted_entry t;
	struct sg_err err = { 0 };
	struct sg_prefix prefix;
	long i;

	if (sg_prefix_parse(rec->name, &prefix, &err)) {
		refuse(d, rec, err.msg);
		return;
	}
	i = sg_policy_find_approval(&d->policy, &prefix);
	if (!rec->value) {
		if (i >= 0)
			remove_approval(d, i);
		return;
	}
	if (sg_store_approval_parse(rec, &d->policy, now, &t, &err)) {
		/* An approval this gateway cannot enforce as written is not
		 * an approval here: fail closed, not with the old version. */
		refuse(d, rec, err.msg);
		if (i >= 0)
			remove_approval(d, i);
		return;
	}
	if (i >= 0)
		/* Memory only: the data plane's put below replaces its entry
		 * in one write (keeping its rate state), with no gap. */
		sg_policy_remove_trusted(&d->policy, (size_t)i);
	if (sg_policy_add_trusted(&d->policy, &t)) {
		sgd_err("fleet store: approval %s: out of memory; `smtpgatectl reload` retries",
			rec->name);
		if (i >= 0)
			sg_dp_trust_del(d->dp, &prefix, NULL);
	} else if (!sgd_is_shadowed(&d->policy, &t) && sg_dp_trust_put(d->dp, &t, &err)) {
		sgd_err("fleet store: approval %s: data plane: %s", rec->name, err.msg);
	}
	sg_trusted_entry_free(&t);
}

static void apply_ban(struct sgd *d, const struct sg_store_rec *rec, long long now)
{
	struct sg_store_ban b;
	struct sg_err err = { 0 };
	struct sg_addr a;
	int rc;

	if (sg_addr_parse(rec->name, &a, &err)) {
		refuse(d, rec, err.msg);
		return;
	}
	if (!rec->value) {
		rc = sg_dp_ban_del(d->dp, &a, &err);
		if (rc && rc != -ENOENT)
			sgd_err("fleet store: lifting the ban of %s: %s", rec->name, err.msg);
		return;
	}
	if (sg_store_ban_parse(rec, &b, &err)) {
		refuse(d, rec, err.msg);
		return;
	}
	if (b.expires && b.expires <= now) {
		/* Over already (each kernel ends bans by itself; this is a
		 * record left behind, or a gateway that was away). */
		sg_dp_ban_del(d->dp, &a, NULL);
		return;
	}
	/* The record holds the end as a wall-clock time: each gateway turns
	 * it into its own data-plane deadline. */
	if (sg_dp_ban_put(d->dp, &a, b.expires ? (uint64_t)(b.expires - now) * 1000000000ull : 0,
			  SG_BAN_MANUAL, &err))
		sgd_err("fleet store: ban of %s: data plane: %s", rec->name, err.msg);
}

/* Another gateway's change, as a line of this gateway's audit log: the
 * fleet's trail is in every gateway's file.  This gateway's own changes
 * are there already, written when they were requested. */
static void mirror_audit(struct sgd *d, const struct sg_store_rec *rec, int64_t revision)
{
	json_t *o = json_loads(rec->value, 0, NULL);
	const char *gateway = json_string_value(json_object_get(o, "gateway"));
	const char *user = json_string_value(json_object_get(o, "user"));
	const char *command = json_string_value(json_object_get(o, "command"));
	json_t *uid = json_object_get(o, "uid");
	struct sgd_audit a = { .result = "ok", .fleet = true, .revision = revision };

	if (!o || !gateway || !command || !json_is_integer(uid)) {
		if (rec->value)
			sgd_warn("fleet store: audit record %s is not one this version reads: "
				 "not mirrored", rec->name);
		json_decref(o);
		return;
	}
	if (!strcmp(gateway, d->gateway)) {
		json_decref(o);
		return;
	}
	a.uid = json_integer_value(uid);
	a.user = user ? user : "?";
	a.command = command;
	a.gateway = gateway;
	a.time = json_string_value(json_object_get(o, "time"));
	a.ticket = json_string_value(json_object_get(o, "ticket"));
	a.args = json_pack("{s:O?, s:O?, s:O?}", "key", json_object_get(o, "key"),
			   "before", json_object_get(o, "before"),
			   "after", json_object_get(o, "after"));
	sgd_audit(d, &a);
	json_decref(o);
}

/* One record put or deleted: the data plane and memory, then the state
 * applied.  Returns true if enforcement may have changed. */
static bool apply_record(struct sgd *d, const struct sg_store_rec *rec, long long now)
{
	if (rec->kind == SG_STORE_APPROVAL)
		apply_approval(d, rec, now);
	else if (rec->kind == SG_STORE_BAN)
		apply_ban(d, rec, now);
	else
		return false;
	if (sg_store_state_set(d->fleet, rec->kind, rec->name, rec->value, rec->mod_revision))
		sgd_err("fleet store: out of memory recording %s", rec->name);
	return true;
}

static bool apply_event(struct sgd *d, const struct sg_store_event *ev, long long now)
{
	bool changed = false;

	if (ev->rec.kind == SG_STORE_AUDIT)
		mirror_audit(d, &ev->rec, ev->revision);
	else if (ev->rec.kind != SG_STORE_SYNC)
		changed = apply_record(d, &ev->rec, now);
	if (ev->revision > d->fleet->revision)
		d->fleet->revision = ev->revision;
	return changed;
}

void sgd_fleet_apply_state(struct sgd *d, struct sg_store_state *st)
{
	long long now = (long long)time(NULL);
	struct sg_store_rec gone;

	for (size_t i = 0; i < st->n; i++) {
		const struct sg_store_rec *rec = &st->recs[i];
		const struct sg_store_rec *old = sg_store_state_find(d->fleet, rec->kind, rec->name);

		if (!old || old->mod_revision != rec->mod_revision)
			apply_record(d, rec, now);
	}
	/* Records the new state no longer has were deleted meanwhile.  The
	 * loop restarts after each removal: it changes d->fleet->recs. */
	for (size_t i = 0; i < d->fleet->n;) {
		const struct sg_store_rec *old = &d->fleet->recs[i];

		if (sg_store_state_find(st, old->kind, old->name)) {
			i++;
			continue;
		}
		gone = (struct sg_store_rec){ .kind = old->kind, .mod_revision = st->revision };
		snprintf(gone.name, sizeof(gone.name), "%s", old->name);
		apply_record(d, &gone, now);
		if (i < d->fleet->n && d->fleet->recs[i].kind == gone.kind &&
		    !strcmp(d->fleet->recs[i].name, gone.name))
			i++; /* could not be removed (out of memory): move on */
	}
	d->fleet->revision = st->revision;
	d->fleet_refused += st->n_refused;
	sgd_notice("fleet store: whole state as of revision %lld applied (%zu records)",
		   (long long)st->revision, st->n);
	sg_store_state_free(st);
}

void sgd_fleet_drain(struct sgd *d)
{
	struct sg_store_item items[BATCH];
	struct sg_err err = { 0 };
	int64_t before = d->fleet->revision;
	bool changed = false;
	size_t n;

	while ((n = sg_store_follow_take(d->follower, items, BATCH)) > 0) {
		long long now = (long long)time(NULL);

		for (size_t i = 0; i < n; i++) {
			if (items[i].type == SG_STORE_ITEM_STATE) {
				sgd_fleet_apply_state(d, &items[i].state);
				changed = true;
			} else {
				changed |= apply_event(d, &items[i].ev, now);
			}
			sg_store_item_free(&items[i]);
		}
	}
	if (changed)
		sgd_snapshot_policy(d);
	/* The cache after the batch, not per record: 1,000 approvals at once
	 * are one save.  Progress alone moves the revision: saved too, so a
	 * restart resumes from it. */
	if (d->fleet->revision != before &&
	    sg_store_cache_save(d->store_cache_path, d->cfg.store->prefix, d->fleet, &err))
		sgd_warn("fleet store: cannot save the local cache: %s", err.msg);
	sgd_fleet_publish(d);
}

int sgd_fleet_merge(struct sgd *d, struct sg_policy *p)
{
	long long now = (long long)time(NULL);

	for (size_t i = 0; i < d->fleet->n; i++) {
		const struct sg_store_rec *rec = &d->fleet->recs[i];
		struct sg_trusted_entry t;
		struct sg_err err = { 0 };
		int rc;

		if (rec->kind != SG_STORE_APPROVAL)
			continue;
		if (sg_store_approval_parse(rec, p, now, &t, &err)) {
			refuse(d, rec, err.msg);
			continue;
		}
		rc = sg_policy_add_trusted(p, &t);
		sg_trusted_entry_free(&t);
		if (rc)
			return -ENOMEM;
	}
	return 0;
}

struct kernel_bans {
	struct sg_addr *addr;
	size_t n, cap;
};

static int collect_manual(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	struct kernel_bans *k = ctx;

	if (!(b->flags & SG_BAN_MANUAL))
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		struct sg_addr *n = realloc(k->addr, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		k->addr = n;
		k->cap = cap;
	}
	k->addr[k->n++] = *a;
	return 0;
}

void sgd_fleet_apply_bans(struct sgd *d)
{
	struct kernel_bans k = { 0 };
	long long now = (long long)time(NULL);
	char text[SG_PREFIX_STRLEN];

	/* Bans lifted elsewhere while this gateway was away. */
	if (!sg_dp_ban_foreach(d->dp, collect_manual, &k)) {
		for (size_t i = 0; i < k.n; i++) {
			sg_addr_format(&k.addr[i], text, sizeof(text));
			if (!sg_store_state_find(d->fleet, SG_STORE_BAN, text))
				sg_dp_ban_del(d->dp, &k.addr[i], NULL);
		}
	}
	free(k.addr);
	for (size_t i = 0; i < d->fleet->n; i++)
		if (d->fleet->recs[i].kind == SG_STORE_BAN)
			apply_ban(d, &d->fleet->recs[i], now);
}

void sgd_fleet_publish(struct sgd *d)
{
	struct sg_store_follow_status st = { 0 };
	uint64_t failovers = sg_store_failovers(d->store);

	if (d->follower)
		sg_store_follow_status(d->follower, &st);
	pthread_mutex_lock(&d->lock);
	d->store_view.configured = true;
	d->store_view.up = st.up;
	d->store_view.revision = d->fleet->revision;
	d->store_view.last_sync = st.last_sync;
	d->store_view.refused = st.refused + d->fleet_refused;
	d->store_view.failovers = failovers;
	d->store_view.reconnects = st.reconnects;
	snprintf(d->store_view.error, sizeof(d->store_view.error), "%s", st.error);
	pthread_mutex_unlock(&d->lock);
}
