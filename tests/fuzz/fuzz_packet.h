/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fixed policies of the packet target (and of its seed generator):
 * tests/lib/randpkt.h policies from fixed seeds, one per (mode,
 * unregistered action) pair, so that the set covers prefix and host
 * entries of both families, scope, relays with and without their own
 * ports, bans, exhausted and unlimited classes, monitor, reject and
 * throttle.
 *
 * An input is one selector byte and the frame: policy = (byte & 15) %
 * FP_N_POLICIES, hook = (byte >> 4) % 3 (XDP, TC ingress, TC egress).
 */
#ifndef SG_FUZZ_PACKET_H
#define SG_FUZZ_PACKET_H

#include "randpkt.h"

#define FP_N_POLICIES 6
#define FP_SEED 0x5347467a7a000001ull /* "SGFzz" */

static const char *const fp_policy_names[FP_N_POLICIES] = {
	"enforce/drop", "enforce/reject", "enforce/throttle",
	"monitor/drop", "monitor/reject", "monitor/throttle",
};

/* Policy k (0 .. FP_N_POLICIES-1): variant k gives mode k / 3, action k % 3. */
static inline void fp_policy_make(unsigned k, struct rp_policy *rp, int64_t now_unix)
{
	struct rp_rng r;

	rp_seed(&r, FP_SEED + k);
	rp_policy_make(&r, rp, now_unix, k);
}

static inline unsigned fp_selector(unsigned policy, unsigned hook)
{
	return (hook % 3) * 16 + policy % FP_N_POLICIES;
}

static inline unsigned fp_policy_of(uint8_t selector)
{
	return (selector & 15u) % FP_N_POLICIES;
}

static inline unsigned fp_hook_of(uint8_t selector)
{
	return (selector >> 4) % 3u;
}

#endif
