// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl audit --fleet: the fleet's audit trail, read from the
 * fleet store itself (docs/fleet.md) with the host config's store.etcd,
 * so it shows every gateway's changes, including those made before this
 * gateway joined, and needs no daemon.  Each record is shown in the
 * shape of a local audit.jsonl record (what `audit` prints), with its
 * gateway and store revision.
 */
#include <stdlib.h>
#include <string.h>
#include "ctl.h"
#include "load.h"
#include "store/store.h"

/* A fleet record {"time", "gateway", "uid", "user", "command", "ticket",
 * "key", "before", "after"} as a local one; NULL if it is not one. */
static json_t *as_local(const struct sg_store_rec *rec)
{
	json_t *o = json_loads(rec->value, 0, NULL), *local;

	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	local = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:s, s:{s:O?, s:O?, s:O?}, "
			  "s:I, s:b}",
			  "time", json_object_get(o, "time"), "gateway", json_object_get(o, "gateway"),
			  "uid", json_object_get(o, "uid"), "user", json_object_get(o, "user"),
			  "command", json_object_get(o, "command"),
			  "ticket", json_object_get(o, "ticket"), "result", "ok",
			  "args", "key", json_object_get(o, "key"), "before", json_object_get(o, "before"),
			  "after", json_object_get(o, "after"),
			  "revision", (json_int_t)rec->mod_revision, "fleet", 1);
	json_decref(o);
	return local;
}

int ctl_audit_fleet(struct ctl *c, long long since, long long limit, json_t **out)
{
	struct sg_load_opts o = { .allow_any_owner = true };
	const char *config = c->config_opt ? c->config_opt : SG_DEFAULT_CONFIG;
	char gateway[SG_STORE_GATEWAY_MAX];
	struct sg_store_state st = { 0 };
	struct sg_host_config cfg;
	struct sg_store *store = NULL;
	struct sg_err err = { 0 };
	struct sg_diag d = { 0 };
	json_t *arr;
	int rc;

	sg_host_config_init(&cfg);
	rc = sg_config_load(config, &o, &cfg, &d);
	sg_diag_print(&d, stderr);
	sg_diag_free(&d);
	if (rc) {
		sg_host_config_free(&cfg);
		return ctl_fail(c, CTL_FAILED, "%s: refused (the problems above)", config);
	}
	if (!cfg.store) {
		sg_host_config_free(&cfg);
		return ctl_fail(c, CTL_FAILED, "%s has no \"store\": there is no fleet audit trail; "
				"leave out --fleet for this gateway's", config);
	}
	sg_store_gateway_name(cfg.store, gateway, sizeof(gateway));
	rc = sg_store_open(cfg.store, gateway, &store, &err);
	if (!rc)
		rc = sg_store_audit_list(store, since > 0 ? since * 1000000000LL : 0,
					 (size_t)limit, &st, &err);
	sg_store_close(store);
	sg_host_config_free(&cfg);
	if (rc) {
		sg_store_state_free(&st);
		return ctl_fail(c, CTL_FAILED, "reading the fleet's audit trail: %s", err.msg);
	}
	arr = json_array();
	for (size_t i = 0; arr && i < st.n; i++) {
		json_t *rec = as_local(&st.recs[i]);

		if (rec)
			json_array_append_new(arr, rec);
	}
	if (st.n_refused)
		fprintf(stderr, "smtpgatectl: %zu fleet audit records could not be read and are "
			"not shown (the first: %s: %s)\n", st.n_refused, st.refusals[0].key,
			st.refusals[0].why);
	sg_store_state_free(&st);
	if (!arr)
		return ctl_fail(c, CTL_FAILED, "out of memory");
	*out = arr;
	return CTL_OK;
}
