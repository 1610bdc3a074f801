// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A statistics snapshot as the JSON of "stats" and "status" (see stats_json.h). */
#include "stats_json.h"

/* Non-zero counters of one attachment. */
static json_t *counters_json(const struct sg_stats_attachment *a)
{
	json_t *arr = json_array();

	for (int v = 0; arr && v < SG_V_COUNT; v++) {
		for (int r = 0; r < SG_R_COUNT; r++) {
			const struct sg_counter *c = &a->c[v][r];

			if (!c->packets)
				continue;
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:I}",
				"verdict", sg_verdict_names[v], "reason", sg_reason_names[r],
				"packets", (json_int_t)c->packets,
				"bytes", (json_int_t)c->bytes,
				"connections", (json_int_t)c->conns));
		}
	}
	return arr;
}

json_t *sg_stats_attachments_json(const struct sg_stats_snapshot *s, bool counters)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < s->n_attach; i++) {
		const struct sg_stats_attachment *a = &s->attach[i];
		/* The snapshot's "" (TC, or XDP in no known mode) is null here. */
		json_t *o = json_pack("{s:s, s:s, s:o, s:b}", "interface", a->ifname,
				      "hook", sg_hook_name(a->hook),
				      "mode", a->mode[0] ? json_string(a->mode) : json_null(),
				      "attached", a->attached);

		if (o && counters) {
			json_t *c = counters_json(a);

			json_object_set_new(o, "counters", c ? c : json_array());
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

/* {reason: blocked packets} of the reasons that have any. */
static json_t *blocked_json(const struct sg_stats_source *s)
{
	json_t *o = json_object();

	for (int r = 0; o && r < SG_SRC_BLOCK_REASONS; r++)
		if (s->blocked[r])
			json_object_set_new(o, sg_reason_names[SG_SRC_FIRST_BLOCK + r],
					    json_integer((json_int_t)s->blocked[r]));
	return o;
}

/* [{"source", "packets": {verdict: n}, "total", "connections", "bytes"
 * (passed), "blocked": {reason: n}}], most packets first. */
static json_t *sources_json(const struct sg_stats_snapshot *s)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < s->n_sources; i++) {
		const struct sg_stats_source *src = &s->sources[i];
		json_int_t total = (json_int_t)sg_stats_source_total(src);
		json_t *per = json_object();

		for (int v = 0; per && v < SG_V_COUNT; v++)
			json_object_set_new(per, sg_verdict_names[v],
					    json_integer((json_int_t)src->packets[v]));
		json_array_append_new(arr, json_pack("{s:s, s:o, s:I, s:I, s:I, s:o}",
						     "source", src->text,
						     "packets", per ? per : json_object(),
						     "total", total,
						     "connections", (json_int_t)src->conns,
						     "bytes", (json_int_t)src->bytes,
						     "blocked", blocked_json(src)));
	}
	return arr;
}

/* {"generation", "trusted_entries", "bans_active", "events_lost", ...}. */
static json_t *data_plane_json(const struct sg_stats_snapshot *s, long trusted)
{
	json_t *o = json_pack("{s:I, s:I, s:I}",
			      "generation", (json_int_t)s->generation,
			      "trusted_entries", (json_int_t)trusted,
			      "bans_active", (json_int_t)s->bans_active);

	for (int i = 0; o && i < SG_STAT_COUNT; i++)
		json_object_set_new(o, sg_stat_names[i], json_integer((json_int_t)s->stats[i]));
	return o;
}

json_t *sg_stats_json(const struct sg_stats_snapshot *s, long trusted)
{
	json_t *o = json_object(), *att = sg_stats_attachments_json(s, true);
	json_t *src = s->sources_read ? sources_json(s) : NULL;
	json_t *dpj = data_plane_json(s, trusted);

	if (!o || !att || !dpj || (s->sources_read && !src)) {
		json_decref(o);
		json_decref(att);
		json_decref(src);
		json_decref(dpj);
		return NULL;
	}
	json_object_set_new(o, "attachments", att);
	if (s->sources_read)
		json_object_set_new(o, "sources", src);
	json_object_set_new(o, "data_plane", dpj);
	return o;
}
