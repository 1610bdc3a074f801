// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "compile.h"

#define NS_PER_SEC 1e9

void sg_compile_rate(double per_sec, double burst, __u64 *cost, __u64 *tau_ns)
{
	double ns_per_unit;

	if (per_sec <= 0) {
		*cost = 0;
		*tau_ns = 0;
		return;
	}
	if (burst <= 0)
		burst = per_sec < 1 ? 1 : per_sec;
	ns_per_unit = NS_PER_SEC / per_sec;
	*cost = (__u64)llround(ns_per_unit * (double)(1u << SG_RATE_SHIFT));
	if (!*cost)
		*cost = 1;
	*tau_ns = (__u64)llround(ns_per_unit * burst);
	if (!*tau_ns)
		*tau_ns = 1;
}

static void compile_class(const struct sg_rate_class *c, struct sg_rate *r)
{
	sg_compile_rate(c->conn_per_sec, c->conn_burst, &r->conn_cost, &r->conn_tau_ns);
	sg_compile_rate(c->bytes_per_sec, c->bytes_burst, &r->byte_cost, &r->byte_tau_ns);
}

/* Adds len to the descending list lens[*n] unless it is there. */
static void add_len(__u8 *lens, __u8 *n, unsigned len)
{
	unsigned i;

	for (i = 0; i < *n; i++)
		if (lens[i] == len)
			return;
	if (*n >= SG_MAX_PREFIX_LENS)
		return; /* the loaders refuse more lengths than that */
	for (i = *n; i > 0 && lens[i - 1] < len; i--)
		lens[i] = lens[i - 1];
	lens[i] = (__u8)len;
	(*n)++;
}

void sg_compile_prefix_lens(const struct sg_policy *p, struct sg_config *cfg)
{
	cfg->n_net_lens = 0;
	cfg->n_scope_lens = 0;
	for (size_t i = 0; i < p->n_scope; i++)
		add_len(cfg->scope_lens, &cfg->n_scope_lens, p->scope[i].len);
	for (size_t i = 0; i < p->n_trusted; i++)
		if (!sg_prefix_is_host(&p->trusted[i].prefix))
			add_len(cfg->net_lens, &cfg->n_net_lens, p->trusted[i].prefix.len);
}

void sg_compile_config(const struct sg_policy *p, __u64 generation, struct sg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->generation = generation;
	cfg->mode = (__u32)p->mode;
	cfg->unreg_action = (__u32)p->unreg_action;
	cfg->unreg_class = p->unreg_class;
	sg_compile_prefix_lens(p, cfg);
	if (p->ban_enabled && p->ban_violations) {
		cfg->flags |= SG_CFG_BAN_AUTO;
		cfg->ban_violations = p->ban_violations;
		cfg->ban_window_ns = (__u64)llround(p->ban_window_sec * NS_PER_SEC);
		cfg->ban_duration_ns = (__u64)llround(p->ban_duration_sec * NS_PER_SEC);
	}
	cfg->event_interval_ns = (__u64)llround(p->event_interval_sec * NS_PER_SEC);
	cfg->event_budget = p->event_budget;
	cfg->source_budget = p->source_budget;
	cfg->blocked_budget = p->blocked_budget;
	for (size_t i = 0; i < p->n_classes && i < SG_MAX_CLASSES; i++)
		compile_class(&p->classes[i], &cfg->classes[i]);
	for (size_t g = 0; g < p->n_groups && g < SG_MAX_GROUPS; g++) {
		sg_compile_rate(p->groups[g].cap_conn_per_sec, p->groups[g].cap_conn_burst,
				&cfg->relay_cap[g].conn_cost, &cfg->relay_cap[g].conn_tau_ns);
		if (cfg->relay_cap[g].conn_cost) {
			double rate = p->groups[g].cap_conn_per_sec, burst = p->groups[g].cap_conn_burst;

			cfg->flags |= SG_CFG_RELAY_CAPS;
			/* Unregistered sources' share: 1/SG_UNREG_CAP_SHARE of the
			 * rate and of the burst, at least one connection at once. */
			if (burst <= 0)
				burst = rate < 1 ? 1 : rate;
			burst /= SG_UNREG_CAP_SHARE;
			sg_compile_rate(rate / SG_UNREG_CAP_SHARE, burst < 1 ? 1 : burst,
					&cfg->relay_cap_unreg[g].conn_cost,
					&cfg->relay_cap_unreg[g].conn_tau_ns);
		}
	}
	for (size_t i = 0; i < p->n_ports; i++) {
		uint16_t wire = sg_port_wire(p->ports[i]);

		cfg->ports[wire >> 6] |= 1ull << (wire & 63);
	}
}

static int relay_key_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct sg_relay_entry *)a)->key,
		      &((const struct sg_relay_entry *)b)->key, sizeof(struct sg_relay_key));
}

long sg_compile_relays(const struct sg_policy *p, struct sg_relay_entry **out)
{
	struct sg_relay_entry *e = NULL;
	size_t n = 0, cap = 0, merged = 0;

	for (size_t g = 0; g < p->n_groups && g < SG_MAX_GROUPS; g++) {
		const struct sg_relay_group *grp = &p->groups[g];

		for (size_t r = 0; r < grp->n_relays; r++) {
			const struct sg_relay *rl = &grp->relays[r];
			const uint16_t *ports = rl->n_ports ? rl->ports : p->ports;
			size_t np = rl->n_ports ? rl->n_ports : p->n_ports;

			for (size_t i = 0; i < np; i++) {
				if (n == cap) {
					void *m;

					cap = cap ? cap * 2 : 64;
					m = realloc(e, cap * sizeof(*e));
					if (!m) {
						free(e);
						return -ENOMEM;
					}
					e = m;
				}
				memset(&e[n], 0, sizeof(e[n]));
				e[n].key.addr = rl->addr;
				e[n].key.port = ports[i];
				e[n].groups = 1ull << g;
				n++;
			}
		}
	}
	if (n)
		qsort(e, n, sizeof(*e), relay_key_cmp);
	for (size_t i = 0; i < n; i++) {
		if (merged && !relay_key_cmp(&e[merged - 1], &e[i]))
			e[merged - 1].groups |= e[i].groups;
		else
			e[merged++] = e[i];
	}
	*out = e;
	return (long)merged;
}

void sg_compile_trusted(const struct sg_trusted_entry *t, struct sg_trusted *out)
{
	memset(out, 0, sizeof(*out));
	out->relay_groups = t->groups;
	out->expires_ns = sg_deadline_from_unix(t->expires);
	out->class_idx = sg_entry_class(t);
}
