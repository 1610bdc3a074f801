// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * policy.json's rate classes, relay groups and relay caps: the parts that
 * define names the rest of the policy (and the approvals) refer to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "load_internal.h"

/* Bounds that keep the compiled token buckets inside 64-bit nanosecond
 * arithmetic (see compile.c) and catch typos; see docs/policy.md. */
#define MIN_CONN_PER_SEC   0.001
#define MAX_CONN_PER_SEC   1e9
#define MIN_BYTES_PER_SEC  1000.0
#define MAX_BYTES_PER_SEC  1e12
#define MAX_BURST_SECONDS  86400.0

/* A rate (> 0, at least min, at most max). */
static int get_rate(struct sg_jctx *c, json_t *obj, const char *key, bool required, double min,
		    double max, double *out)
{
	int rc = sg_j_get_num(c, obj, key, required, 0, true, max, out);

	if (rc > 0 && *out < min) {
		sg_j_error_at(c, key, "%g is below the minimum of %g", *out, min);
		return -1;
	}
	return rc;
}

#define MIN_BURST_SECONDS ((double)SG_MIN_BURST_NS / 1e9)

/* A burst for rate (present only if rate_rc says so); default one
 * second's worth, at least 1. */
static void get_burst(struct sg_jctx *c, json_t *obj, const char *key, const char *rate_key,
		      int rate_rc, double rate, double *out)
{
	double burst = 0;
	int rc = sg_j_get_num(c, obj, key, false, 0, true, 1e300, &burst);

	if (rc > 0 && rate_rc == 0)
		sg_j_error_at(c, key, "set without %s (a burst needs a rate)", rate_key);
	else if (rc > 0 && rate_rc > 0 && burst > rate * MAX_BURST_SECONDS)
		sg_j_error_at(c, key, "%g is more than a day's worth of %s (at most %g)", burst,
			      rate_key, rate * MAX_BURST_SECONDS);
	else if (rc > 0 && rate_rc > 0 && burst < rate * MIN_BURST_SECONDS)
		/* The data plane's clock advances in ticks of 1-10 ms: a burst
		 * shorter than a few ticks would cap the rate at burst/tick. */
		sg_j_error_at(c, key, "%g is less than 20 ms' worth of %s (at least %g)", burst,
			      rate_key, rate * MIN_BURST_SECONDS);
	else if (rc > 0)
		*out = burst;
	else if (rc == 0 && rate_rc > 0)
		*out = rate < 1 ? 1 : rate;
}

static void parse_class(struct sg_jctx *c, json_t *v, struct sg_rate_class *rc)
{
	static const char *const keys[] = {
		"conn_per_sec", "conn_burst", "bytes_per_sec", "bytes_burst", NULL
	};
	char buf[64];
	int r;

	if (!json_is_object(v)) {
		sg_j_error(c, "must be an object, not %s", sg_j_describe(v, buf, sizeof(buf)));
		return;
	}
	sg_j_check_keys(c, v, keys);
	r = get_rate(c, v, "conn_per_sec", false, MIN_CONN_PER_SEC, MAX_CONN_PER_SEC,
		     &rc->conn_per_sec);
	get_burst(c, v, "conn_burst", "conn_per_sec", r, rc->conn_per_sec, &rc->conn_burst);
	r = get_rate(c, v, "bytes_per_sec", false, MIN_BYTES_PER_SEC, MAX_BYTES_PER_SEC,
		     &rc->bytes_per_sec);
	get_burst(c, v, "bytes_burst", "bytes_per_sec", r, rc->bytes_per_sec, &rc->bytes_burst);
}

/* A name that is a key (relay group, rate class); reported at the key. */
static bool check_name_key(struct sg_jctx *c, const char *name)
{
	if (sg_valid_name(name))
		return true;
	sg_j_error(c, "\"%.64s\" is not a valid name (1 to %d of A-Z a-z 0-9 _ . -)", name,
		   SG_NAME_MAX - 1);
	return false;
}

