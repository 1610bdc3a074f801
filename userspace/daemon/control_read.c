// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * status, relay.list, stats (reads) and reload (a change); audit is
 * audit_read.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "control_cmd.h"
#include "clock.h"
#include "stats_json.h"
#include "store/store.h"

/* ---- status ---------------------------------------------------------- */

static json_t *totals_json(const uint64_t totals[SG_V_COUNT])
{
	json_t *o = json_object();

	for (int v = 0; o && v < SG_V_COUNT; v++)
		json_object_set_new(o, sg_verdict_names[v], json_integer((json_int_t)totals[v]));
	return o;
}

/* The fleet store as this gateway sees it; null without one. */
static json_t *store_json(struct sgd *d)
{
	struct sgd_store_view v;
	char when[40];

	pthread_mutex_lock(&d->lock);
	v = d->store_view;
	pthread_mutex_unlock(&d->lock);
	if (!v.configured)
		return json_null();
	if (v.last_sync)
		sg_format_rfc3339(v.last_sync, when, sizeof(when));
	return json_pack("{s:s, s:s, s:s, s:b, s:I, s:o, s:o, s:I, s:I, s:I, s:o}",
			 "backend", "etcd", "prefix", d->cfg.store->prefix, "gateway", d->gateway,
			 "up", v.up, "revision", (json_int_t)v.revision,
			 "last_sync", v.last_sync ? json_string(when) : json_null(),
			 "seconds_since_sync", v.last_sync
				? json_integer((json_int_t)(time(NULL) - v.last_sync)) : json_null(),
			 "records_refused", (json_int_t)v.refused,
			 "failovers", (json_int_t)v.failovers,
			 "reconnects", (json_int_t)v.reconnects,
			 "error", v.error[0] ? json_string(v.error) : json_null());
}

/* {"in_progress": true, "since", "seconds", "by", "requests_waiting"}
 * while a reload runs (reload.c); {"in_progress": false} otherwise; both
 * with "last_duration_ms" (null before the first reload). */
static json_t *reload_json(struct sgd *d)
{
	int64_t since_ms, now_ms;
	uint64_t last_ms;
	char by[sizeof(d->reload_by)], when[40];
	struct timespec ts;
	json_t *o;

	pthread_mutex_lock(&d->lock);
	since_ms = d->reload_since_ms;
	last_ms = d->reload_last_ms;
	memcpy(by, d->reload_by, sizeof(by));
	pthread_mutex_unlock(&d->lock);
	o = json_pack("{s:b, s:o}", "in_progress", since_ms != 0, "last_duration_ms",
		      last_ms ? json_integer((json_int_t)last_ms) : json_null());
	if (!o || !since_ms)
		return o;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	sg_format_rfc3339(since_ms / 1000, when, sizeof(when));
	json_object_set_new(o, "since", json_string(when));
	json_object_set_new(o, "seconds", json_real((double)(now_ms - since_ms) / 1000.0));
	json_object_set_new(o, "by", json_string(by));
	json_object_set_new(o, "requests_waiting", json_integer((json_int_t)d->requests_waiting));
	return o;
}

/* map_memory_bytes (the sum) and map_memory (per map) of the data plane. */
static void map_memory_json(const struct sg_stats_snapshot *s, json_t *o)
{
	json_t *per = json_object();

	for (int i = 0; per && i < s->n_maps; i++)
		json_object_set_new(per, s->maps[i].name,
				    json_integer((json_int_t)s->maps[i].bytes));
	json_object_set_new(o, "map_memory_bytes", json_integer((json_int_t)s->maps_total));
	json_object_set_new(o, "map_memory", per ? per : json_object());
}

