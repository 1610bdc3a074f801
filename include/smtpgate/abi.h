/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything that crosses the kernel boundary:
 * map keys and values, verdicts and reasons with their names, counter
 * layout, the event record and the limits.  Included by the BPF programs
 * and by userspace; both sides must agree byte for byte, so every struct
 * uses fixed-width fields, no bitfields and explicit padding, and its size
 * is pinned by a static assertion next to it.
 *
 * The definitions are in parts, one subject each, all included here:
 * abi_limits.h (the clock, limits), abi_verdicts.h, abi_policy.h (struct
 * sg_config and its flags), abi_addr.h (addresses, table keys, hashes),
 * abi_state.h (buckets, bans), abi_stats.h (counters, statistics),
 * abi_cpu.h (per-CPU scratch), abi_live.h (sg_live, the switch),
 * abi_events.h and abi_meta.h (what the pins record).  Include this
 * header, not a part.
 *
 * Bump SG_ABI_VERSION whenever a layout or a meaning in any part
 * changes: the daemon refuses to reuse pinned maps of another ABI rather
 * than silently misreading them.
 */
#ifndef SMTPGATE_ABI_H
#define SMTPGATE_ABI_H

#include <linux/types.h>

#define SG_ABI_VERSION 7

#include "abi_limits.h"
#include "abi_verdicts.h"
#include "abi_policy.h"
#include "abi_addr.h"
#include "abi_state.h"
#include "abi_stats.h"
#include "abi_cpu.h"
#include "abi_live.h"
#include "abi_events.h"
#include "abi_meta.h"

#endif /* SMTPGATE_ABI_H */
