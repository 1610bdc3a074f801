// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The policy in force: load policy.json and approvals.json, merge, hand to
 * the data plane as one generation.  A reload validates everything first
 * and builds aside; any error leaves the running policy exactly as it was
 * (in the kernel and in memory), is logged and is counted.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "daemon.h"
#include "fleet.h"
#include "log.h"
#include "notify.h"

/* The approvals in force (approvals.json and its journal, or the fleet
 * store's) added to the policy just read; *out is freed on failure. */
static int add_approvals(struct sgd *d, struct sg_policy *out, struct sg_diag *diag)
{
	if (d->store) {
		/* The fleet store's approvals replace approvals.json. */
		if (!sgd_fleet_merge(d, out))
			return 0;
		sgd_err("out of memory merging the fleet store's approvals");
		sg_policy_free(out);
		return -1;
	}
	/* Their texts go to the policy's pool, as policy.json's: a malloc'd
	 * string costs 32 bytes or more, a pooled one its length.  (An
	 * approval removed before the next reload leaves its texts in the
	 * pool until then.) */
	if (sg_approvals_load_into(d->approvals_path, out, &d->load_opts, diag)) {
		sg_policy_free(out);
		return -1;
	}
	/* Shadowing is asked per approval at apply, per trust list entry and
	 * per expiry, and every trust add asks whether its prefix is new: an
	 * index keeps that linear in the policy, not quadratic, and a trust
	 * add O(1).  It costs about 2 bytes a policy.json entry (and more per
	 * approval).  Without memory for it the answers are the same, slower. */
	if (sg_policy_index(out))
		sgd_warn("out of memory indexing the policy; shadowing checks scan it");
	return 0;
}

/* Loads policy.json and approvals.json into *out (merged). */
static int load_all(struct sgd *d, struct sg_policy *out, char sha[65], struct sg_diag *diag)
{
	if (sg_policy_load(d->cfg.policy_path, &d->load_opts, out, sha, diag))
		return -1;
	return add_approvals(d, out, diag);
}

void sgd_policy_read(struct sgd *d, struct sgd_policy_read *r)
{
	memset(r, 0, sizeof(*r));
	r->rc = sg_policy_load(d->cfg.policy_path, &d->load_opts, &r->policy, r->sha, &r->diag);
}

void sgd_policy_read_free(struct sgd_policy_read *r)
{
	sg_policy_free(&r->policy);
	sg_diag_free(&r->diag);
}

bool sgd_is_shadowed(const struct sg_policy *p, const struct sg_trusted_entry *t)
{
	return sg_policy_is_shadowed(p, t);
}

static void warn_shadowed(const struct sg_policy *p)
{
	char text[SG_PREFIX_STRLEN];

	for (size_t i = 0; i < p->n_trusted; i++) {
		const struct sg_trusted_entry *t = &p->trusted[i];

		if (!sgd_is_shadowed(p, t))
			continue;
		sg_prefix_format(&t->prefix, text, sizeof(text));
		sgd_warn("approval %s (ticket %s) is shadowed by policy.json's entry for the same "
			 "prefix; the policy entry applies", text, t->ticket);
	}
}

/* The counts, under the lock the metrics thread reads them with. */
static void publish_counts(struct sgd *d)
{
	d->n_trusted = (size_t)sg_dp_trust_count(d->dp);
	d->n_approvals = d->policy.n_approvals;
}

/* The expiry list l (moved in) and the counts, for the metrics thread. */
static void publish_expiries(struct sgd *d, struct sg_expiry_list *l)
{
	struct sg_expiry_list old;

	pthread_mutex_lock(&d->lock);
	old = d->expiries;
	d->expiries = *l;
	publish_counts(d);
	pthread_mutex_unlock(&d->lock);
	sg_expiry_list_free(&old);
}

void sgd_snapshot_policy(struct sgd *d)
{
	struct sg_expiry_list l;

	/* The metrics go without expiries rather than with wrong ones. */
	if (sg_expiry_list_build(&l, &d->policy, d->cfg.expiry_series))
		sgd_warn("out of memory listing the entries' expiries for the metrics");
	publish_expiries(d, &l);
}

void sgd_snapshot_after(struct sgd *d, int64_t expires)
{
	if (expires) {
		sgd_snapshot_policy(d);
		return;
	}
	pthread_mutex_lock(&d->lock);
	publish_counts(d);
	pthread_mutex_unlock(&d->lock);
}

/* What a single change did to the list (expiry_list.h): a new list, a
 * count one up or down, or a pass over the policy after all. */