int sgd_cmd_status(struct sgd_req *r)
{
	struct sgd *d = r->d;
	/* The attachments, bans and global figures; no per-source table. */
	const struct sg_stats_opts opts = { 0 };
	uint64_t totals[SG_V_COUNT] = { 0 };
	struct sg_stats_snapshot snap;
	json_t *att, *o, *audit;
	json_int_t events_failed, trusted;
	char when[40];
	size_t approvals = 0;

	/* A snapshot that cannot be read shows as no attachments and zeros:
	 * status still answers with the daemon's own state. */
	if (sg_stats_collect(d->dp, &opts, &snap))
		memset(&snap, 0, sizeof(snap));
	att = sg_stats_attachments_json(&snap, false);
	sg_stats_verdict_totals(&snap, totals);
	for (size_t i = 0; i < d->policy.n_trusted; i++)
		approvals += d->policy.trusted[i].origin == SG_ORIGIN_APPROVAL;
	if (d->last_reload_success)
		sg_format_rfc3339(d->last_reload_success, when, sizeof(when));
	pthread_mutex_lock(&d->lock);
	audit = json_pack("{s:I, s:I}", "write_failures", (json_int_t)d->audit_write_failures,
			  "refusals_suppressed", (json_int_t)d->audit_refusals_suppressed);
	events_failed = d->events_write_failures;
	/* Not the data plane's own count: a reload off the loop changes it. */
	trusted = (json_int_t)d->n_trusted;
	pthread_mutex_unlock(&d->lock);
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s,"
		      " s:i, s:o, s:o, s:o}",
		      "version", SG_VERSION,
		      "mode", d->policy.mode == SG_MODE_MONITOR ? "monitor" : "enforce",
		      "generation", (json_int_t)sg_dp_generation(d->dp),
		      "policy_path", d->cfg.policy_path,
		      "policy_sha256", d->policy_sha256,
		      "last_reload_success", d->last_reload_success ? json_string(when)
								    : json_null(),
		      "reload_failures", (json_int_t)d->reload_failures,
		      "trusted_entries", trusted,
		      "approvals", (json_int_t)approvals,
		      "bans_active", (json_int_t)snap.bans_active,
		      "events_lost", (json_int_t)snap.stats[SG_STAT_EVENTS_LOST],
		      "uptime_sec", (json_int_t)(time(NULL) - d->started),
		      "pin_dir", d->cfg.pin_dir,
		      "socket", d->cfg.control_socket,
		      "pid", (int)getpid(),
		      "attachments", att ? att : json_array(),
		      "totals", totals_json(totals),
		      "audit", audit ? audit : json_object());
	if (o) {
		json_object_set_new(o, "events_write_failures", json_integer(events_failed));
		json_object_set_new(o, "startup_ms", d->startup_ms >= 0
					 ? json_integer((json_int_t)d->startup_ms) : json_null());
		json_object_set_new(o, "store", store_json(d));
		json_object_set_new(o, "reload", reload_json(d));
		map_memory_json(&snap, o);
	}
	sg_stats_snapshot_free(&snap);
	return sgd_req_ok(r, o);
}

/* ---- relay.list ------------------------------------------------------ */

static json_t *ports_json(const uint16_t *ports, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_integer(ports[i]));
	return arr;
}

static json_t *cap_json(double v)
{
	return v > 0 ? json_real(v) : json_null();
}

int sgd_cmd_relay_list(struct sgd_req *r)
{
	const struct sg_policy *p = &r->d->policy;
	json_t *arr = json_array();
	char text[SG_PREFIX_STRLEN];

	for (size_t g = 0; arr && g < p->n_groups; g++) {
		const struct sg_relay_group *grp = &p->groups[g];

		for (size_t i = 0; i < grp->n_relays; i++) {
			const struct sg_relay *rl = &grp->relays[i];

			sg_addr_format(&rl->addr, text, sizeof(text));
			/* A relay without ports takes every governed port. */
			json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:b, s:o, s:o}",
				"group", grp->name, "addr", text,
				"ports", rl->n_ports ? ports_json(rl->ports, rl->n_ports)
						     : ports_json(p->ports, p->n_ports),
				"all_governed_ports", !rl->n_ports,
				"cap_conn_per_sec", cap_json(grp->cap_conn_per_sec),
				"cap_conn_burst", cap_json(grp->cap_conn_burst)));
		}
	}
	return sgd_req_ok(r, arr);
}