void sg_pp_classes(struct sg_policy_parse *pp)
{
	struct sg_jctx *c = &pp->c;
	const char *name;
	json_t *obj, *v;
	size_t s0;

	if (sg_j_get(c, pp->root, "rate_classes", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "rate_classes");
	if (json_object_size(obj) > SG_MAX_CLASSES) {
		sg_j_error(c, "defines %zu classes, at most %d", json_object_size(obj),
			   SG_MAX_CLASSES);
		sg_j_pop(c, s0);
		return;
	}
	json_object_foreach(obj, name, v) {
		size_t s1 = sg_j_push_key(c, name);
		struct sg_rate_class rc;

		memset(&rc, 0, sizeof(rc));
		if (check_name_key(c, name)) {
			snprintf(rc.name, sizeof(rc.name), "%s", name);
			parse_class(c, v, &rc);
			/* Added even if invalid, so names that use it do not
			 * add a second, misleading error. */
			if (sg_policy_add_class(pp->p, &rc) < 0)
				sg_j_oom(c);
		}
		sg_j_pop(c, s1);
	}
	sg_j_pop(c, s0);
}

/* relays.GROUP[i].ports into *out (malloc'd); returns how many. */
static size_t parse_relay_ports(struct sg_policy_parse *pp, json_t *relay, uint16_t **out)
{
	struct sg_jctx *c = &pp->c;
	size_t i, n = 0, s0;
	uint16_t *ports;
	json_t *arr, *v;

	*out = NULL;
	if (sg_j_get(c, relay, "ports", JSON_ARRAY, false, &arr) <= 0)
		return 0;
	ports = calloc(json_array_size(arr) + 1, sizeof(*ports));
	if (!ports) {
		sg_j_oom(c);
		return 0;
	}
	s0 = sg_j_push_key(c, "ports");
	if (!json_array_size(arr))
		sg_j_error(c, "must list at least one port (leave it out for every governed port)");
	json_array_foreach(arr, i, v) {
		size_t s1 = sg_j_push_index(c, i);
		unsigned port = sg_j_port(c, v);
		bool governed = false, dup = false;

		for (size_t k = 0; port && k < pp->p->n_ports; k++)
			governed |= pp->p->ports[k] == port;
		for (size_t k = 0; port && k < n; k++)
			dup |= ports[k] == port;
		if (port && dup)
			sg_j_error(c, "%u is listed twice", port);
		else if (port && pp->ports_ok && !governed)
			sg_j_error(c, "%u is not a governed port (add it to \"ports\")", port);
		else if (port)
			ports[n++] = (uint16_t)port;
		sg_j_pop(c, s1);
	}
	sg_j_pop(c, s0);
	*out = ports;
	return n;
}

/* relays.GROUP[i]; its address goes to *at for the duplicate check. */
static void parse_relay(struct sg_policy_parse *pp, json_t *v, int g, struct sg_prefix_at *at,
			size_t *keys)
{
	static const char *const keys_allowed[] = { "addr", "ports", NULL };
	struct sg_jctx *c = &pp->c;
	size_t before = c->d->n_errors, n;
	struct sg_err err = { 0 };
	uint16_t *ports;
	const char *text;
	char buf[64];
	json_t *a;

	if (!json_is_object(v)) {
		sg_j_error(c, "must be an object like {\"addr\": \"192.0.2.25\"}, not %s",
			   sg_j_describe(v, buf, sizeof(buf)));
		return;
	}
	sg_j_check_keys(c, v, keys_allowed);
	n = parse_relay_ports(pp, v, &ports);
	if (sg_j_get(c, v, "addr", JSON_STRING, true, &a) > 0) {
		text = json_string_value(a);
		if (strchr(text, '/'))
			sg_j_error_at(c, "addr", "\"%.64s\" is a prefix; a relay is one address",
				      text);
		else if (sg_addr_parse(text, &at->prefix.addr, &err))
			sg_j_error_at(c, "addr", "%s", err.msg);
		else
			at->prefix.len = 128;
	}
	if (c->d->n_errors == before) {
		*keys += n ? n : pp->p->n_ports;
		if (sg_policy_add_relay(pp->p, g, &at->prefix.addr, n ? ports : NULL, n))
			sg_j_oom(c);
	}
	free(ports);
}

/* relays.GROUP; returns the relays' addresses (*n_at of them) for the
 * duplicate check, or NULL. */
static struct sg_prefix_at *parse_group(struct sg_policy_parse *pp, const char *name, json_t *arr,
					size_t *keys, size_t *n_at)
{
	struct sg_jctx *c = &pp->c;
	struct sg_prefix_at *at;
	char buf[64];
	size_t i;
	json_t *v;
	int g;

	*n_at = 0;
	/* Added even if invalid: see parse_classes. */
	g = sg_policy_add_group(pp->p, name);
	if (g < 0) {
		sg_j_oom(c);
		return NULL;
	}
	if (!json_is_array(arr)) {
		sg_j_error(c, "must be an array of relays, not %s",
			   sg_j_describe(arr, buf, sizeof(buf)));
		return NULL;
	}
	if (!json_array_size(arr))
		sg_j_warn(c, "lists no relays: entries that use only this group reach nothing");
	at = calloc(json_array_size(arr) + 1, sizeof(*at));
	if (!at) {
		sg_j_oom(c);
		return NULL;
	}
	json_array_foreach(arr, i, v) {
		size_t s1 = sg_j_push_index(c, i);

		at[*n_at].prefix.len = 0;
		parse_relay(pp, v, g, &at[*n_at], keys);
		if (at[*n_at].prefix.len)
			at[(*n_at)++].index = i;
		sg_j_pop(c, s1);
	}
	return at;
}

void sg_pp_relays(struct sg_policy_parse *pp)
{
	struct sg_jctx *c = &pp->c;
	const char *name;
	size_t s0, keys = 0;
	json_t *obj, *v;

	if (sg_j_get(c, pp->root, "relays", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "relays");
	if (json_object_size(obj) > SG_MAX_GROUPS) {
		sg_j_error(c, "defines %zu groups, at most %d", json_object_size(obj),
			   SG_MAX_GROUPS);
		sg_j_pop(c, s0);
		return;
	}
	json_object_foreach(obj, name, v) {
		size_t s1 = sg_j_push_key(c, name), n_at = 0;
		struct sg_prefix_at *at = NULL;

		if (check_name_key(c, name))
			at = parse_group(pp, name, v, &keys, &n_at);
		sg_j_pop(c, s1);
		if (at)
			sg_j_prefix_duplicates(c, name, "addr", at, n_at);
		free(at);
	}
	if (keys > SG_MAX_RELAY_KEYS)
		sg_j_error(c, "%zu (address, port) pairs, at most %d", keys, SG_MAX_RELAY_KEYS);
	sg_j_pop(c, s0);
}

void sg_pp_relay_cap(struct sg_policy_parse *pp)
{
	static const char *const keys[] = { "conn_per_sec", "conn_burst", NULL };
	struct sg_jctx *c = &pp->c;
	const char *name;
	json_t *obj, *v;
	char known[256], buf[64];
	size_t s0;

	if (sg_j_get(c, pp->root, "relay_cap", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "relay_cap");
	sg_j_list_groups(pp->p, known, sizeof(known));
	json_object_foreach(obj, name, v) {
		size_t s1 = sg_j_push_key(c, name);
		int g = sg_policy_group_index(pp->p, name), r;
		double rate = 0, burst = 0;

		if (g < 0)
			sg_j_error(c, "no relay group named \"%.64s\" (defined: %s)", name,
				   known[0] ? known : "none");
		if (!json_is_object(v)) {
			sg_j_error(c, "must be an object, not %s",
				   sg_j_describe(v, buf, sizeof(buf)));
			sg_j_pop(c, s1);
			continue;
		}
		sg_j_check_keys(c, v, keys);
		r = get_rate(c, v, "conn_per_sec", true, MIN_CONN_PER_SEC, MAX_CONN_PER_SEC, &rate);
		get_burst(c, v, "conn_burst", "conn_per_sec", r, rate, &burst);
		if (g >= 0) {
			pp->p->groups[g].cap_conn_per_sec = rate;
			pp->p->groups[g].cap_conn_burst = burst;
		}
		sg_j_pop(c, s1);
	}
	sg_j_pop(c, s0);
}

