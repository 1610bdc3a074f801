// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The host config (smtpgate.json -> struct sg_host_config): its
 * defaults, its loader and freeing it.  A file is parsed into a fresh
 * config (defaults first) and handed over only when there was no error,
 * so a refused file leaves the caller's config as it was.  The
 * metrics.listen address parser is listen_addr.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include "dataplane.h"
#include "load_internal.h"
#include "store/store_config.h"
#include "usage_file.h"

void sg_host_config_init(struct sg_host_config *c)
{
	memset(c, 0, sizeof(*c));
	/* Every string is owned (strdup'ed) so that free and replace never
	 * need to know whether a value is a default. */
	c->policy_path = strdup(SG_DEFAULT_POLICY_PATH);
	c->metrics_listen = strdup(SG_DEFAULT_METRICS_LISTEN);
	c->top_sources = SG_DEFAULT_TOP_SOURCES;
	c->expiry_series = SG_DEFAULT_EXPIRY_SERIES;
	c->control_socket = strdup(SG_DEFAULT_CONTROL_SOCKET);
	c->admin_group = strdup(SG_DEFAULT_ADMIN_GROUP);
	c->read_group = strdup(SG_DEFAULT_READ_GROUP);
	c->pin_dir = strdup(SG_DEFAULT_PIN_DIR);
	c->state_dir = strdup(SG_DEFAULT_STATE_DIR);
	c->log_dir = strdup(SG_DEFAULT_LOG_DIR);
	c->history_retention_days = SG_DEFAULT_RETENTION_DAYS;
	c->history_top_sources = SG_DEFAULT_HISTORY_TOP;
}

void sg_host_config_free(struct sg_host_config *c)
{
	free(c->path);
	free(c->policy_path);
	free(c->ifaces);
	free(c->metrics_listen);
	free(c->metrics_textfile);
	free(c->control_socket);
	free(c->admin_group);
	free(c->read_group);
	free(c->pin_dir);
	free(c->state_dir);
	free(c->log_dir);
	sg_store_config_free(c->store);
	memset(c, 0, sizeof(*c));
}

static const char *const config_keys[] = {
	"policy", "interfaces", "metrics", "control", "paths", "store", "history", NULL
};

struct config_parse {
	struct sg_jctx c;
	json_t *root;
	struct sg_host_config *cfg;
};

/* Replaces an owned string. */
static void set_str(struct sg_jctx *c, char **dst, const char *value)
{
	char *n = strdup(value);

	if (!n) {
		sg_j_error(c, "out of memory");
		return;
	}
	free(*dst);
	*dst = n;
}

/* An optional absolute path at key of obj into *dst. */
static void get_path(struct sg_jctx *c, json_t *obj, const char *key, char **dst)
{
	const char *s;

	if (sg_j_get_path(c, obj, key, false, &s) > 0)
		set_str(c, dst, s);
}

/* Linux's own rule (dev_valid_name), so a name the kernel would refuse
 * is caught here with the file and path. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= SG_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
			return false;
	return true;
}

/* Unix group names as shadow-utils accepts them, without resolving them
 * (the group may be created after the config is written). */
static bool valid_group(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 32 && s[0] != '-' && sg_name_chars_ok(s);
}

static void parse_iface(struct config_parse *cp, json_t *v, struct sg_iface_cfg *ifc)
{
	static const char *const keys[] = { "name", "hook", "xdp_mode", NULL };
	static const char *const hooks[] = { "xdp", "tc-ingress", "tc-egress", NULL };
	static const int hook_values[] = { SG_HOOK_XDP, SG_HOOK_TC_INGRESS, SG_HOOK_TC_EGRESS };
	static const char *const modes[] = { "auto", "native", "generic", NULL };
	static const int mode_values[] = { SG_XDP_AUTO, SG_XDP_NATIVE, SG_XDP_GENERIC };
	struct sg_jctx *c = &cp->c;
	int hook = -1, mode;
	const char *name;
	char buf[64];
	json_t *n;

	memset(ifc, 0, sizeof(*ifc));
	if (!json_is_object(v)) {
		sg_j_error(c, "must be an object like {\"name\": \"srv0\", \"hook\": \"xdp\"}, "
			   "not %s", sg_j_describe(v, buf, sizeof(buf)));
		return;
	}
	sg_j_check_keys(c, v, keys);
	if (sg_j_get(c, v, "name", JSON_STRING, true, &n) > 0) {
		name = json_string_value(n);
		if (!valid_ifname(name))
			sg_j_error_at(c, "name", "\"%.64s\" is not an interface name (1 to %d "
				      "characters, no '/', ':' or spaces)", name, SG_IFNAME_MAX - 1);
		else
			memcpy(ifc->name, name, strlen(name) + 1);
	}
	if (sg_j_get_enum(c, v, "hook", true, hooks, &hook) > 0)
		ifc->hook = hook_values[hook];
	ifc->xdp_mode = SG_XDP_AUTO;
	if (json_object_get(v, "xdp_mode") && hook >= 0 && hook_values[hook] != SG_HOOK_XDP)
		sg_j_error_at(c, "xdp_mode", "only allowed with hook \"xdp\"");
	else if (sg_j_get_enum(c, v, "xdp_mode", false, modes, &mode) > 0)
		ifc->xdp_mode = mode_values[mode];
}

