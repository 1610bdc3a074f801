// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Approval expiry.  The kernel stops an expired entry at its deadline by
 * itself (even with no daemon); this timer then tidies up: an expired
 * approval is removed from the maps and from disk (approvals_save.c), with an
 * audit record.  Entries of policy.json stay in the maps (their reason
 * becomes "expired", which points at the file to fix) and are reported
 * once, ever (expiry_seen.c).  Every removal and report is audited first:
 * one that cannot be recorded waits for the next tick.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "append.h"
#include "clock.h"
#include "daemon.h"
#include "fleet.h"
#include "log.h"

/* Removes approval i, audited; false when it could not be recorded (the
 * approval then stays, blocked by the kernel, and is tried again at the
 * next tick: no change without its record). */
static bool expire_approval(struct sgd *d, size_t i)
{
	struct sg_trusted_entry *t = &d->policy.trusted[i];
	struct sg_prefix gone = t->prefix;
	char text[SG_PREFIX_STRLEN], when[32], *ticket;
	struct sg_err err = { 0 };
	struct sgd_audit a = { .uid = -1, .command = "expire", .result = "ok" };
	struct sg_append_mark mark;
	json_t *warnings = NULL;
	int rc;

	sg_prefix_format(&t->prefix, text, sizeof(text));
	sg_format_rfc3339(t->expires, when, sizeof(when));
	ticket = strdup(t->ticket ? t->ticket : "");
	a.ticket = ticket;
	a.args = json_pack("{s:s, s:s}", "addr", text, "expires", when);
	if (sgd_audit_mark(d, &a, &mark)) {
		free(ticket);
		return false;
	}
	/* A shadowed approval's kernel entry is the policy's: it stays. */
	if (!sgd_is_shadowed(&d->policy, t) && sg_dp_trust_del(d->dp, &t->prefix, &err))
		sgd_warn("expire %s: %s", text, err.msg);
	sg_policy_remove_trusted(&d->policy, i);
	rc = sgd_save_approval_removed(d, &gone, &err);
	if (rc < 0) {
		sgd_audit_retract(d, &mark);
		a.result = "failed";
		a.error = err.msg;
		a.args = json_pack("{s:s, s:s}", "addr", text, "expires", when);
		sgd_audit(d, &a);
	} else if (rc == SG_SAVED_NOT_DURABLE) {
		/* Done, but a power loss may undo it: the record says so. */
		sgd_audit_retract(d, &mark);
		warnings = json_pack("[s]", err.msg);
		a.warnings = warnings;
		a.args = json_pack("{s:s, s:s}", "addr", text, "expires", when);
		sgd_audit(d, &a);
		json_decref(warnings);
	} else {
		sg_append_done(&mark);
	}
	if (rc < 0)
		/* Still in the file: a restart loads it expired (the kernel
		 * blocks it as such) and this removes it again. */
		sgd_warn("approval %s (ticket %s) expired at %s and was removed from the data "
			 "plane, but not from approvals.json: %s", text, ticket, when, err.msg);
	else
		sgd_notice("approval %s (ticket %s) expired at %s and was removed", text, ticket,
			   when);
	free(ticket);
	return true;
}

/* Audits the expiry of policy.json entry t once, ever: the record, then
 * the memory of it in the state dir (expiry_seen.c); if that cannot be
 * saved the record is taken back and both are tried again later. */
static void report_policy_expiry(struct sgd *d, struct sg_trusted_entry *t)
{
	static bool save_failing;
	struct sgd_audit a = { .uid = -1, .command = "expire", .result = "ok",
			       .ticket = t->ticket };
	char text[SG_PREFIX_STRLEN], when[32];
	struct sg_err err = { 0 };
	struct sg_append_mark mark;

	sg_prefix_format(&t->prefix, text, sizeof(text));
	sg_format_rfc3339(t->expires, when, sizeof(when));
	a.args = json_pack("{s:s, s:s, s:s}", "addr", text, "expires", when, "source",
			   "policy.json");
	if (sgd_audit_mark(d, &a, &mark))
		return;
	t->expiry_reported = 1;
	if (sgd_expiry_seen_save(d, &err)) {
		t->expiry_reported = 0;
		sgd_audit_retract(d, &mark);
		if (!save_failing)
			sgd_err("cannot record that the expiry of %s was audited (%s): it is "
				"audited once this can be saved", text, err.msg);
		save_failing = true;
		return;
	}
	save_failing = false;
	sg_append_done(&mark);
	sgd_warn("policy.json entry %s (ticket %s) expired at %s: the kernel blocks it as "
		 "\"expired\"; remove or renew it in policy.json", text, t->ticket, when);
}

/* Bans end by themselves in the kernel at their deadline; the daemon then
 * removes the entry and records the end (event, audit, log). */
struct ended_bans {
	struct sg_addr addr[64];
	uint32_t flags[64];
	int n;
};

static int collect_ended(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	struct ended_bans *e = ctx;
	uint64_t now = sg_boot_ns();

	if (b->expires_ns && now >= b->expires_ns && e->n < 64) {
		e->addr[e->n] = *a;
		e->flags[e->n++] = b->flags;
	}
	return e->n < 64 ? 0 : 1;
}

