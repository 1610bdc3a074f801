/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy switch: sg_live, the global every packet reads first
 * (the generation in force, both configs) and the state it shares
 * with userspace.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_LIVE_H
#define SMTPGATE_ABI_LIVE_H

#include <linux/types.h>
#include "abi_limits.h"
#include "abi_policy.h"

/* Global state shared with userspace (sg_live.state). */
struct sg_state {
	__u64 bans;           /* entries in sg_bans: 0 lets packets skip the lookup */
	__u64 trusted_version; /* +1 after every change to a trusted table in place */
};

/* What every packet reads first: the generation in force, both
 * generations' configs and the global state.  It is one global variable
 * of the BPF object (section SG_LIVE_SECTION, pinned as "sg_live"), not a
 * map entry: the programs read it at an address fixed when they are
 * loaded, with no map lookup, and userspace maps it.  The loader writes
 * the inactive config, then `active` with one store (release), so a
 * packet that reads `active` once sees one whole policy. */
struct sg_live {
	__u32 active;         /* index of the generation in force: config[active] */
	__u32 pad;
	struct sg_state state;
	__u8 pad_line[40];
	/* Each config starts a cache line, so that the fields every packet
	 * reads (its first 64 bytes) share one line. */
	struct sg_config config[SG_GENERATIONS];
	/* The governed ports of every generation a packet may be using (a
	 * superset of config[active].ports while a switch is under way, equal
	 * to it otherwise): the first test of every packet, at a fixed
	 * address, before the generation is read.  A port not in it is not
	 * governed by either generation. */
	__u64 ports_any[SG_PORT_WORDS];
};

#define SG_LIVE_SECTION ".data.sg_live" /* also the map's name */
#define SG_LIVE_PIN     "sg_live"

#ifndef __bpf__
_Static_assert(sizeof(struct sg_state) == 16, "sg_state layout");
_Static_assert(sizeof(struct sg_live) == 64 + SG_GENERATIONS * sizeof(struct sg_config) +
		       8 * SG_PORT_WORDS,
	       "sg_live layout");
#endif

#endif /* SMTPGATE_ABI_LIVE_H */
