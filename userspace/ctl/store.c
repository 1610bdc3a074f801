// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl store import APPROVALS.json: moves a gateway's approvals
 * into the fleet store (docs/fleet.md), straight to etcd with the host
 * config's store.etcd (no daemon needed).
 *
 * Each approval is validated against the gateway's policy exactly as the
 * daemon loads approvals.json, then written with a create transaction
 * and its audit record.  Running it again, or on the other gateway of a
 * pair, is safe: an approval already in the store with the same content
 * is reported as such; one with other content is left as the store has
 * it and reported, for a person to decide (exit 1).
 */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ctl.h"
#include "load.h"
#include "store/store.h"

/* Same content?  Compared as JSON, so key order and spacing do not
 * matter. */
static bool same_value(const char *a, const char *b)
{
	json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
	bool same = x && y && json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return same;
}

struct import {
	struct ctl *c;
	struct sg_host_config cfg;
	struct sg_policy policy;
	struct sg_trusted_entry *entries;
	size_t n_entries;
	struct sg_store *store;
	struct sg_store_state state;
	size_t added, present, differ, failed;
	json_t *report;
};

static void note(struct import *im, const char *prefix, const char *result, const char *why)
{
	if (im->c->json)
		json_array_append_new(im->report, json_pack("{s:s, s:s, s:s*}", "prefix", prefix,
							     "result", result, "error", why));
	else
		printf("%-20s %s%s%s\n", prefix, result, why ? ": " : "", why ? why : "");
}

static void import_one(struct import *im, const struct sg_trusted_entry *t, const char *user)
{
	char name[SG_PREFIX_STRLEN];
	const struct sg_store_rec *r;
	struct sg_err err = { 0 };
	char *value;
	int rc;

	sg_prefix_format(&t->prefix, name, sizeof(name));
	value = sg_store_approval_value(&im->policy, t);
	if (!value) {
		im->failed++;
		note(im, name, "failed", "out of memory");
		return;
	}
	r = sg_store_state_find(&im->state, SG_STORE_APPROVAL, name);
	if (r && same_value(r->value, value)) {
		im->present++;
		note(im, name, "already in the store", NULL);
	} else if (r) {
		im->differ++;
		note(im, name, "differs", "the store holds another approval of this prefix: "
		     "kept the store's (compare with etcdctl get and decide)");
	} else {
		struct sg_store_change ch = {
			.kind = SG_STORE_APPROVAL, .name = name, .value = value,
			.expect_mod_revision = 0,
			.actor = { .uid = (long long)getuid(), .user = user,
				   .command = "store.import", .ticket = t->ticket },
		};

		rc = sg_store_apply(im->store, &ch, NULL, &err);
		if (rc == SG_STORE_ECONFLICT) {
			im->differ++;
			note(im, name, "differs", err.msg);
		} else if (rc) {
			im->failed++;
			note(im, name, "failed", err.msg);
		} else {
			im->added++;
			note(im, name, "imported", NULL);
		}
	}
	free(value);
}

/* Config, policy and approvals, each with every problem reported. */
static int load_inputs(struct import *im, const char *approvals)
{
	struct sg_load_opts o = { .allow_any_owner = true };
	const char *config = im->c->config_opt ? im->c->config_opt : SG_DEFAULT_CONFIG;
	struct sg_diag d = { 0 };
	int rc = 0;

	if (sg_config_load(config, &o, &im->cfg, &d) ||
	    sg_policy_load(im->cfg.policy_path, &o, &im->policy, NULL, &d) ||
	    sg_approvals_load(approvals, &im->policy, &o, &im->entries, &im->n_entries, &d))
		rc = -1;
	sg_diag_print(&d, stderr);
	sg_diag_free(&d);
	if (rc)
		return ctl_fail(im->c, CTL_FAILED, "nothing was imported: fix the problems above");
	if (!im->cfg.store)
		return ctl_fail(im->c, CTL_FAILED, "%s has no \"store\": there is no fleet store to "
				"import into", config);
	return 0;
}

static int import_all(struct import *im, const char *approvals)
{
	struct sg_err err = { 0 };
	struct passwd *pw = getpwuid(getuid());
	char host[SG_STORE_GATEWAY_MAX] = "", user[SG_CREATED_BY_MAX];
	int rc = load_inputs(im, approvals);

	if (rc)
		return rc;
	sg_store_gateway_name(im->cfg.store, host, sizeof(host));
	snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "?");
	if (sg_store_open(im->cfg.store, host, &im->store, &err) ||
	    sg_store_load(im->store, &im->state, &err))
		return ctl_fail(im->c, CTL_FAILED, "nothing was imported: %s", err.msg);
	for (size_t i = 0; i < im->n_entries; i++)
		if (im->entries[i].origin == SG_ORIGIN_APPROVAL)
			import_one(im, &im->entries[i], user);
	return 0;
}

static int cmd_import(struct ctl *c)
{
	struct import im = { .c = c };
	const char *path;
	int rc;

	if (!ctl_parse(c, &rc))
		return rc;
	path = c->args.operand;
	/* im.policy stays zeroed until sg_policy_load fills it. */
	sg_host_config_init(&im.cfg);
	im.report = json_array();
	rc = import_all(&im, path);
	if (!rc) {
		if (c->json) {
			json_t *doc = json_pack("{s:o, s:I, s:I, s:I, s:I}", "approvals", im.report,
						"imported", (json_int_t)im.added,
						"already_present", (json_int_t)im.present,
						"differ", (json_int_t)im.differ,
						"failed", (json_int_t)im.failed);

			im.report = NULL;
			ctl_print_json(doc);
			json_decref(doc);
		} else {
			printf("%zu imported, %zu already in the store, %zu differ, %zu failed\n",
			       im.added, im.present, im.differ, im.failed);
		}
		rc = im.differ || im.failed ? CTL_FAILED : CTL_OK;
	}
	json_decref(im.report);
	for (size_t i = 0; i < im.n_entries; i++)
		sg_trusted_entry_free(&im.entries[i]);
	free(im.entries);
	sg_store_state_free(&im.state);
	sg_store_close(im.store);
	sg_policy_free(&im.policy);
	sg_host_config_free(&im.cfg);
	return rc;
}

int ctl_cmd_store(struct ctl *c)
{
	static const struct ctl_verb verbs[] = { { "import", cmd_import } };

	return ctl_dispatch(c, verbs, sizeof(verbs) / sizeof(verbs[0]));
}
