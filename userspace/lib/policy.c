// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"
#include "prefault.h"
#include "policy_index.h"
#include "strpool.h"

void sg_policy_init(struct sg_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = SG_MODE_ENFORCE;
	p->unreg_action = SG_UNREG_DROP;
	p->unreg_class = SG_NO_CLASS;
	p->event_interval_sec = SG_DEFAULT_EVENT_INTERVAL_SEC;
	p->event_budget = SG_DEFAULT_EVENT_BUDGET;
	p->source_budget = SG_DEFAULT_SOURCE_BUDGET;
	p->blocked_budget = SG_DEFAULT_BLOCKED_BUDGET;
}

void sg_policy_free(struct sg_policy *p)
{
	for (size_t i = 0; i < p->n_groups; i++) {
		for (size_t j = 0; j < p->groups[i].n_relays; j++)
			free(p->groups[i].relays[j].ports);
		free(p->groups[i].relays);
	}
	for (size_t i = 0; i < p->n_trusted; i++)
		sg_trusted_entry_free(&p->trusted[i]);
	free(p->groups);
	free(p->classes);
	free(p->ports);
	free(p->scope);
	free(p->trusted);
	sg_policy_index_free(p->index);
	sg_strpool_free(p->strings);
	sg_policy_init(p);
}

static void note_expiry(struct sg_policy *p, int64_t expires)
{
	if (expires && (!p->next_expiry || expires < p->next_expiry))
		p->next_expiry = expires;
}

/* Out of memory for the index: drop it, lookups fall back to a scan. */
static void index_add(struct sg_policy *p, const struct sg_trusted_entry *e)
{
	if (p->index && sg_policy_index_joined(p->index, p, e)) {
		sg_policy_index_free(p->index);
		p->index = NULL;
	}
}

/* The entry filled in at n_trusted joins the policy: counted, indexed,
 * its expiry noted. */
static void join(struct sg_policy *p)
{
	struct sg_trusted_entry *e = &p->trusted[p->n_trusted++];

	p->n_approvals += e->origin == SG_ORIGIN_APPROVAL;
	index_add(p, e);
	note_expiry(p, e->expires);
}

int sg_policy_index(struct sg_policy *p)
{
	if (p->index)
		return 0;
	p->index = sg_policy_index_build(p);
	return p->index ? 0 : -ENOMEM;
}

bool sg_policy_is_shadowed(const struct sg_policy *p, const struct sg_trusted_entry *t)
{
	if (t->origin != SG_ORIGIN_APPROVAL)
		return false;
	/* Exact for the prefixes of p's approvals; for another (an entry
	 * not yet in p), "no" when the filter rules it out, else the scan. */
	if (p->index && sg_policy_index_has_approval(p->index, &t->prefix))
		return sg_policy_index_shadowed(p->index, &t->prefix);
	if (p->index && !sg_policy_index_may_have(p->index, &t->prefix))
		return false;
	for (size_t i = 0; i < p->n_trusted; i++)
		if (p->trusted[i].origin == SG_ORIGIN_POLICY &&
		    sg_prefix_equal(&p->trusted[i].prefix, &t->prefix))
			return true;
	return false;
}

int sg_policy_add_trusted(struct sg_policy *p, const struct sg_trusted_entry *t)
{
	struct sg_trusted_entry *e;

	if (p->n_trusted == p->cap_trusted) {
		size_t cap = p->cap_trusted ? p->cap_trusted * 2 : 16;
		void *n = realloc(p->trusted, cap * sizeof(*p->trusted));

		if (!n)
			return -ENOMEM;
		p->trusted = n;
		p->cap_trusted = cap;
	}
	e = &p->trusted[p->n_trusted];
	if (sg_trusted_entry_copy(e, t))
		return -ENOMEM;
	join(p);
	return 0;
}

int sg_policy_reserve_trusted(struct sg_policy *p, size_t n)
{
	void *t;

	if (p->n_trusted + n <= p->cap_trusted)
		return 0;
	t = realloc(p->trusted, (p->n_trusted + n) * sizeof(*p->trusted));
	if (!t)
		return -ENOMEM;
	p->trusted = t;
	p->cap_trusted = p->n_trusted + n;
	/* Reserved for entries about to be added (the loader reserves for
	 * every element of trusted[]). */
	sg_prefault(p->trusted + p->n_trusted, n * sizeof(*p->trusted));
	return 0;
}

void sg_policy_trim(struct sg_policy *p)
{
	void *t;

	if (!p->n_trusted || p->n_trusted == p->cap_trusted)
		return;
	t = realloc(p->trusted, p->n_trusted * sizeof(*p->trusted));
	if (t) {
		p->trusted = t;
		p->cap_trusted = p->n_trusted;
	}
}

int sg_policy_add_trusted_pooled(struct sg_policy *p, const struct sg_trusted_entry *t)
{
	struct sg_trusted_entry *e;

	if (!p->strings && !(p->strings = sg_strpool_new()))
		return -ENOMEM;
	if (p->n_trusted == p->cap_trusted && sg_policy_reserve_trusted(p, p->cap_trusted ?
								       p->cap_trusted : 16))
		return -ENOMEM;
	e = &p->trusted[p->n_trusted];
	if (sg_trusted_entry_copy_pooled(e, t, p->strings))
		return -ENOMEM;
	join(p);
	return 0;
}

int sg_policy_fill_trusted(struct sg_policy *p, size_t i, const struct sg_trusted_entry *t,
			   struct sg_strpool *sp)
{
	if (p->n_trusted + i >= p->cap_trusted)
		return -ENOMEM;
	return sg_trusted_entry_copy_pooled(&p->trusted[p->n_trusted + i], t, sp);
}

