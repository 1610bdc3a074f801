// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * "state" events: the mode in force and which configured hooks are
 * attached, written to events.jsonl when the daemon starts, whenever
 * either changes, once a day and when it stops:
 *
 *   {"time", "event": "state", "why": "start"|"change"|"daily"|"stop",
 *    "mode": "enforce"|"monitor", "generation", "hooks": [{"interface",
 *    "hook", "attached"}]}
 *
 * With them, `smtpgatectl report` can say how long a period was spent in
 * monitor mode or with a hook missing (a finding for an audit), and the
 * daily one shows that the events log has no holes.
 */
#include <jansson.h>
#include <string.h>
#include <time.h>
#include "load.h"
#include "usage_history.h"

/* Ticks between looks: attachments cost a netlink query each. */
#define LOOK_EVERY 5

static char *last_seen;        /* mode and hooks of the last event, as JSON */
static unsigned ticks;

static json_t *state_json(struct sgd *d)
{
	struct sg_attachment a[SG_MAX_ATTACH];
	struct sg_config cfg;
	json_t *hooks = json_array();
	int n = d->dp ? sg_dp_attachments(d->dp, a, SG_MAX_ATTACH) : 0;

	memset(&cfg, 0, sizeof(cfg));
	if (d->dp)
		sg_dp_active_config(d->dp, &cfg);
	for (size_t i = 0; hooks && i < d->cfg.n_ifaces; i++) {
		const struct sg_iface_cfg *c = &d->cfg.ifaces[i];
		bool attached = false;

		for (int k = 0; k < n && k < SG_MAX_ATTACH; k++)
			attached = attached || (a[k].hook == c->hook &&
						!strcmp(a[k].ifname, c->name) && a[k].attached);
		json_array_append_new(hooks, json_pack("{s:s, s:s, s:b}", "interface", c->name,
						       "hook", sg_hook_name(c->hook),
						       "attached", attached));
	}
	return json_pack("{s:s, s:I, s:o}", "mode",
			 cfg.mode == SG_MODE_MONITOR ? "monitor" : "enforce",
			 "generation", (json_int_t)cfg.generation, "hooks", hooks ? hooks : json_array());
}

/* Writes the event if why is not "change" or the state changed. */
static void note(struct sgd *d, const char *why)
{
	json_t *st = state_json(d);
	char *key, when[32];

	if (!st)
		return;
	/* The generation changes with every reload: only mode and hooks count. */
	json_object_del(st, "generation");
	key = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(st);
	if (!key)
		return;
	if (!strcmp(why, "change") && last_seen && !strcmp(key, last_seen)) {
		free(key);
		return;
	}
	free(last_seen);
	last_seen = key;
	st = state_json(d);
	sg_format_rfc3339((long long)time(NULL), when, sizeof(when));
	json_object_set_new(st, "time", json_string(when));
	json_object_set_new(st, "event", json_string("state"));
	json_object_set_new(st, "why", json_string(why));
	sgd_events_write(d, st);
	json_decref(st);
	if (!strcmp(why, "stop")) {
		/* The daemon's last word: a next start compares afresh. */
		free(last_seen);
		last_seen = NULL;
	}
}

void sgd_state_event(struct sgd *d, const char *why)
{
	note(d, why);
}

void sgd_state_tick(struct sgd *d)
{
	if (++ticks % LOOK_EVERY == 0)
		note(d, "change");
}
