/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the data plane decides about a packet (verdict) and why (reason),
 * with the names metrics, JSON and logs print.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_VERDICTS_H
#define SMTPGATE_ABI_VERDICTS_H

#include <linux/types.h>

enum sg_verdict {
	SG_V_PASS = 0,
	SG_V_DROP = 1,
	SG_V_REJECT = 2,
	SG_V_MONITOR = 3,
	SG_V_COUNT
};

enum sg_reason {
	SG_R_TRUSTED = 0,
	SG_R_THROTTLE_ALLOWANCE = 1,
	SG_R_UNTRUSTED_SOURCE = 2,
	SG_R_UNAPPROVED_RELAY = 3,
	SG_R_RATE_LIMITED = 4,
	SG_R_BANNED = 5,
	SG_R_EXPIRED = 6,
	SG_R_FRAGMENT = 7,
	SG_R_MALFORMED = 8,
	SG_R_COUNT
};

#ifndef __bpf__
/* Names are what metrics, JSON and logs print; indexed by the enums. */
static const char *const sg_verdict_names[SG_V_COUNT] = {
	[SG_V_PASS] = "pass",
	[SG_V_DROP] = "drop",
	[SG_V_REJECT] = "reject",
	[SG_V_MONITOR] = "monitor",
};

static const char *const sg_reason_names[SG_R_COUNT] = {
	[SG_R_TRUSTED] = "trusted",
	[SG_R_THROTTLE_ALLOWANCE] = "throttle_allowance",
	[SG_R_UNTRUSTED_SOURCE] = "untrusted_source",
	[SG_R_UNAPPROVED_RELAY] = "unapproved_relay",
	[SG_R_RATE_LIMITED] = "rate_limited",
	[SG_R_BANNED] = "banned",
	[SG_R_EXPIRED] = "expired",
	[SG_R_FRAGMENT] = "fragment",
	[SG_R_MALFORMED] = "malformed",
};
#endif

#endif /* SMTPGATE_ABI_VERDICTS_H */