static void parse_interfaces(struct config_parse *cp)
{
	static const char *const hook_names[] = {
		[SG_HOOK_XDP] = "xdp", [SG_HOOK_TC_INGRESS] = "tc-ingress",
		[SG_HOOK_TC_EGRESS] = "tc-egress",
	};
	struct sg_jctx *c = &cp->c;
	size_t *index, n = 0, i, s0;
	json_t *arr, *v;
	int rc;

	rc = sg_j_get(c, cp->root, "interfaces", JSON_ARRAY, false, &arr);
	if (rc < 0)
		return;
	if (rc == 0 || !json_array_size(arr)) {
		sg_j_warn(c, "no interfaces: nothing will be enforced");
		return;
	}
	s0 = sg_j_push_key(c, "interfaces");
	if (json_array_size(arr) > SG_MAX_ATTACH) {
		sg_j_error(c, "lists %zu attachments, at most %d", json_array_size(arr),
			   SG_MAX_ATTACH);
		sg_j_pop(c, s0);
		return;
	}
	cp->cfg->ifaces = calloc(json_array_size(arr), sizeof(*cp->cfg->ifaces));
	index = calloc(json_array_size(arr), sizeof(*index));
	if (!cp->cfg->ifaces || !index) {
		sg_j_error(c, "out of memory");
		free(index);
		sg_j_pop(c, s0);
		return;
	}
	json_array_foreach(arr, i, v) {
		size_t s1 = sg_j_push_index(c, i);
		struct sg_iface_cfg *ifc = &cp->cfg->ifaces[n];

		parse_iface(cp, v, ifc);
		for (size_t k = 0; ifc->name[0] && ifc->hook && k < n; k++)
			if (!strcmp(cp->cfg->ifaces[k].name, ifc->name) &&
			    cp->cfg->ifaces[k].hook == ifc->hook)
				sg_j_error(c, "%s with hook %s is listed twice (interfaces[%zu] and "
					   "interfaces[%zu])", ifc->name, hook_names[ifc->hook],
					   index[k], i);
		if (ifc->name[0] && ifc->hook)
			index[n++] = i;
		sg_j_pop(c, s1);
	}
	cp->cfg->n_ifaces = n;
	free(index);
	sg_j_pop(c, s0);
}

_Static_assert(SG_MAX_EXPIRY_SERIES == SG_MAX_TRUSTED, "expiry_series: at most every entry");

