// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * "store": {"etcd": {...}} of smtpgate.json: see store_config.h.  The
 * rules are the ones that keep a gateway from talking to the wrong place
 * or leaking its credentials: endpoints are literal http(s) URLs of a
 * host and port; a password only ever travels over https; the prefix is
 * a directory of its own ("/smtpgate/site/"), so that one site's
 * gateways never read another's records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "store_config.h"

#define ENDPOINT_MAX 256
#define PREFIX_MAX 128
#define USERNAME_MAX 64

void sg_store_config_free(struct sg_store_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->prefix);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->username);
	free(c->password_file);
	free(c->gateway);
	free(c);
}

static void set(struct sg_jctx *c, char **dst, const char *v)
{
	*dst = strdup(v);
	if (!*dst)
		sg_j_error(c, "out of memory");
}

/* "http[s]://host:port" with an optional trailing '/': host a name, an
 * IPv4 address or a bracketed IPv6 address; nothing else (no path, no
 * user info, no query). */
static const char *endpoint_problem(const char *s, bool *https)
{
	const char *host, *colon, *p;
	size_t n = strlen(s);

	if (n >= ENDPOINT_MAX)
		return "is too long";
	*https = !strncmp(s, "https://", 8);
	if (!*https && strncmp(s, "http://", 7))
		return "must start with https:// (or http://)";
	host = s + (*https ? 8 : 7);
	if (*host == '[') {
		colon = strchr(host, ']');
		if (!colon || colon[1] != ':')
			return "an IPv6 address needs brackets and a port ([2001:db8::1]:2379)";
		colon++;
	} else {
		colon = strchr(host, ':');
	}
	if (!colon || colon == host)
		return "needs a host and a port (https://HOST:2379)";
	for (p = host; p < colon; p++)
		if (!(*p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']' ||
		      (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			return "the host may only hold letters, digits, '.', '-' (or an IPv6 address)";
	p = colon + 1;
	{
		unsigned long port = 0;
		const char *d = p;

		for (; *p >= '0' && *p <= '9' && p - d < 6; p++)
			port = port * 10 + (unsigned long)(*p - '0');
		if (p == d || port < 1 || port > 65535)
			return "needs a port from 1 to 65535";
	}
	if (*p && strcmp(p, "/"))
		return "must be only scheme, host and port (no path)";
	return NULL;
}

static void parse_endpoints(struct sg_jctx *c, json_t *etcd, struct sg_store_config *cfg,
			    bool *all_https)
{
	json_t *arr, *v;
	size_t i, s0;

	*all_https = true;
	if (sg_j_get(c, etcd, "endpoints", JSON_ARRAY, true, &arr) <= 0)
		return;
	if (!json_array_size(arr) || json_array_size(arr) > SG_STORE_MAX_ENDPOINTS) {
		sg_j_error_at(c, "endpoints", "lists %zu endpoints; list 1 to %d (every member "
			      "of the cluster, for failover)", json_array_size(arr),
			      SG_STORE_MAX_ENDPOINTS);
		return;
	}
	cfg->endpoints = calloc(json_array_size(arr), sizeof(*cfg->endpoints));
	if (!cfg->endpoints) {
		sg_j_error(c, "out of memory");
		return;
	}
	s0 = sg_j_push_key(c, "endpoints");
	json_array_foreach(arr, i, v) {
		size_t s1 = sg_j_push_index(c, i);
		const char *why, *s = json_string_value(v);
		bool https = false;

		if (!s)
			sg_j_error(c, "must be a URL string like \"https://198.18.0.1:2379\"");
		else if ((why = endpoint_problem(s, &https)))
			sg_j_error(c, "\"%.80s\" %s", s, why);
		else
			set(c, &cfg->endpoints[cfg->n_endpoints++], s);
		*all_https &= https;
		for (size_t k = 0; s && k + 1 < cfg->n_endpoints; k++)
			if (!strcmp(cfg->endpoints[k], s))
				sg_j_error(c, "\"%.80s\" is listed twice", s);
		sg_j_pop(c, s1);
	}
	sg_j_pop(c, s0);
}

static bool prefix_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > PREFIX_MAX || s[0] != '/' || s[n - 1] != '/' || strstr(s, "//"))
		return false;
	for (; *s; s++)
		if (!(*s == '/' || *s == '_' || *s == '.' || *s == '-' ||
		      (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

static void parse_tls(struct sg_jctx *c, json_t *etcd, struct sg_store_config *cfg,
		      bool all_https)
{
	static const char *const keys[] = { "ca", "cert", "key", NULL };
	const char *s;
	json_t *tls;
	size_t s0;

	if (sg_j_get(c, etcd, "tls", JSON_OBJECT, false, &tls) <= 0)
		return;
	s0 = sg_j_push_key(c, "tls");
	sg_j_check_keys(c, tls, keys);
	if (sg_j_get_path(c, tls, "ca", false, &s) > 0)
		set(c, &cfg->ca, s);
	if (sg_j_get_path(c, tls, "cert", false, &s) > 0)
		set(c, &cfg->cert, s);
	if (sg_j_get_path(c, tls, "key", false, &s) > 0)
		set(c, &cfg->key, s);
	if (!json_object_get(tls, "cert") != !json_object_get(tls, "key"))
		sg_j_error(c, "cert and key go together (the client certificate and its key)");
	if (!all_https)
		sg_j_error(c, "is set, but not every endpoint is https://");
	sg_j_pop(c, s0);
}

static void parse_credentials(struct sg_jctx *c, json_t *etcd, struct sg_store_config *cfg,
			      bool all_https)
{
	const char *s;
	json_t *v;

	if (sg_j_get(c, etcd, "username", JSON_STRING, false, &v) > 0) {
		s = json_string_value(v);
		if (!*s || strlen(s) > USERNAME_MAX || !sg_name_chars_ok(s))
			sg_j_error_at(c, "username", "\"%.80s\" is not 1 to %d of A-Z a-z 0-9 _ . -",
				      s, USERNAME_MAX);
		else
			set(c, &cfg->username, s);
	}
	if (sg_j_get_path(c, etcd, "password_file", false, &s) > 0)
		set(c, &cfg->password_file, s);
	if (!json_object_get(etcd, "username") != !json_object_get(etcd, "password_file"))
		sg_j_error(c, "username and password_file go together");
	else if (json_object_get(etcd, "username") && !all_https)
		sg_j_error_at(c, "username", "needs https:// endpoints: the password would cross "
			      "the network in clear");
}

void sg_store_gateway_name(const struct sg_store_config *cfg, char *buf, size_t len)
{
	if (cfg && cfg->gateway) {
		snprintf(buf, len, "%s", cfg->gateway);
		return;
	}
	/* The short host name: what an operator calls the machine. */
	if (gethostname(buf, len - 1) || !buf[0])
		snprintf(buf, len, "unknown");
	buf[len - 1] = '\0';
	buf[strcspn(buf, ".")] = '\0';
	if (!sg_name_chars_ok(buf))
		snprintf(buf, len, "unknown");
}

void sg_store_config_parse(struct sg_jctx *c, json_t *root, struct sg_store_config **out)
{
	static const char *const store_keys[] = { "etcd", "gateway", NULL };
	static const char *const etcd_keys[] = {
		"endpoints", "prefix", "tls", "username", "password_file", "timeout_ms", NULL
	};
	size_t before = c->d->n_errors, s0, s1;
	struct sg_store_config *cfg;
	json_t *store, *etcd, *v;
	long long timeout;
	bool all_https;
	const char *s;

	*out = NULL;
	if (sg_j_get(c, root, "store", JSON_OBJECT, false, &store) <= 0)
		return;
	s0 = sg_j_push_key(c, "store");
	sg_j_check_keys(c, store, store_keys);
	if (sg_j_get(c, store, "etcd", JSON_OBJECT, true, &etcd) <= 0) {
		sg_j_pop(c, s0);
		return;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		sg_j_error(c, "out of memory");
		sg_j_pop(c, s0);
		return;
	}
	if (sg_j_get(c, store, "gateway", JSON_STRING, false, &v) > 0) {
		s = json_string_value(v);
		if (!*s || strlen(s) >= SG_STORE_GATEWAY_MAX || !sg_name_chars_ok(s))
			sg_j_error_at(c, "gateway", "\"%.80s\" is not 1 to %d of A-Z a-z 0-9 _ . -",
				      s, SG_STORE_GATEWAY_MAX - 1);
		else
			set(c, &cfg->gateway, s);
	}
	s1 = sg_j_push_key(c, "etcd");
	sg_j_check_keys(c, etcd, etcd_keys);
	parse_endpoints(c, etcd, cfg, &all_https);
	if (sg_j_get(c, etcd, "prefix", JSON_STRING, true, &v) > 0) {
		s = json_string_value(v);
		if (!prefix_ok(s))
			sg_j_error_at(c, "prefix", "\"%.80s\" must be a directory like "
				      "\"/smtpgate/site-a/\": 3 to %d of A-Z a-z 0-9 _ . - /, "
				      "starting and ending with '/', no \"//\"", s, PREFIX_MAX);
		else
			set(c, &cfg->prefix, s);
	}
	parse_tls(c, etcd, cfg, all_https);
	parse_credentials(c, etcd, cfg, all_https);
	cfg->timeout_ms = SG_STORE_DEFAULT_TIMEOUT_MS;
	if (sg_j_get_int(c, etcd, "timeout_ms", false, 100, 60000, &timeout) > 0)
		cfg->timeout_ms = (unsigned)timeout;
	sg_j_pop(c, s1);
	sg_j_pop(c, s0);
	if (c->d->n_errors != before) {
		sg_store_config_free(cfg);
		return;
	}
	*out = cfg;
}
