/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the pins say about themselves: the ABI that made them (sg_meta)
 * and which interface and hook each counter slot is (sg_attachments).
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_META_H
#define SMTPGATE_ABI_META_H

#include <linux/types.h>

/* sg_meta[0]: lets a restarted daemon check it can reuse the pins. */
struct sg_meta {
	__u32 abi_version;
	__u32 generations_built;
	__u64 created_unix;
};

/* sg_attachments[slot]: which interface and hook a counter slot is. */
enum sg_hook {
	SG_HOOK_NONE = 0,
	SG_HOOK_XDP = 1,
	SG_HOOK_TC_INGRESS = 2,
	SG_HOOK_TC_EGRESS = 3,
};

#ifndef __bpf__
/* Names are what configs, metrics, JSON and logs use. */
static const char *const sg_hook_names[] = {
	[SG_HOOK_NONE] = "none",
	[SG_HOOK_XDP] = "xdp",
	[SG_HOOK_TC_INGRESS] = "tc-ingress",
	[SG_HOOK_TC_EGRESS] = "tc-egress",
};

static inline const char *sg_hook_name(int hook)
{
	return hook > SG_HOOK_NONE && hook <= SG_HOOK_TC_EGRESS ? sg_hook_names[hook] : "none";
}
#endif

struct sg_attach_info {
	char ifname[16];
	__u32 hook;           /* enum sg_hook */
	__u32 xdp_mode;       /* XDP_FLAGS_* actually in use, 0 for TC */
};

#ifndef __bpf__
_Static_assert(sizeof(struct sg_attach_info) == 24, "sg_attach_info layout");
#endif

#endif /* SMTPGATE_ABI_META_H */
