/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The compiled policy as the data plane reads it: one struct sg_config
 * per generation, with its flag bits, rate classes and governed ports.
 *
 * Part of the ABI: include "smtpgate/abi.h", which holds SG_ABI_VERSION
 * and includes every part.
 */
#ifndef SMTPGATE_ABI_POLICY_H
#define SMTPGATE_ABI_POLICY_H

#include <linux/types.h>
#include "abi_limits.h"

enum sg_mode {
	SG_MODE_ENFORCE = 0,
	SG_MODE_MONITOR = 1,
};

enum sg_unreg_action {
	SG_UNREG_DROP = 0,
	SG_UNREG_REJECT = 1,
	SG_UNREG_THROTTLE = 2,
};

/* sg_config.flags.  Bits 0 and 1 are retired (ABI 1: "scope has
 * entries", "trusted prefixes exist"; n_scope_lens and n_net_lens say so
 * since ABI 2): never set, never read, not to be reused. */
#define SG_CFG_BAN_AUTO   (1u << 2) /* automatic bans enabled */
#define SG_CFG_RELAY_CAPS (1u << 3) /* some relay group has a cap */

/* A rate class as the data plane uses it.  A zero cost means "no limit
 * on this dimension".  cost = ns per unit << SG_RATE_SHIFT; tau = how far
 * (in ns) the virtual clock may run ahead of real time, i.e. the burst. */
struct sg_rate {
	__u64 conn_cost;
	__u64 conn_tau_ns;
	__u64 byte_cost;
	__u64 byte_tau_ns;
};

#define SG_PORT_WORDS (65536 / 64)

/* The index of port (host byte order) in sg_config.ports: its bytes in
 * network order, read back as a __u16 on this host. */
static inline __u16 sg_port_wire(__u16 port)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u16)((port >> 8) | (port << 8));
#else
	return port;
#endif
}

struct sg_config {
	__u64 generation;           /* increments on every switch */
	__u32 mode;                 /* enum sg_mode */
	__u32 flags;                /* SG_CFG_* */
	__u32 unreg_action;         /* enum sg_unreg_action */
	__u32 unreg_class;          /* class index for throttle, or SG_NO_CLASS */
	__u32 ban_violations;       /* violations within window that trigger a ban */
	__u32 event_budget;         /* new event keys per second per CPU */
	__u64 ban_window_ns;
	__u64 ban_duration_ns;
	__u64 event_interval_ns;    /* at most one event per source+reason per interval */
	__u32 source_budget;        /* new per-source statistics keys per second per CPU */
	__u8 n_net_lens;            /* distinct lengths of trusted prefixes (not hosts) */
	__u8 n_scope_lens;          /* distinct lengths of scope prefixes; 0 = no scope */
	__u8 pad[2];
	/* Prefix lengths (over 128 bits), longest first: the prefix tables
	 * are one hash per length, asked in this order. */
	__u8 net_lens[SG_MAX_PREFIX_LENS];
	__u8 scope_lens[SG_MAX_PREFIX_LENS];
	__u32 blocked_budget;       /* per-source updates for blocked packets per second per CPU */
	__u8 pad_lines[28];         /* the size a whole number of cache lines */
	struct sg_rate classes[SG_MAX_CLASSES];
	struct sg_rate relay_cap[SG_MAX_GROUPS]; /* conn_* only; zero = no cap */
	/* Per capped group, the share of its cap that unregistered
	 * (throttled) sources may use at most: they are charged this share
	 * and the cap, trusted entries the cap only, so no flood of
	 * unregistered sources takes more than the share from trusted ones. */
	struct sg_rate relay_cap_unreg[SG_MAX_GROUPS];
	/* Governed destination ports, a bitmap indexed by the port as it is
	 * on the wire (network byte order read as a __u16: sg_port_wire()),
	 * so that the data plane tests the header field without a swap. */
	__u64 ports[SG_PORT_WORDS];
};

#ifndef __bpf__
_Static_assert(sizeof(struct sg_rate) == 32, "sg_rate layout");
_Static_assert(sizeof(struct sg_config) ==
	       64 + 2 * SG_MAX_PREFIX_LENS + 32 + 32 * SG_MAX_CLASSES + 2 * 32 * SG_MAX_GROUPS +
		       8 * SG_PORT_WORDS,
	       "sg_config layout");
_Static_assert(sizeof(struct sg_config) % 64 == 0, "sg_config: whole cache lines");
#endif

#endif /* SMTPGATE_ABI_POLICY_H */
