// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The policy's index (policy_index.h).  Policies hold duplicates only
 * while a loader or a test builds them, but the index stays right with
 * any: the sets count.
 *
 *   approvals  the approvals' prefixes, once per approval
 *   shadowing  for each prefix in approvals: once per policy.json entry
 *              with that prefix (and nothing for any other prefix)
 *   policy     a Bloom filter of the policy.json prefixes: it cannot
 *              forget one, so a removed entry leaves a false "maybe"
 */
#include <errno.h>
#include <stdlib.h>
#include "policy_index.h"
#include "prefix_filter.h"
#include "prefix_set.h"

struct sg_policy_index {
	struct sg_prefix_set *approvals;
	struct sg_prefix_set *shadowing;
	struct sg_prefix_filter *policy;
};

static bool is_policy(const struct sg_trusted_entry *e)
{
	return e->origin == SG_ORIGIN_POLICY;
}

/* The filter of p's policy.json prefixes, sized for at least room. */
static struct sg_prefix_filter *filter_of(const struct sg_policy *p, size_t room)
{
	struct sg_prefix_filter *f = sg_prefix_filter_new(room);

	for (size_t i = 0; f && i < p->n_trusted; i++)
		if (is_policy(&p->trusted[i]))
			sg_prefix_filter_add(f, &p->trusted[i].prefix);
	return f;
}

/* How many policy.json entries of p have this prefix: a scan, only when
 * the filter cannot rule it out. */
static size_t policy_entries_with(const struct sg_policy_index *x, const struct sg_policy *p,
				  const struct sg_prefix *prefix)
{
	size_t n = 0;

	if (!sg_prefix_filter_may_have(x->policy, prefix))
		return 0;
	for (size_t i = 0; i < p->n_trusted; i++)
		n += is_policy(&p->trusted[i]) && sg_prefix_equal(&p->trusted[i].prefix, prefix);
	return n;
}

struct sg_policy_index *sg_policy_index_build(const struct sg_policy *p)
{
	struct sg_policy_index *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->policy = sg_prefix_filter_new(p->n_trusted - p->n_approvals);
	x->approvals = sg_prefix_set_new(p->n_approvals);
	x->shadowing = sg_prefix_set_new(0);
	if (!x->policy || !x->approvals || !x->shadowing)
		goto fail;
	/* Each entry into the filter or the approvals in one pass; the
	 * shadowing needs every approval in, so a second pass, only when
	 * there are approvals. */
	for (size_t i = 0; i < p->n_trusted; i++) {
		const struct sg_trusted_entry *e = &p->trusted[i];

		if (is_policy(e))
			sg_prefix_filter_add(x->policy, &e->prefix);
		else if (sg_prefix_set_add(x->approvals, &e->prefix))
			goto fail;
	}
	for (size_t i = 0; p->n_approvals && i < p->n_trusted; i++)
		if (is_policy(&p->trusted[i]) &&
		    sg_prefix_set_has(x->approvals, &p->trusted[i].prefix) &&
		    sg_prefix_set_add(x->shadowing, &p->trusted[i].prefix))
			goto fail;
	return x;
fail:
	sg_policy_index_free(x);
	return NULL;
}

void sg_policy_index_free(struct sg_policy_index *x)
{
	if (!x)
		return;
	sg_prefix_set_free(x->approvals);
	sg_prefix_set_free(x->shadowing);
	sg_prefix_filter_free(x->policy);
	free(x);
}

static int policy_joined(struct sg_policy_index *x, const struct sg_policy *p,
			 const struct sg_trusted_entry *e)
{
	sg_prefix_filter_add(x->policy, &e->prefix);
	if (sg_prefix_filter_full(x->policy)) {
		/* Past its size "maybe" grows common: a new one, twice as large. */
		struct sg_prefix_filter *f = filter_of(p, 2 * sg_prefix_filter_room(x->policy));

		if (!f)
			return -ENOMEM;
		sg_prefix_filter_free(x->policy);
		x->policy = f;
	}
	if (sg_prefix_set_has(x->approvals, &e->prefix))
		return sg_prefix_set_add(x->shadowing, &e->prefix);
	return 0;
}

static int approval_joined(struct sg_policy_index *x, const struct sg_policy *p,
			   const struct sg_trusted_entry *e)
{
	if (!sg_prefix_set_has(x->approvals, &e->prefix)) {
		size_t n = policy_entries_with(x, p, &e->prefix);

		for (size_t k = 0; k < n; k++)
			if (sg_prefix_set_add(x->shadowing, &e->prefix))
				return -ENOMEM;
	}
	return sg_prefix_set_add(x->approvals, &e->prefix);
}

int sg_policy_index_joined(struct sg_policy_index *x, const struct sg_policy *p,
			   const struct sg_trusted_entry *e)
{
	return is_policy(e) ? policy_joined(x, p, e) : approval_joined(x, p, e);
}

void sg_policy_index_leaving(struct sg_policy_index *x, const struct sg_trusted_entry *e)
{
	if (is_policy(e)) {
		if (sg_prefix_set_has(x->approvals, &e->prefix))
			sg_prefix_set_del(x->shadowing, &e->prefix);
		return;
	}
	sg_prefix_set_del(x->approvals, &e->prefix);
	if (!sg_prefix_set_has(x->approvals, &e->prefix))
		while (sg_prefix_set_has(x->shadowing, &e->prefix))
			sg_prefix_set_del(x->shadowing, &e->prefix);
}

bool sg_policy_index_shadowed(const struct sg_policy_index *x, const struct sg_prefix *prefix)
{
	return sg_prefix_set_has(x->shadowing, prefix);
}

bool sg_policy_index_may_have(const struct sg_policy_index *x, const struct sg_prefix *prefix)
{
	return sg_prefix_set_has(x->approvals, prefix) ||
	       sg_prefix_filter_may_have(x->policy, prefix);
}

bool sg_policy_index_has_approval(const struct sg_policy_index *x,
				  const struct sg_prefix *prefix)
{
	return sg_prefix_set_has(x->approvals, prefix);
}
