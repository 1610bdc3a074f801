// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * policy.json -> struct sg_policy.  Sections are parsed in dependency
 * order (ports before relays, relays and rate classes before what names
 * them) and every problem is reported at its JSON path; the policy is
 * handed out only when there were none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_stream.h"
#include "load_internal.h"

#define MAX_BAN_WINDOW_SEC 86400.0
#define MAX_BAN_DURATION_SEC (10.0 * 365 * 86400)
#define MAX_BAN_VIOLATIONS 1000000
#define MAX_EVENT_INTERVAL_SEC 3600.0
#define MAX_EVENT_BUDGET   1000000

static const char *const policy_keys[] = {
	"mode", "ports", "scope", "relays", "rate_classes", "unregistered", "ban",
	"relay_cap", "trusted", "events", NULL
};

static void parse_mode(struct sg_policy_parse *pp)
{
	static const char *const modes[] = { "enforce", "monitor", NULL };
	int m;

	if (sg_j_get_enum(&pp->c, pp->root, "mode", false, modes, &m) > 0)
		pp->p->mode = m ? SG_MODE_MONITOR : SG_MODE_ENFORCE;
}

static void parse_ports(struct sg_policy_parse *pp)
{
	struct sg_jctx *c = &pp->c;
	size_t before = c->d->n_errors, i, s0;
	uint32_t *seen;         /* index + 1 of each port's first mention */
	json_t *arr, *v;
	int rc;

	rc = sg_j_get(c, pp->root, "ports", JSON_ARRAY, false, &arr);
	if (rc == 0) {
		if (sg_policy_add_port(pp->p, 25))
			sg_j_oom(c);
		pp->ports_ok = true;
		return;
	}
	if (rc < 0)
		return;
	s0 = sg_j_push_key(c, "ports");
	if (!json_array_size(arr))
		sg_j_error(c, "must list at least one port (leave it out for the default, [25])");
	seen = calloc(65536, sizeof(*seen));
	if (!seen) {
		sg_j_oom(c);
		sg_j_pop(c, s0);
		return;
	}
	json_array_foreach(arr, i, v) {
		size_t s1 = sg_j_push_index(c, i);
		unsigned port = sg_j_port(c, v);

		if (port && seen[port])
			sg_j_error(c, "%u is listed twice (ports[%u] and ports[%zu])", port,
				   seen[port] - 1, i);
		else if (port && sg_policy_add_port(pp->p, (uint16_t)port))
			sg_j_oom(c);
		else if (port)
			seen[port] = (uint32_t)i + 1;
		sg_j_pop(c, s1);
	}
	free(seen);
	sg_j_pop(c, s0);
	pp->ports_ok = c->d->n_errors == before;
}

/* The data plane probes a prefix table once per distinct length (hosts
 * have their own exact table): it takes at most SG_MAX_PREFIX_LENS. */
static void check_prefix_lens(struct sg_jctx *c, const char *key,
			      const struct sg_prefix_at *at, size_t n, bool hosts_apart)
{
	bool seen[129] = { false };
	unsigned distinct = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned len = at[i].prefix.len;

		if (len > 128 || (hosts_apart && len == 128) || seen[len])
			continue;
		seen[len] = true;
		distinct++;
	}
	if (distinct > SG_MAX_PREFIX_LENS)
		sg_j_error_at(c, key, "uses %u distinct prefix lengths, at most %d (each length "
			      "costs the data plane one probe per packet)", distinct,
			      SG_MAX_PREFIX_LENS);
}

