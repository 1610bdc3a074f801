/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy -> data plane values.  Pure functions (no maps, no clocks except
 * where named), so the numbers the kernel sees can be unit tested.
 */
#ifndef SG_COMPILE_H
#define SG_COMPILE_H

#include <stddef.h>
#include "policy.h"

/* Unregistered (throttled) sources may use 1/SG_UNREG_CAP_SHARE of a
 * relay cap (its rate and its burst, at least one connection): the rest of
 * the cap cannot be taken from trusted entries by any number of them. */
#define SG_UNREG_CAP_SHARE 10

/* GCRA parameters for `per_sec` units per second with a burst of `burst`
 * units (burst <= 0: one second's worth).  per_sec <= 0: no limit, both 0. */
void sg_compile_rate(double per_sec, double burst, __u64 *cost, __u64 *tau_ns);

/* The distinct prefix lengths of scope and trusted prefixes, longest
 * first (at most SG_MAX_PREFIX_LENS each). */
void sg_compile_prefix_lens(const struct sg_policy *p, struct sg_config *cfg);
/* Fills *cfg from the policy; generation is the value to stamp. */
void sg_compile_config(const struct sg_policy *p, __u64 generation, struct sg_config *cfg);

struct sg_relay_entry {
	struct sg_relay_key key;
	__u64 groups;
};

/* The (relay address, port) -> group-mask table, one entry per distinct
 * key.  Returns the number of entries (*out malloc'd) or -ENOMEM. */
long sg_compile_relays(const struct sg_policy *p, struct sg_relay_entry **out);

/* Data plane value of a trusted entry (slot filled in by the caller). */
void sg_compile_trusted(const struct sg_trusted_entry *t, struct sg_trusted *out);

#endif
