// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the policy loader, JSON text -> validated policy ->
 * compiled tables (config, prefix lengths, relay table, trusted values),
 * all that happens before sg_dp_apply() touches a map.  Properties: an
 * accepted policy is within the ABI's limits and its compiled tables
 * hold exactly what it says (every relay key present, groups in range,
 * prefix lengths listed, classes resolved).
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

		fz_check(t->class_idx == SG_NO_CLASS || t->class_idx < p->n_classes,
			 "trusted[%zu] class %u of %zu", i, t->class_idx, p->n_classes);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_load_opts o = { .allow_any_owner = true, .now_unix = 1760000000 };
	struct sg_policy p;
	struct sg_diag d = { 0 };
	int rc;

	rc = sg_policy_parse("policy.json", (const char *)data, size, &o, &p, &d);
	fz_check((rc == 0) == (d.n_errors == 0), "rc %d with %zu errors", rc, d.n_errors);
	if (!rc) {
		check_compiled(&p);
		sg_policy_free(&p);
	}
	sg_diag_free(&d);
	return 0;
}
