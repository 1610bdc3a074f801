// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The link-type gate in front of every attach (see linktype.h for why).
 * The type is asked of the kernel over netlink, not read from
 * /sys/class/net: a daemon run with `nsenter --net` keeps the host's
 * sysfs, which shows the host's interfaces, not the namespace's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if_arp.h>
#include <netlink/netlink.h>
#include <netlink/utils.h>
#include <netlink/route/link.h>
#include "linktype.h"

const char *sg_link_type_name(unsigned type, char *buf, size_t len)
{
	char nl[32];

	switch (type) {
	case ARPHRD_ETHER: return "ether";
	case ARPHRD_NONE: return "none: a layer-3 device such as tun or WireGuard";
	case ARPHRD_LOOPBACK: return "loopback";
	case ARPHRD_PPP: return "ppp";
	case ARPHRD_TUNNEL: return "ipip tunnel";
	case ARPHRD_TUNNEL6: return "ip6 tunnel";
	case ARPHRD_IPGRE: return "gre tunnel";
	case ARPHRD_SIT: return "sit tunnel";
	case ARPHRD_RAWIP: return "raw IP";
	case ARPHRD_INFINIBAND: return "infiniband";
	}
	/* libnl knows the rest by their kernel names. */
	nl_llproto2str((int)type, nl, sizeof(nl));
	snprintf(buf, len, "%s", nl);
	return buf;
}

int sg_link_check_ethernet(const char *ifname, int *ifindex, struct sg_err *err)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;
	char name[48];
	unsigned type;
	int rc;

	sk = nl_socket_alloc();
	if (!sk)
		return sg_errf(err, -ENOMEM, "%s: cannot ask the kernel for its link type: out of "
			       "memory", ifname);
	rc = nl_connect(sk, NETLINK_ROUTE);
	if (!rc)
		rc = rtnl_link_get_kernel(sk, 0, ifname, &link);
	nl_socket_free(sk);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return sg_errf(err, -ENODEV, "%s: no such interface", ifname);
	if (rc)
		return sg_errf(err, -EIO, "%s: cannot ask the kernel for its link type: %s", ifname,
			       nl_geterror(rc));
	type = rtnl_link_get_arptype(link);
	if (ifindex)
		*ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	if (type == ARPHRD_ETHER)
		return 0;
	return sg_errf(err, -EPROTONOSUPPORT,
		       "%s is not an Ethernet device (link type %u, %s): smtpgate's programs parse "
		       "Ethernet frames and would pass this interface's mail ungoverned, so they "
		       "are not attached; attach to an Ethernet interface (NIC, veth, bridge, "
		       "bond, VLAN, macvlan) that carries the servers' traffic, and remove %s "
		       "from \"interfaces\" in smtpgate.json",
		       ifname, type, sg_link_type_name(type, name, sizeof(name)), ifname);
}
