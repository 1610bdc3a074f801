// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the policy loader, JSON text -> validated policy ->
 * compiled tables (config, prefix lengths, relay table, trusted values),
 * all that happens before sg_dp_apply() touches a map.  Properties: an
 * accepted policy is within the ABI's limits and its compiled tables
 * hold exactly what it says (every relay key present, groups in range,
 * prefix lengths listed, classes resolved).  And the streamed read of
 * trusted[] (json_stream.h) loads what the whole tree does: the input
 * with its "trusted" key written "\u0074rusted" (which the scanner does
 * not take out) must give the same result and messages, syntax errors
 * aside (their line and column move with the longer key).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include "fuzz_common.h"
#include "compile.h"
#include "load.h"
#include "policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static bool lens_has(const __u8 *lens, unsigned n, unsigned len)
{
	for (unsigned i = 0; i < n && i < SG_MAX_PREFIX_LENS; i++)
		if (lens[i] == len)
			return true;
	return false;
}

static void check_compiled(const struct sg_policy *p)
{
	static struct sg_config cfg;
	struct sg_relay_entry *relays = NULL;
	long n;

	memset(&cfg, 0, sizeof(cfg));
	sg_compile_config(p, 1, &cfg);
	fz_check(p->n_groups <= SG_MAX_GROUPS && p->n_classes <= SG_MAX_CLASSES &&
		 p->n_scope <= SG_MAX_SCOPE && p->n_trusted <= SG_MAX_TRUSTED,
		 "accepted policy beyond the ABI limits");
	fz_check(cfg.n_net_lens <= SG_MAX_PREFIX_LENS && cfg.n_scope_lens <= SG_MAX_PREFIX_LENS,
		 "too many prefix lengths");
	for (size_t i = 0; i < p->n_ports; i++) {
		uint16_t wire = sg_port_wire(p->ports[i]);

		fz_check(cfg.ports[wire / 64] >> (wire % 64) & 1, "port %u not in the bitmap",
			 p->ports[i]);
	}
	for (size_t i = 0; i < p->n_scope; i++)
		fz_check(lens_has(cfg.scope_lens, cfg.n_scope_lens, p->scope[i].len),
			 "scope length %u not listed", p->scope[i].len);
	for (size_t i = 0; i < p->n_trusted; i++) {
		const struct sg_trusted_entry *t = &p->trusted[i];
		struct sg_trusted v;

		fz_check(sg_entry_class(t) == SG_NO_CLASS || sg_entry_class(t) < p->n_classes,
			 "trusted[%zu] class %u of %zu", i, sg_entry_class(t), p->n_classes);
		fz_check(p->n_groups == 64 || !(t->groups >> p->n_groups),
			 "trusted[%zu] groups beyond the %zu groups", i, p->n_groups);
		if (!sg_prefix_is_host(&t->prefix))
			fz_check(lens_has(cfg.net_lens, cfg.n_net_lens, t->prefix.len),
				 "trusted length %u not listed", t->prefix.len);
		memset(&v, 0, sizeof(v));
		sg_compile_trusted(t, &v);
	}
	n = sg_compile_relays(p, &relays);
	fz_check(n >= 0 && n <= SG_MAX_RELAY_KEYS, "relay table of %ld entries", n);
	for (size_t g = 0; g < p->n_groups; g++) {
		for (size_t r = 0; r < p->groups[g].n_relays; r++) {
			const struct sg_relay *rl = &p->groups[g].relays[r];
			size_t np = rl->n_ports ? rl->n_ports : p->n_ports;
			const uint16_t *ports = rl->n_ports ? rl->ports : p->ports;

			for (size_t k = 0; k < np; k++) {
				bool found = false;

				for (long e = 0; e < n && !found; e++)
					found = !memcmp(&relays[e].key.addr, &rl->addr,
							sizeof(rl->addr)) &&
						relays[e].key.port == ports[k] &&
						(relays[e].groups >> g & 1);
				fz_check(found, "relay of group %zu, port %u missing from the table",
					 g, ports[k]);
			}
		}
	}
	free(relays);
}

/* data with every "trusted" written "\u0074rusted" (malloc'd). */
static char *tree_variant(const uint8_t *data, size_t size, size_t *len)
{
	char *out = malloc(2 * size + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < size;) {
		if (size - i >= 9 && !memcmp(data + i, "\"trusted\"", 9)) {
			memcpy(out + o, "\"\\u0074rusted\"", 14);
			o += 14;
			i += 9;
		} else {
			out[o++] = (char)data[i++];
		}
	}
	*len = o;
	return out;
}

static bool syntax_error(const struct sg_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->lines[i], ": line ") && strstr(d->lines[i], ", column "))
			return true;
	return false;
}

static void check_same_as_tree(const uint8_t *data, size_t size, int rc, const struct sg_policy *p,
			       const struct sg_diag *d)
{
	struct sg_load_opts o = { .allow_any_owner = true, .now_unix = 1760000000 };
	struct sg_diag dt = { 0 };
	struct sg_policy pt;
	size_t len;
	char *text = tree_variant(data, size, &len);
	int rt;

	if (!text)
		return;
	rt = sg_policy_parse("policy.json", text, len, &o, &pt, &dt);
	if (!syntax_error(d) && !syntax_error(&dt)) {
		fz_check(rc == rt, "streamed rc %d, tree rc %d", rc, rt);
		fz_check(d->n == dt.n, "streamed %zu messages, tree %zu", d->n, dt.n);
		for (size_t i = 0; i < d->n && i < dt.n; i++)
			fz_check(!strcmp(d->lines[i], dt.lines[i]), "message %zu: \"%s\" / \"%s\"", i,
				 d->lines[i], dt.lines[i]);
		if (!rc && !rt) {
			fz_check(p->n_trusted == pt.n_trusted, "%zu entries streamed, %zu tree",
				 p->n_trusted, pt.n_trusted);
			for (size_t i = 0; i < p->n_trusted && i < pt.n_trusted; i++)
				fz_check(sg_prefix_equal(&p->trusted[i].prefix, &pt.trusted[i].prefix) &&
						 p->trusted[i].groups == pt.trusted[i].groups &&
						 p->trusted[i].rate_class == pt.trusted[i].rate_class &&
						 p->trusted[i].expires == pt.trusted[i].expires,
					 "trusted[%zu] differs", i);
		}
	}
	if (!rt)
		sg_policy_free(&pt);
	sg_diag_free(&dt);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_load_opts o = { .allow_any_owner = true, .now_unix = 1760000000 };
	struct sg_policy p;
	struct sg_diag d = { 0 };
	int rc;

	rc = sg_policy_parse("policy.json", (const char *)data, size, &o, &p, &d);
	fz_check((rc == 0) == (d.n_errors == 0), "rc %d with %zu errors", rc, d.n_errors);
	check_same_as_tree(data, size, rc, &p, &d);
	if (!rc) {
		check_compiled(&p);
		sg_policy_free(&p);
	}
	sg_diag_free(&d);
	return 0;
}