static void parse_scope(struct sg_policy_parse *pp)
{
	struct sg_jctx *c = &pp->c;
	struct sg_prefix_at *at;
	size_t n_at = 0, i, s0;
	json_t *arr, *v;

	if (sg_j_get(c, pp->root, "scope", JSON_ARRAY, false, &arr) <= 0)
		return;
	s0 = sg_j_push_key(c, "scope");
	if (!json_array_size(arr)) {
		sg_j_error(c, "must list at least one prefix (leave it out to govern every source)");
	} else if (json_array_size(arr) > SG_MAX_SCOPE) {
		sg_j_error(c, "lists %zu prefixes, at most %d", json_array_size(arr), SG_MAX_SCOPE);
		sg_j_pop(c, s0);
		return;
	}
	at = calloc(json_array_size(arr) + 1, sizeof(*at));
	if (!at) {
		sg_j_oom(c);
		sg_j_pop(c, s0);
		return;
	}
	json_array_foreach(arr, i, v) {
		struct sg_err err = { 0 };
		size_t s1 = sg_j_push_index(c, i);
		char buf[64];

		if (!json_is_string(v)) {
			sg_j_error(c, "must be a prefix (a string), not %s",
				   sg_j_describe(v, buf, sizeof(buf)));
		} else if (sg_prefix_parse(json_string_value(v), &at[n_at].prefix, &err)) {
			sg_j_error(c, "%s", err.msg);
		} else {
			if (sg_policy_add_scope(pp->p, &at[n_at].prefix))
				sg_j_oom(c);
			at[n_at++].index = i;
		}
		sg_j_pop(c, s1);
	}
	sg_j_pop(c, s0);
	sg_j_prefix_duplicates(c, "scope", NULL, at, n_at);
	check_prefix_lens(c, "scope", at, n_at, false);
	free(at);
}

