/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which interfaces smtpgate may attach to.  Its programs parse Ethernet
 * frames: on a device without an Ethernet header (tun, WireGuard, PPP,
 * GRE, IPIP, loopback) they would read IP header bytes as an EtherType,
 * find nothing governed, and pass every packet, SMTP included, while the
 * daemon reports the hook attached.  So only ARPHRD_ETHER devices
 * (physical NICs, veth, bridges, bonds, VLANs, macvlan, tap) are allowed.
 */
#ifndef SG_LINKTYPE_H
#define SG_LINKTYPE_H

#include "err.h"

/* Looks ifname up in the caller's network namespace (one RTM_GETLINK
 * through libnl, so index and type come from the same device) and checks
 * that it is Ethernet.  Returns 0 with *ifindex set; -ENODEV if there is
 * no such interface; -EPROTONOSUPPORT if it is not Ethernet, with a
 * message naming the interface, its type and what to do; another -errno
 * if netlink failed.  ifindex may be NULL. */
int sg_link_check_ethernet(const char *ifname, int *ifindex, struct sg_err *err);

/* A link type (ARPHRD_*) as an operator knows it: "ether", "none (tun,
 * WireGuard)", "loopback", ...; buf is used for types without a name. */
const char *sg_link_type_name(unsigned type, char *buf, size_t len);

#endif