static void parse_metrics(struct config_parse *cp)
{
	static const char *const keys[] = { "listen", "top_sources", "expiry_series", "textfile",
					    NULL };
	struct sg_jctx *c = &cp->c;
	struct sg_err err = { 0 };
	long long top;
	json_t *obj, *v;
	size_t s0;

	if (sg_j_get(c, cp->root, "metrics", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "metrics");
	sg_j_check_keys(c, obj, keys);
	if (sg_j_get(c, obj, "listen", JSON_STRING, false, &v) > 0) {
		const char *s = json_string_value(v);

		if (strcmp(s, "off") && sg_parse_listen(s, NULL, NULL, &err))
			sg_j_error_at(c, "listen", "%s", err.msg);
		else
			set_str(c, &cp->cfg->metrics_listen, s);
	}
	if (sg_j_get_int(c, obj, "top_sources", false, 1, SG_MAX_TOP_SOURCES, &top) > 0)
		cp->cfg->top_sources = (unsigned)top;
	if (sg_j_get_int(c, obj, "expiry_series", false, 0, SG_MAX_EXPIRY_SERIES, &top) > 0)
		cp->cfg->expiry_series = (unsigned)top;
	get_path(c, obj, "textfile", &cp->cfg->metrics_textfile);
	sg_j_pop(c, s0);
}

static void get_group(struct sg_jctx *c, json_t *obj, const char *key, char **dst)
{
	json_t *v;

	if (sg_j_get(c, obj, key, JSON_STRING, false, &v) <= 0)
		return;
	if (!valid_group(json_string_value(v)))
		sg_j_error_at(c, key, "\"%.64s\" is not a group name (1 to 32 of A-Z a-z 0-9 "
			      "_ . -, not starting with -)", json_string_value(v));
	else
		set_str(c, dst, json_string_value(v));
}

static void parse_control(struct config_parse *cp)
{
	static const char *const keys[] = { "socket", "admin_group", "read_group", NULL };
	struct sg_jctx *c = &cp->c;
	struct sockaddr_un sun;
	const char *s;
	json_t *obj;
	size_t s0;

	if (sg_j_get(c, cp->root, "control", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "control");
	sg_j_check_keys(c, obj, keys);
	if (sg_j_get_path(c, obj, "socket", false, &s) > 0) {
		if (strlen(s) >= sizeof(sun.sun_path))
			sg_j_error_at(c, "socket", "is %zu characters long; a unix socket path "
				      "has at most %zu", strlen(s), sizeof(sun.sun_path) - 1);
		else
			set_str(c, &cp->cfg->control_socket, s);
	}
	get_group(c, obj, "admin_group", &cp->cfg->admin_group);
	get_group(c, obj, "read_group", &cp->cfg->read_group);
	sg_j_pop(c, s0);
}

static void parse_paths(struct config_parse *cp)
{
	static const char *const keys[] = { "pin_dir", "state_dir", "log_dir", NULL };
	struct sg_jctx *c = &cp->c;
	json_t *obj;
	size_t s0;

	if (sg_j_get(c, cp->root, "paths", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "paths");
	sg_j_check_keys(c, obj, keys);
	get_path(c, obj, "pin_dir", &cp->cfg->pin_dir);
	get_path(c, obj, "state_dir", &cp->cfg->state_dir);
	get_path(c, obj, "log_dir", &cp->cfg->log_dir);
	sg_j_pop(c, s0);
}

/* "history": how long the usage history is kept, how many sources a day
 * keeps. */
static void parse_history(struct config_parse *cp)
{
	static const char *const keys[] = { "retention_days", "top_sources", NULL };
	struct sg_jctx *c = &cp->c;
	long long v;
	json_t *obj;
	size_t s0;

	if (sg_j_get(c, cp->root, "history", JSON_OBJECT, false, &obj) <= 0)
		return;
	s0 = sg_j_push_key(c, "history");
	sg_j_check_keys(c, obj, keys);
	if (sg_j_get_int(c, obj, "retention_days", false, 1, SG_MAX_RETENTION_DAYS, &v) > 0)
		cp->cfg->history_retention_days = (unsigned)v;
	if (sg_j_get_int(c, obj, "top_sources", false, 1, SG_MAX_TOP_SOURCES, &v) > 0)
		cp->cfg->history_top_sources = (unsigned)v;
	sg_j_pop(c, s0);
}

/* The whole document into *cfg (already holding the defaults). */
static void parse_config(struct config_parse *cp)
{
	get_path(&cp->c, cp->root, "policy", &cp->cfg->policy_path);
	parse_interfaces(cp);
	parse_metrics(cp);
	parse_control(cp);
	parse_paths(cp);
	parse_history(cp);
	sg_store_config_parse(&cp->c, cp->root, &cp->cfg->store);
}

int sg_config_load(const char *path, const struct sg_load_opts *o, struct sg_host_config *out,
		   struct sg_diag *d)
{
	struct sg_diag local = { 0 };
	struct sg_host_config cfg;
	struct config_parse cp;
	size_t before, len = 0;
	char *buf = NULL;
	int rc;

	if (!d)
		d = &local;
	before = d->n_errors;
	sg_host_config_init(&cfg);
	memset(&cp, 0, sizeof(cp));
	cp.cfg = &cfg;
	sg_j_init(&cp.c, sg_basename(path), d);
	rc = sg_read_trusted_file(path, o, &buf, &len, d);
	if (rc == -ENOENT)
		sg_diag_add(d, true, "%s: no such file", path);
	if (rc)
		goto out;
	cp.root = sg_j_parse(cp.c.file, buf, len, d);
	if (!cp.root)
		goto out;
	if (!json_is_object(cp.root)) {
		sg_j_error(&cp.c, "the top level must be a JSON object ({...})");
		goto out;
	}
	sg_j_check_keys(&cp.c, cp.root, config_keys);
	parse_config(&cp);
	set_str(&cp.c, &cfg.path, path);
	if (!cfg.policy_path || !cfg.metrics_listen || !cfg.control_socket || !cfg.admin_group ||
	    !cfg.read_group || !cfg.pin_dir || !cfg.state_dir || !cfg.log_dir)
		sg_j_error(&cp.c, "out of memory");
out:
	rc = d->n_errors == before ? 0 : -1;
	if (!rc) {
		sg_host_config_free(out);
		*out = cfg;
	} else {
		sg_host_config_free(&cfg);
	}
	json_decref(cp.root);
	free(buf);
	sg_diag_free(&local);
	return rc;
}