static void parse_unregistered(struct sg_policy_parse *pp)
{
	static const char *const keys[] = { "action", "rate", NULL };
	static const char *const actions[] = { "drop", "reject", "throttle", NULL };
	static const int action_values[] = { SG_UNREG_DROP, SG_UNREG_REJECT, SG_UNREG_THROTTLE };
	struct sg_jctx *c = &pp->c;
	json_t *obj, *rate;
	char known[256];
	int action = -1, k;
	size_t s0;

	if (sg_j_get(c, pp->root, "unregistered", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "unregistered");
	sg_j_check_keys(c, obj, keys);
	if (sg_j_get_enum(c, obj, "action", true, actions, &action) > 0)
		pp->p->unreg_action = action_values[action];
	k = sg_j_get(c, obj, "rate", JSON_STRING, false, &rate);
	if (k == 0 && action == 2) {
		sg_j_error_at(c, "rate", "required when action is \"throttle\" "
			      "(the rate class of the allowance)");
	} else if (k > 0 && action >= 0 && action != 2) {
		sg_j_error_at(c, "rate", "only allowed when action is \"throttle\"");
	} else if (k > 0) {
		int idx = sg_policy_class_index(pp->p, json_string_value(rate));

		sg_j_list_classes(pp->p, known, sizeof(known));
		if (idx < 0) {
			sg_j_error_at(c, "rate", "no rate class named \"%.64s\" (defined: %s)",
				      json_string_value(rate), known[0] ? known : "none");
		} else {
			const struct sg_rate_class *rc = &pp->p->classes[idx];

			pp->p->unreg_class = (uint32_t)idx;
			if (action == 2 && rc->conn_per_sec <= 0 && rc->bytes_per_sec <= 0) {
				size_t s1 = sg_j_push_key(c, "rate");

				sg_j_warn(c, "class \"%s\" sets no limit: unregistered sources may "
					  "use approved relays without any limit", rc->name);
				sg_j_pop(c, s1);
			}
		}
	}
	sg_j_pop(c, s0);
}

static void parse_ban(struct sg_policy_parse *pp)
{
	static const char *const keys[] = { "violations", "window_sec", "duration_sec", NULL };
	struct sg_jctx *c = &pp->c;
	struct sg_policy *p = pp->p;
	long long violations;
	json_t *obj;
	size_t s0;

	if (sg_j_get(c, pp->root, "ban", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "ban");
	sg_j_check_keys(c, obj, keys);
	if (sg_j_get_int(c, obj, "violations", true, 1, MAX_BAN_VIOLATIONS, &violations) > 0)
		p->ban_violations = (uint32_t)violations;
	sg_j_get_num(c, obj, "window_sec", true, 0, true, MAX_BAN_WINDOW_SEC, &p->ban_window_sec);
	sg_j_get_num(c, obj, "duration_sec", true, 0, false, MAX_BAN_DURATION_SEC,
		     &p->ban_duration_sec);
	p->ban_enabled = true;
	sg_j_pop(c, s0);
}

/* Extension: how data-plane events are sampled. */
static void parse_events(struct sg_policy_parse *pp)
{
	static const char *const keys[] = { "interval_sec", "budget_per_cpu", NULL };
	struct sg_jctx *c = &pp->c;
	long long budget;
	json_t *obj;
	size_t s0;

	if (sg_j_get(c, pp->root, "events", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "events");
	sg_j_check_keys(c, obj, keys);
	sg_j_get_num(c, obj, "interval_sec", false, 0, true, MAX_EVENT_INTERVAL_SEC,
		     &pp->p->event_interval_sec);
	if (sg_j_get_int(c, obj, "budget_per_cpu", false, 1, MAX_EVENT_BUDGET, &budget) > 0)
		pp->p->event_budget = (uint32_t)budget;
	sg_j_pop(c, s0);
}

/* Parses a policy from its tree (root), the trusted elements from ts.
 * 0, -1 (errors in d), or ts->rc when the stream failed. */
static int parse_root(const char *name, json_t *root, struct sg_trusted_source *ts,
		      const struct sg_load_opts *o, struct sg_policy *out, struct sg_diag *d)
{
	struct sg_policy_parse pp;
	size_t before = d->n_errors;
	struct sg_policy p;

	memset(&pp, 0, sizeof(pp));
	sg_j_init(&pp.c, name, d);
	pp.root = root;
	if (!json_is_object(pp.root)) {
		sg_j_error(&pp.c, "the top level must be a JSON object ({...})");
		return -1;
	}
	sg_policy_init(&p);
	pp.p = &p;
	pp.now = sg_now(o);
	pp.one_thread = o && o->one_thread;
	sg_j_check_keys(&pp.c, pp.root, policy_keys);
	parse_mode(&pp);
	parse_ports(&pp);
	parse_scope(&pp);
	sg_pp_classes(&pp);
	sg_pp_relays(&pp);
	sg_pp_relay_cap(&pp);
	parse_unregistered(&pp);
	parse_ban(&pp);
	parse_events(&pp);
	sg_pp_trusted(&pp, ts);
	if (ts->rc) {
		sg_policy_free(&p);
		return ts->rc;
	}
	if (d->n_errors != before) {
		sg_policy_free(&p);
		return -1;
	}
	sg_policy_trim(&p);
	*out = p;
	return 0;
}

/* The whole text as one tree: for the text the stream will not take
 * (a syntax error: jansson's message says where). */
static int parse_whole(const char *name, const char *json, size_t len,
		       const struct sg_load_opts *o, struct sg_policy *out, struct sg_diag *d)
{
	struct sg_trusted_source ts = { 0 };
	json_t *root = sg_j_parse(name, json, len, d);
	int rc;

	if (!root)
		return -1;
	rc = parse_root(name, root, &ts, o, out, d);
	json_decref(root);
	return rc;
}

/* The stream's way: the small text as a tree, trusted[] one element at
 * a time.  0, -1 (errors in d), SG_JS_FALLBACK or -errno. */
static int parse_split(const char *name, struct sg_jsrc *src, const struct sg_load_opts *o,
		       struct sg_policy *out, struct sg_diag *d)
{
	struct sg_jsplit sp;
	struct sg_trusted_source ts = { .split = &sp };
	struct sg_diag quiet = { 0 };
	json_error_t je;
	json_t *root;
	int rc;

	rc = sg_jsplit(src, &sp);
	if (rc)
		return rc;
	/* A "trusted" key the scanner did not take out (written with an
	 * escape, or not an array) is in the tree like any other. */
	if (sp.has_trusted)
		ts.src = src;
	root = json_loadb(sp.rest, sp.rest_len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		sg_jsplit_free(&sp);
		return SG_JS_FALLBACK;
	}
	/* Messages go to d only once the stream has read every element:
	 * should it fall back, the plain parse reports them instead. */
	rc = parse_root(name, root, &ts, o, out, &quiet);
	if (rc == 0 || rc == -1)
		for (size_t i = 0; i < quiet.n; i++)
			sg_diag_add(d, quiet.is_error[i], "%s", quiet.lines[i]);
	sg_diag_free(&quiet);
	json_decref(root);
	sg_jsplit_free(&sp);
	return rc;
}

int sg_policy_parse(const char *name, const char *json, size_t len,
		    const struct sg_load_opts *o, struct sg_policy *out, struct sg_diag *d)
{
	struct sg_diag local = { 0 };
	struct sg_jsrc src;
	int rc;

	sg_policy_init(out);
	if (!d)
		d = &local;
	sg_jsrc_init_mem(&src, json, len);
	rc = parse_split(name, &src, o, out, d);
	if (rc == SG_JS_FALLBACK)
		rc = parse_whole(name, json, len, o, out, d);
	sg_diag_free(&local);
	return rc ? -1 : 0;
}

/* policy.json through a window (json_stream.h): its text is never held
 * whole.  0, -1 (errors in d), or SG_JS_FALLBACK. */
static int load_streaming(const char *path, const struct sg_load_opts *o,
			  struct sg_policy *out, char *sha256_hex, struct sg_diag *d)
{
	struct sg_jsrc src;
	int rc;

	rc = sg_open_trusted_stream(path, o, sha256_hex != NULL, &src, d);
	if (rc == -ENOENT)
		sg_diag_add(d, true, "%s: no such file", path);
	if (rc)
		return -1;
	rc = parse_split(sg_basename(path), &src, o, out, d);
	if (rc == -EFBIG)
		sg_diag_add(d, true, "%s: grew beyond the limit of %u MiB while being read",
			    path, SG_MAX_FILE_BYTES >> 20);
	else if (rc == -ESTALE)
		sg_diag_add(d, true, "%s: changed while it was being read (written in place?); "
			    "nothing was loaded: write it to a new file and rename that over it, "
			    "then try again", path);
	else if (rc < -1)
		sg_diag_add(d, true, "%s: read error: %s", path, strerror(-rc));
	if (!rc && sha256_hex && sg_jsrc_sha256(&src, sha256_hex)) {
		sg_diag_add(d, true, "%s: cannot compute its sha256", path);
		sg_policy_free(out);
		rc = -1;
	}
	sg_close_trusted_stream(&src);
	if (rc && sha256_hex)
		sha256_hex[0] = '\0';
	return rc == SG_JS_FALLBACK ? rc : rc ? -1 : 0;
}

int sg_policy_load(const char *path, const struct sg_load_opts *o, struct sg_policy *out,
		   char *sha256_hex, struct sg_diag *d)
{
	struct sg_diag local = { 0 };
	size_t len = 0;
	char *buf = NULL;
	int rc;

	sg_policy_init(out);
	if (sha256_hex)
		sha256_hex[0] = '\0';
	if (!d)
		d = &local;
	rc = load_streaming(path, o, out, sha256_hex, d);
	if (rc != SG_JS_FALLBACK)
		goto out;
	/* Not well formed, most likely: read it whole, for jansson's message. */
	rc = sg_read_trusted_file(path, o, &buf, &len, d);
	if (rc == -ENOENT)
		sg_diag_add(d, true, "%s: no such file", path);
	if (rc)
		goto out;
	if (sha256_hex && sg_sha256_hex(buf, len, sha256_hex)) {
		sg_diag_add(d, true, "%s: cannot compute its sha256", path);
		rc = -1;
		goto out;
	}
	rc = parse_whole(sg_basename(path), buf, len, o, out, d);
out:
	free(buf);
	sg_diag_free(&local);
	return rc ? -1 : 0;
}