static void take_change(struct sgd *d, int rc, struct sg_expiry_list *l, int delta)
{
	if (!rc) {
		publish_expiries(d, l);
	} else if (rc == SG_EXPIRY_KEEP) {
		pthread_mutex_lock(&d->lock);
		d->expiries.n_expiring += (size_t)delta;
		publish_counts(d);
		pthread_mutex_unlock(&d->lock);
	} else {
		sgd_snapshot_policy(d);
	}
}

void sgd_snapshot_added(struct sgd *d, const struct sg_trusted_entry *t)
{
	struct sg_expiry_list l;

	if (!t->expires) {
		sgd_snapshot_after(d, 0);
		return;
	}
	take_change(d, sg_expiry_list_appended(&l, &d->expiries, t, d->cfg.expiry_series), &l, 1);
}

void sgd_snapshot_removed(struct sgd *d, const struct sg_prefix *prefix, int64_t expires)
{
	struct sg_expiry_list l;

	if (!expires) {
		sgd_snapshot_after(d, 0);
		return;
	}
	take_change(d, sg_expiry_list_removed(&l, &d->expiries, prefix, expires), &l, -1);
}

/* Off the loop during a reload (reload.c): touches the data plane and p
 * only, never the daemon's own state.  The data plane gets every entry
 * but the approvals a policy.json entry shadows (sg_dp_apply leaves those
 * out itself: no copy of the policy). */
static int apply_dp(struct sgd *d, const struct sg_policy *p, struct sg_err *err)
{
	return sg_dp_apply(d->dp, p, err);
}

static int apply(struct sgd *d, const struct sg_policy *p, struct sg_err *err)
{
	int rc = apply_dp(d, p, err);

	if (!rc) {
		pthread_mutex_lock(&d->lock);
		d->generation = sg_dp_generation(d->dp);
		pthread_mutex_unlock(&d->lock);
	}
	return rc;
}

int sgd_apply_policy(struct sgd *d, struct sg_err *err)
{
	return apply(d, &d->policy, err);
}

static void log_diag(const struct sg_diag *diag)
{
	for (size_t i = 0; i < diag->n; i++)
		sgd_log(diag->is_error[i] ? LOG_ERR : LOG_WARNING, "%s", diag->lines[i]);
}

int sgd_policy_start(struct sgd *d, struct sgd_policy_read *r)
{
	struct sg_diag diag = r->diag; /* ours now, as is its policy */
	struct sg_err err = { 0 };
	int read_rc = r->rc;
	char sha[65];

	memcpy(sha, r->sha, sizeof(sha));
	d->policy = r->policy;
	memset(r, 0, sizeof(*r));
	if (read_rc || add_approvals(d, &d->policy, &diag)) {
		log_diag(&diag);
		sgd_err("policy refused; %s", sg_dp_generation(d->dp)
				? "the pinned policy from the previous run stays in force"
				: "nothing is enforced yet");
		sg_diag_free(&diag);
		return -1;
	}
	log_diag(&diag);
	sg_diag_free(&diag);
	warn_shadowed(&d->policy);
	if (apply(d, &d->policy, &err)) {
		sgd_err("cannot apply policy: %s", err.msg);
		return -1;
	}
	sgd_expiry_seen_apply(d);
	pthread_mutex_lock(&d->lock);
	memcpy(d->policy_sha256, sha, sizeof(sha)); /* the metrics thread reads it */
	d->last_reload_success = time(NULL);
	pthread_mutex_unlock(&d->lock);
	sgd_snapshot_policy(d);
	/* With a fleet store, approvals.json and its journal are not used
	 * (the store's local cache replaces them). */
	if (!d->store)
		sgd_approvals_compact(d);
	sgd_notice("policy %s applied: generation %llu, %zu trusted entries, sha256 %.12s",
		   d->cfg.policy_path, (unsigned long long)d->generation, d->policy.n_trusted,
		   d->policy_sha256);
	/* What reading it took and gave back (parse trees, scratch arrays)
	 * back to the system too, as after a reload: the daemon rests at one
	 * policy's size, and a reload's peak starts from there. */
	malloc_trim(0);
	return 0;
}

void sgd_reload_failed(struct sgd *d, const char *why)
{
	pthread_mutex_lock(&d->lock);
	d->reload_failures++;
	pthread_mutex_unlock(&d->lock);
	sgd_err("reload refused, the running policy (generation %llu) stays: %s",
		(unsigned long long)sg_dp_generation(d->dp), why);
}

void sgd_next_init(struct sgd_next *n)
{
	memset(n, 0, sizeof(*n));
	sg_policy_init(&n->policy);
}

void sgd_next_free(struct sgd_next *n)
{
	sg_policy_free(&n->policy);
	sg_diag_free(&n->diag);
}

