// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The least an XDP port filter can do: Ethernet (no VLAN) -> IPv4 ->
 * TCP, drop if the destination port is 25, pass everything else.  No
 * IPv6, no VLANs, no fragments, no counters, no policy: the live
 * benchmark's floor for "drop port 25" (tests/bench/bench_live.sh).
 * What it drops is counted by the veth itself (ethtool -S: xdp_drops).
 *
 * Section "xdp" with a single program, so `ip link set DEV xdp obj
 * dropport.bpf.o sec xdp` attaches it without any loader of ours.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define DROP_PORT 25

SEC("xdp")
int dropport(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct tcphdr *tcp;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end)
		return XDP_PASS;
	return tcp->dest == bpf_htons(DROP_PORT) ? XDP_DROP : XDP_PASS;
}

/* The live benchmark's sink: on the egress of the gateway's uplink, it
 * drops every forwarded packet after routing, netfilter and the
 * neighbour lookup, before the driver, so what is measured is the
 * gateway's forwarding path and not a receiver's.  The clsact qdisc
 * counts what it drops (tc -s qdisc show dev IF). */
SEC("tc")
int dropall(struct __sk_buff *skb)
{
	(void)skb;
	return 2; /* TC_ACT_SHOT */
}
