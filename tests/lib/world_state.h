/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The time-dependent data-plane state a random policy's world describes
 * (tests/lib/randpkt.h), written into the maps so that the programs and
 * the reference model judge from the same state: trusted entries' rate
 * buckets exhausted, their automatic (entry) bans in force or ended,
 * relay caps and unregistered sources' shares of them exhausted, and the
 * throttle buckets exhausted.  Manual bans are the caller's.  Shared by
 * the differential test and the packet fuzzer.
 */
#ifndef SG_TEST_WORLD_STATE_H
#define SG_TEST_WORLD_STATE_H

#include <stdint.h>
#include "dataplane.h"
#include "randpkt.h"

/* Exhausted state lasts until `until` (boot-clock ns); entry bans in
 * force end at `ban_until` (SG_BAN_FOREVER: never).  Bails on error. */
void ws_apply(struct sg_dp *dp, const struct rp_policy *rp, uint64_t until, uint64_t ban_until);

#endif
