/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the data plane remembers between packets about sources and
 * entries: rate state (buckets) and bans, automatic and manual.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_STATE_H
#define SMTPGATE_ABI_STATE_H

#include <linux/types.h>
#include "abi_addr.h"

/* Rate state of one trusted entry, one throttle bucket or one relay cap.
 * Generic cell rate algorithm: each *_tat is a theoretical arrival time
 * on the data-plane clock, advanced by compare-and-swap, so rates hold
 * across CPUs without a lock (a spin lock disables interrupts, which is
 * dear on virtual machines).
 *
 * ban_until_ns is the automatic ban of a trusted entry (sg_buckets only):
 * a violation of an entry's rate class is the entry's, whichever of its
 * addresses sent the packet, so the ban is the entry's too (all of a
 * prefix).  It lives in the bucket the packet reads anyway: no lookup, and
 * no table that automatic bans could fill.  It comes first so that it
 * shares a cache line with conn_tat whatever the bucket's offset. */
#define SG_BAN_FOREVER (~0ull) /* ban_until_ns: until removed */

struct sg_bucket {
	__u64 ban_until_ns;   /* 0: not banned; SG_BAN_FOREVER; else the deadline */
	__u64 conn_tat;
	__u64 byte_tat;
	__u64 window_start_ns;
	__u32 violations;     /* rate-limited packets in the current window */
	__u32 pad;
};

/* What userspace reports about an automatic ban (sg_auto_bans, keyed by
 * the entry's slot): enforcement is ban_until_ns in the entry's bucket,
 * this record is how the ban is listed, counted and ended.  The data plane
 * writes it after the bucket; userspace deletes it with the ban. */
struct sg_auto_ban {
	__u64 since_ns;       /* data-plane clock */
	__u64 expires_ns;     /* data-plane clock deadline; 0 = until removed */
	struct sg_addr src;   /* the source whose violation reached the threshold */
	__u32 slot;           /* the entry's slot (also the key) */
	__u32 pad;
};

/* sg_ban.flags.  sg_bans holds manual bans only since ABI 6 (automatic
 * bans are per entry, see struct sg_auto_ban), so SG_BAN_AUTO is
 * retired: the data plane no longer sets it and a current daemon never
 * writes it; readers still test it, harmlessly, and the bit is not to be
 * reused. */
#define SG_BAN_AUTO   (1u << 0) /* retired: created by the data plane (ABI <= 5) */
#define SG_BAN_MANUAL (1u << 1) /* created by an operator */

struct sg_ban {
	__u64 since_ns;       /* data-plane clock */
	__u64 expires_ns;     /* data-plane clock deadline; 0 = until removed */
	__u32 flags;
	__u32 pad;
};

#ifndef __bpf__
_Static_assert(sizeof(struct sg_bucket) == 40, "sg_bucket layout");
_Static_assert(sizeof(struct sg_auto_ban) == 40, "sg_auto_ban layout");
_Static_assert(sizeof(struct sg_ban) == 24, "sg_ban layout");
#endif

#endif /* SMTPGATE_ABI_STATE_H */