static void expire_bans(struct sgd *d)
{
	struct ended_bans e = { .n = 0 };
	char text[SG_PREFIX_STRLEN], when[40];

	sg_dp_ban_foreach(d->dp, collect_ended, &e);
	sgd_format_time_ms(sg_boot_ns(), when, sizeof(when));
	for (int i = 0; i < e.n; i++) {
		const char *kind = e.flags[i] & SG_BAN_AUTO ? "auto" : "manual";
		struct sgd_audit a = { .uid = -1, .command = "ban.expire", .result = "ok" };
		struct sg_append_mark mark;
		json_t *ev;

		sg_addr_format(&e.addr[i], text, sizeof(text));
		a.args = json_pack("{s:s, s:s}", "addr", text, "kind", kind);
		/* Not recorded, not removed: the kernel has ended the ban
		 * anyway; the next tick tries again. */
		if (sgd_audit_mark(d, &a, &mark))
			return;
		if (sg_dp_ban_del(d->dp, &e.addr[i], NULL)) {
			sgd_audit_retract(d, &mark); /* removed meanwhile */
			continue;
		}
		sg_append_done(&mark);
		ev = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "event", "unban", "source",
			       text, "kind", kind);
		sgd_events_write(d, ev);
		json_decref(ev);
		sgd_notice("ban of %s (%s) ended", text, kind);
	}
}

/* Automatic bans (per entry) end in the kernel at their deadline too; the
 * daemon deletes the record and records the end.  A record whose slot no
 * longer belongs to an entry (the entry was removed while banned) is
 * deleted as well: nothing can match it any more. */
struct ended_auto_bans {
	struct sg_entry_ban ban[64];
	int n;
};

static int collect_ended_auto(const struct sg_entry_ban *b, void *ctx)
{
	struct ended_auto_bans *e = ctx;

	if (((b->rec.expires_ns && sg_boot_ns() >= b->rec.expires_ns) || !b->known) && e->n < 64)
		e->ban[e->n++] = *b;
	return e->n < 64 ? 0 : 1;
}

static void expire_auto_bans(struct sgd *d)
{
	struct ended_auto_bans e = { .n = 0 };
	char entry[SG_PREFIX_STRLEN], when[40];

	sg_dp_auto_ban_foreach(d->dp, collect_ended_auto, &e);
	sgd_format_time_ms(sg_boot_ns(), when, sizeof(when));
	for (int i = 0; i < e.n; i++) {
		const struct sg_entry_ban *b = &e.ban[i];
		struct sgd_audit a = { .uid = -1, .command = "ban.expire", .result = "ok" };
		json_t *ev;

		if (sg_dp_auto_ban_del(d->dp, b->rec.slot, NULL))
			continue; /* removed meanwhile */
		if (b->known)
			sg_prefix_format(&b->entry, entry, sizeof(entry));
		else
			snprintf(entry, sizeof(entry), "(entry gone, slot %u)", b->rec.slot);
		/* As a manual ban's end: the entry and the kind (the source that
		 * reached the threshold is in the ban.auto record). */
		a.args = json_pack("{s:s, s:s}", "addr", entry, "kind", "auto");
		sgd_audit(d, &a);
		ev = json_pack("{s:s, s:s, s:s, s:s, s:s}", "time", when, "event", "unban",
			       "source", entry, "kind", "auto", "scope", "entry");
		sgd_events_write(d, ev);
		json_decref(ev);
		sgd_notice("ban of %s (auto) ended", entry);
	}
}

/* Earliest of a and b, 0 standing for "none". */
static int64_t earliest(int64_t a, int64_t b)
{
	return !a || (b && b < a) ? b : a;
}

/* One pass over the entries, when the earliest deadline has come (the
 * policy keeps it: sg_policy.next_expiry): a million entries take tens
 * of milliseconds of the loop, too long to spend every second for none.
 * The pass sets the next deadline exactly: the earliest expiry still to
 * come, or now again for an entry whose removal or report could not be
 * recorded (tried again at the next tick). */
void sgd_expire_due(struct sgd *d)
{
	expire_bans(d);
	expire_auto_bans(d);
	long long now = (long long)time(NULL);
	size_t removed = 0;
	int64_t next = 0;

	if (!d->policy.next_expiry || d->policy.next_expiry > now)
		return;
	for (size_t i = 0; i < d->policy.n_trusted;) {
		struct sg_trusted_entry *t = &d->policy.trusted[i];

		if (!t->expires || t->expires > now) {
			next = earliest(next, t->expires);
			i++;
			continue;
		}
		if (t->origin == SG_ORIGIN_APPROVAL && d->store) {
			/* The store's watch removes it (fleet.h). */
			sgd_fleet_expire_approval(d, i);
			next = earliest(next, t->expires);
			i++;
			continue;
		}
		if (t->origin == SG_ORIGIN_APPROVAL) {
			if (expire_approval(d, i)) {
				removed++;
				continue; /* entry i is now the next one */
			}
			next = earliest(next, t->expires);
			i++;
			continue;
		}
		if (!t->expiry_reported)
			report_policy_expiry(d, t);
		if (!t->expiry_reported)
			next = earliest(next, t->expires);
		i++;
	}
	d->policy.next_expiry = next;
	/* Once for the pass: the metrics' list of expiries is a pass over
	 * the policy, milliseconds at a million entries, which a thousand
	 * approvals expiring at the same second would each have paid. */
	if (removed)
		sgd_snapshot_policy(d);
}
