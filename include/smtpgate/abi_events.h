/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The events the data plane sends the daemon through its ring buffer,
 * and the per-(source, reason) aggregation that bounds them.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_EVENTS_H
#define SMTPGATE_ABI_EVENTS_H

#include <linux/types.h>
#include "abi_addr.h"

struct sg_event_key {
	struct sg_addr src;
	__u32 reason;
};

struct sg_event_agg {
	__u64 last_emit_ns;
	__u64 pending;        /* packets since the last event for this key */
};

/* sg_event.kind */
enum sg_event_kind {
	SG_EVT_PACKET = 0,    /* aggregated packets with a non-pass verdict */
	SG_EVT_BAN_START = 1, /* the data plane banned a source */
};

struct sg_event {
	__u64 ts_ns;          /* data-plane clock */
	struct sg_addr src;
	struct sg_addr dst;
	__u64 count;          /* packets this event stands for */
	__u16 dport;
	__u16 attach;         /* attachment slot */
	__u8 verdict;
	__u8 reason;
	__u8 kind;            /* enum sg_event_kind */
	__u8 pad;
};

#ifndef __bpf__
_Static_assert(sizeof(struct sg_event_key) == 20, "sg_event_key layout");
_Static_assert(sizeof(struct sg_event) == 56, "sg_event layout");
#endif

#endif /* SMTPGATE_ABI_EVENTS_H */
