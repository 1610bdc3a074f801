// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * trust.add, trust.del, ban.add and ban.del on a gateway with a fleet
 * store (docs/fleet.md): the change goes to the store in one transaction
 * with its fleet audit record, compared on the record's revision as this
 * gateway applied it; it takes effect here when the watch brings it back
 * (fleet.h).  The reply waits for that, within the store's timeout, so
 * "ok" still means "in force on this gateway"; if the watch is late the
 * reply is "ok" with a warning that says so.
 *
 * Nothing local changes before the store has accepted the change, so a
 * refused or failed change needs no undoing: the local audit record,
 * written before (control_req.c), is taken back with the failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "control_cmd.h"
#include "fleet.h"

/* Sends the change as the requester; 0 once made (and, unless a warning
 * says otherwise, applied here), -1 with the request failed. */
static int commit(struct sgd_req *r, struct sg_store_change *c)
{
	struct sg_err err = { 0 };
	int64_t rev = 0;
	int rc;

	c->actor = (struct sg_store_actor){ .uid = r->peer->uid, .user = r->peer->user,
					    .command = r->command, .ticket = c->actor.ticket };
	rc = sgd_fleet_change(r->d, c, &rev, &err);
	if (rc == SG_STORE_ECONFLICT)
		return sgd_req_fail(r, SGD_E_CHANGED, NULL, "%s", err.msg);
	if (rc == SG_STORE_EUNAVAILABLE)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "the fleet store is unreachable, so "
				    "nothing was changed (this gateway keeps enforcing the last "
				    "state it applied): %s", err.msg);
	if (rc)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "fleet store: nothing was changed: %s",
				    err.msg);
	if (sgd_fleet_wait(r->d, rev))
		sgd_req_warn(r, "made in the fleet store at revision %lld, but not yet applied on "
			     "this gateway: its watch of the store is late or reconnecting, and "
			     "applies it when it catches up", (long long)rev);
	return 0;
}

int sgd_fleet_trust_add(struct sgd_req *r, const struct sg_trusted_entry *t)
{
	struct sgd *d = r->d;
	struct sg_store_change c = { .kind = SG_STORE_APPROVAL };
	char text[SG_PREFIX_STRLEN], *value;
	long i;
	int rc;

	sg_prefix_format(&t->prefix, text, sizeof(text));
	value = sg_store_approval_value(&d->policy, t);
	if (!value)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	c.name = text;
	c.value = value;
	c.expect_mod_revision = 0;      /* a new approval: the record must not exist */
	c.actor.ticket = t->ticket;
	rc = commit(r, &c);
	free(value);
	if (rc)
		return -1;
	i = sg_policy_find_approval(&d->policy, &t->prefix);
	return sgd_req_ok(r, sgd_trust_entry_json(&d->policy, i >= 0 ? &d->policy.trusted[i] : t,
						  (long long)time(NULL)));
}

int sgd_fleet_trust_del(struct sgd_req *r, const struct sg_prefix *prefix, const char *ticket,
			json_t *result)
{
	struct sg_store_change c = { .kind = SG_STORE_APPROVAL };
	const struct sg_store_rec *rec;
	char text[SG_PREFIX_STRLEN];

	sg_prefix_format(prefix, text, sizeof(text));
	rec = sgd_fleet_find(r->d, SG_STORE_APPROVAL, text);
	if (!rec) {
		json_decref(result);
		return sgd_req_fail(r, SGD_E_NOT_FOUND, "prefix", "%s is not in the fleet store",
				    text);
	}
	c.name = text;
	c.expect_mod_revision = rec->mod_revision;
	c.before = rec->value;
	c.actor.ticket = ticket;
	if (commit(r, &c)) {
		json_decref(result);
		return -1;
	}
	return sgd_req_ok(r, result);
}

int sgd_fleet_ban(struct sgd_req *r, const struct sg_addr *a, long long duration_sec,
		  const char *reason, const char *ticket)
{
	struct sg_store_change c = { .kind = SG_STORE_BAN };
	const struct sg_store_rec *rec;
	char text[SG_PREFIX_STRLEN], by[SG_CREATED_BY_MAX], *value;
	long long expires = duration_sec ? (long long)time(NULL) + duration_sec : 0;
	int rc;

	sg_addr_format(a, text, sizeof(text));
	rec = sgd_fleet_find(r->d, SG_STORE_BAN, text);
	snprintf(by, sizeof(by), "%s (uid %u)", r->peer->user, (unsigned)r->peer->uid);
	value = sg_store_ban_value(a, expires, reason, ticket, by);
	if (!value)
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "out of memory");
	c.name = text;
	c.value = value;
	c.expect_mod_revision = rec ? rec->mod_revision : 0;
	c.before = rec ? rec->value : NULL;
	c.actor.ticket = ticket;
	rc = commit(r, &c);
	free(value);
	return rc;
}

int sgd_fleet_unban(struct sgd_req *r, const struct sg_addr *a, const char *ticket)
{
	struct sg_store_change c = { .kind = SG_STORE_BAN };
	const struct sg_store_rec *rec;
	char text[SG_PREFIX_STRLEN];

	sg_addr_format(a, text, sizeof(text));
	rec = sgd_fleet_find(r->d, SG_STORE_BAN, text);
	if (!rec)
		return 1;
	c.name = text;
	c.expect_mod_revision = rec->mod_revision;
	c.before = rec->value;
	c.actor.ticket = ticket;
	return commit(r, &c);
}