/* ---- stats ------------------------------------------------------------ */

int sgd_cmd_stats(struct sgd_req *r)
{
	long long top = SG_DEFAULT_TOP_SOURCES;
	struct sg_stats_opts opts = { .add_cached = true };
	struct sg_stats_snapshot snap;
	bool sources = false;
	json_t *result;
	long trusted;
	int rc;

	if (sgd_arg_bool(r, "sources", &sources) < 0 ||
	    sgd_arg_int(r, "top", false, 1, SG_MAX_TOP_SOURCES, &top) < 0)
		return -1;
	pthread_mutex_lock(&r->d->lock);
	trusted = (long)r->d->n_trusted;
	pthread_mutex_unlock(&r->d->lock);
	/* The top sources by packets alone, with what the caches still hold:
	 * an operator's view of now (see struct sg_stats_opts). */
	opts.sources = sources;
	opts.top_n = (unsigned)top;
	rc = sg_stats_collect(r->d->dp, &opts, &snap);
	if (rc)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "cannot read the counters: %s",
				    strerror(-rc));
	result = sg_stats_json(&snap, trusted);
	sg_stats_snapshot_free(&snap);
	return sgd_req_ok(r, result);
}

/* ---- reload ----------------------------------------------------------- */

static int reload_gate(void *ctx, struct sg_err *err)
{
	struct sgd_req *r = ctx;

	if (!sgd_req_audit_change(r))
		return 0;
	return sg_errf(err, -EIO, "%s", r->error ? r->error : "the audit log cannot be written");
}

/* The outcome of a reload, as the reply says it. */
static int reload_outcome(struct sgd_req *r, int rc, const struct sg_diag *diag)
{
	struct sgd *d = r->d;
	const size_t len = 64 * 1024;
	char *msg = calloc(1, len);

	if (!msg)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	if (rc) {
		sgd_diag_text(diag, msg, len);
		rc = sgd_req_fail(r, SGD_E_FAILED, NULL, "reload refused, the running policy "
				  "(generation %llu) stays:\n%s",
				  (unsigned long long)sg_dp_generation(d->dp), msg);
	} else {
		sgd_reload_summary(d, msg, len);
		rc = sgd_req_ok(r, json_pack("{s:I, s:s, s:s, s:I}",
					     "generation", (json_int_t)sg_dp_generation(d->dp),
					     "policy_sha256", d->policy_sha256,
					     "message", msg,
					     "trusted_entries",
					     (json_int_t)sg_dp_trust_count(d->dp)));
	}
	free(msg);
	return rc;
}

static void reload_done(void *ctx, int rc, struct sg_diag *diag)
{
	struct sgd_req *r = ctx;

	reload_outcome(r, rc, diag);
	sgd_req_answer(r);
}

int sgd_cmd_reload(struct sgd_req *r)
{
	struct sgd *d = r->d;
	struct sg_diag diag = { 0 };
	char by[160];
	int rc;

	if (r->may_answer_later) {
		snprintf(by, sizeof(by), "smtpgatectl reload by %s (uid %u)", r->peer->user,
			 (unsigned)r->peer->uid);
		rc = sgd_reload_start(d, by, reload_gate, reload_done, r);
		if (!rc)
			return SGD_REQ_LATER;
		/* Requests wait for a reload in progress (control_dispatch.c):
		 * never two at once, and never one in the loop beside a worker. */
		if (rc == -EBUSY)
			return sgd_req_fail(r, SGD_E_RELOADING, NULL, "a reload is in progress; "
					    "nothing was changed: try again once it is over");
	}
	rc = reload_outcome(r, sgd_reload(d, &diag, reload_gate, r), &diag);
	sg_diag_free(&diag);
	return rc;
}