int sgd_next_load(struct sgd *d, struct sgd_next *n)
{
	int rc = load_all(d, &n->policy, n->sha, &n->diag);

	log_diag(&n->diag);
	return rc;
}

int sgd_next_apply(struct sgd *d, struct sgd_next *n)
{
	int rc = apply_dp(d, &n->policy, &n->err);

	if (!rc)
		warn_shadowed(&n->policy);
	return rc;
}

void sgd_next_commit(struct sgd *d, struct sgd_next *n)
{
	struct sg_policy old = d->policy;

	d->policy = n->policy;
	n->policy = old; /* freed with n: reload.c does it off the loop */
	sgd_expiry_seen_apply(d);
	pthread_mutex_lock(&d->lock);
	d->generation = sg_dp_generation(d->dp);
	memcpy(d->policy_sha256, n->sha, sizeof(n->sha)); /* the metrics thread reads it */
	d->last_reload_success = time(NULL);
	pthread_mutex_unlock(&d->lock);
	sgd_snapshot_policy(d);
}

void sgd_reload_summary(const struct sgd *d, char *buf, size_t len)
{
	snprintf(buf, len, "policy reloaded: generation %llu, %zu trusted entries, sha256 %s",
		 (unsigned long long)d->generation, d->policy.n_trusted, d->policy_sha256);
}

/* Moves n's lines to the end of diag (which then owns them). */
static void diag_take(struct sg_diag *diag, struct sgd_next *n)
{
	for (size_t i = 0; i < n->diag.n; i++)
		sg_diag_add(diag, n->diag.is_error[i], "%s", n->diag.lines[i]);
	/* A line lost to ENOMEM still counts. */
	if (n->diag.n_errors && !diag->n_errors)
		diag->n_errors = n->diag.n_errors;
}

int sgd_reload(struct sgd *d, struct sg_diag *diag, sgd_reload_gate gate, void *ctx)
{
	struct sg_err err = { 0 };
	struct sgd_next n;
	char summary[256];
	int rc = -1;

	sgd_notify_reloading();
	sgd_next_init(&n);
	if (sgd_next_load(d, &n)) {
		diag_take(diag, &n);
		sgd_reload_failed(d, "the new policy is invalid (errors above)");
		goto out;
	}
	diag_take(diag, &n);
	if (gate && gate(ctx, &err)) {
		sg_diag_add(diag, true, "%s", err.msg);
		sgd_reload_failed(d, err.msg);
		goto out;
	}
	if (sgd_next_apply(d, &n)) {
		sg_diag_add(diag, true, "%s", n.err.msg);
		sgd_reload_failed(d, n.err.msg);
		goto out;
	}
	sgd_next_commit(d, &n);
	sgd_reload_summary(d, summary, sizeof(summary));
	sgd_notice("%s", summary);
	rc = 0;
out:
	sgd_next_free(&n);
	malloc_trim(0); /* the replaced policy's memory back to the system */
	sgd_notify_ready(rc ? "reload refused; previous policy in force" : "running");
	return rc;
}

void sgd_diag_text(const struct sg_diag *diag, char *msg, size_t len)
{
	size_t off = 0;

	msg[0] = '\0';
	for (size_t i = 0; i < diag->n && off + 1 < len; i++) {
		int n = snprintf(msg + off, len - off, "%s%s: %s", off ? "\n" : "",
				 diag->is_error[i] ? "error" : "warning", diag->lines[i]);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int sgd_check(struct sgd *d)
{
	struct sg_diag diag = { 0 };
	struct sg_policy p;
	char sha[65] = "";
	size_t approvals = 0;
	bool ifaces_ok = !sgd_check_interfaces(d);
	int rc;

	sg_policy_init(&p);
	rc = load_all(d, &p, sha, &diag);
	sg_diag_print(&diag, stderr);
	sg_diag_free(&diag);
	if (!ifaces_ok)
		fprintf(stderr, "%s: refused\n", d->opts.config_path);
	if (rc) {
		fprintf(stderr, "%s: refused\n", d->cfg.policy_path);
		return 1;
	}
	if (!ifaces_ok) {
		sg_policy_free(&p);
		return 1;
	}
	for (size_t i = 0; i < p.n_trusted; i++)
		approvals += p.trusted[i].origin == SG_ORIGIN_APPROVAL;
	printf("%s: ok (%zu trusted entries, %zu of them approvals), %s: ok, sha256 %s\n",
	       d->cfg.policy_path, p.n_trusted, approvals, d->opts.config_path, sha);
	sg_policy_free(&p);
	return 0;
}