int sg_policy_commit_trusted(struct sg_policy *p, size_t n, struct sg_strpool **sp,
			     size_t n_pools)
{
	if (!p->strings && !(p->strings = sg_strpool_new()))
		return -ENOMEM;
	for (size_t k = 0; k < n_pools; k++)
		sg_strpool_adopt(p->strings, sp[k]);
	for (size_t i = 0; i < n; i++)
		join(p);
	return 0;
}

long sg_policy_find_trusted(const struct sg_policy *p, const struct sg_prefix *prefix)
{
	if (p->index && !sg_policy_index_may_have(p->index, prefix))
		return -1;
	for (size_t i = 0; i < p->n_trusted; i++)
		if (sg_prefix_equal(&p->trusted[i].prefix, prefix))
			return (long)i;
	return -1;
}

long sg_policy_find_approval(const struct sg_policy *p, const struct sg_prefix *prefix)
{
	if (p->index && !sg_policy_index_has_approval(p->index, prefix))
		return -1;
	/* From the end: approvals join after policy.json's entries, so a
	 * million of those are not passed to find one. */
	for (size_t i = p->n_trusted; i-- > 0;)
		if (p->trusted[i].origin == SG_ORIGIN_APPROVAL &&
		    sg_prefix_equal(&p->trusted[i].prefix, prefix))
			return (long)i;
	return -1;
}

void sg_policy_remove_trusted(struct sg_policy *p, size_t i)
{
	if (i >= p->n_trusted)
		return;
	if (p->index)
		sg_policy_index_leaving(p->index, &p->trusted[i]);
	p->n_approvals -= p->trusted[i].origin == SG_ORIGIN_APPROVAL;
	sg_trusted_entry_free(&p->trusted[i]);
	memmove(&p->trusted[i], &p->trusted[i + 1],
		(p->n_trusted - i - 1) * sizeof(*p->trusted));
	p->n_trusted--;
}

void sg_policy_truncate(struct sg_policy *p, size_t n)
{
	while (p->n_trusted > n)
		sg_policy_remove_trusted(p, p->n_trusted - 1);
}

int sg_policy_class_index(const struct sg_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_classes; i++)
		if (!strcmp(p->classes[i].name, name))
			return (int)i;
	return -1;
}

int sg_policy_group_index(const struct sg_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_groups; i++)
		if (!strcmp(p->groups[i].name, name))
			return (int)i;
	return -1;
}

/* Grows *arr (of *n elements of size sz) by one zeroed element. */
static void *grow(void *arr, size_t *n, size_t sz)
{
	char *a = realloc(arr, (*n + 1) * sz);

	if (!a)
		return NULL;
	memset(a + *n * sz, 0, sz);
	(*n)++;
	return a;
}

int sg_policy_add_class(struct sg_policy *p, const struct sg_rate_class *c)
{
	struct sg_rate_class *a;

	if (p->n_classes >= SG_MAX_CLASSES)
		return -E2BIG;
	a = grow(p->classes, &p->n_classes, sizeof(*a));
	if (!a)
		return -ENOMEM;
	p->classes = a;
	a[p->n_classes - 1] = *c;
	return (int)p->n_classes - 1;
}

int sg_policy_add_group(struct sg_policy *p, const char *name)
{
	struct sg_relay_group *a;

	if (p->n_groups >= SG_MAX_GROUPS)
		return -E2BIG;
	a = grow(p->groups, &p->n_groups, sizeof(*a));
	if (!a)
		return -ENOMEM;
	p->groups = a;
	snprintf(a[p->n_groups - 1].name, SG_NAME_MAX, "%s", name);
	return (int)p->n_groups - 1;
}

int sg_policy_add_relay(struct sg_policy *p, int group, const struct sg_addr *addr,
			const uint16_t *ports, size_t n_ports)
{
	struct sg_relay_group *g = &p->groups[group];
	struct sg_relay *a, *r;

	a = grow(g->relays, &g->n_relays, sizeof(*a));
	if (!a)
		return -ENOMEM;
	g->relays = a;
	r = &a[g->n_relays - 1];
	r->addr = *addr;
	if (n_ports) {
		r->ports = malloc(n_ports * sizeof(*ports));
		if (!r->ports) {
			g->n_relays--;
			return -ENOMEM;
		}
		memcpy(r->ports, ports, n_ports * sizeof(*ports));
		r->n_ports = n_ports;
	}
	return 0;
}

int sg_policy_add_port(struct sg_policy *p, uint16_t port)
{
	uint16_t *a;

	for (size_t i = 0; i < p->n_ports; i++)
		if (p->ports[i] == port)
			return 0;
	a = grow(p->ports, &p->n_ports, sizeof(*a));
	if (!a)
		return -ENOMEM;
	p->ports = a;
	a[p->n_ports - 1] = port;
	return 0;
}

int sg_policy_add_scope(struct sg_policy *p, const struct sg_prefix *prefix)
{
	struct sg_prefix *a;

	if (p->n_scope >= SG_MAX_SCOPE)
		return -E2BIG;
	a = grow(p->scope, &p->n_scope, sizeof(*a));
	if (!a)
		return -ENOMEM;
	p->scope = a;
	a[p->n_scope - 1] = *prefix;
	return 0;
}

void sg_policy_format_groups(const struct sg_policy *p, uint64_t mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t g = 0; g < p->n_groups && g < 64; g++) {
		if (!(mask & (1ull << g)))
			continue;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s",
					off ? "," : "", p->groups[g].name);
	}
}
