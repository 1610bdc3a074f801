/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `reject`: turn a SYN into the TCP RST its sender would get from a
 * closed port (RFC 9293 3.10.7.1: no ACK in the segment, so
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>), in place.  The caller first
 * cuts the frame to exactly L2 + IP (20 or 40) + TCP (20) bytes; this
 * rewrites it: MACs swapped (VLAN tags kept, so it returns on the same
 * VLAN), fresh IP header without options or extension headers, addresses
 * and ports swapped, full checksums computed from scratch so nothing
 * depends on the offload state of the original packet.
 */
#ifndef SG_BPF_REJECT_H
#define SG_BPF_REJECT_H

#include "parse.h"

/* The RST's frame length: L2 as received (tags kept), a fresh IP header
 * without options or extension headers, a bare TCP header. */
static __always_inline __u32 sg_rst_frame_len(const struct sg_pkt *p)
{
	return p->l3_off + (p->is_v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
	       sizeof(struct tcphdr);
}

static __always_inline __u32 sg_csum_add16(__u32 sum, const void *buf, __u32 words)
{
	const __u16 *w = buf;

#pragma unroll
	for (__u32 i = 0; i < words; i++)
		sum += w[i];
	return sum;
}

static __always_inline __u16 sg_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Returns 0 when the frame [data, data_end) now holds a valid RST
 * answering the SYN that p describes (p was read before the frame was cut). */
static __always_inline int sg_write_rst(void *data, void *data_end, const struct sg_pkt *r)
{
	struct ethhdr *eth = data;
	struct tcphdr th = {};
	__u8 mac[ETH_ALEN];
	__u32 l3 = r->l3_off, sum;

	if ((void *)(eth + 1) > data_end || l3 > sizeof(*eth) + 4 * SG_MAX_VLAN_TAGS)
		return -1;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

	th.source = bpf_htons(r->dport);
	th.dest = bpf_htons(r->sport);
	th.seq = 0;
	th.ack_seq = bpf_htonl(bpf_ntohl(r->seq) + 1 + r->payload_len);
	th.doff = sizeof(th) / 4;
	th.rst = 1;
	th.ack = 1;

	if (r->is_v6) {
		struct ipv6hdr *ip6 = data + l3;
		struct tcphdr *t = (void *)(ip6 + 1);
		__u32 pseudo[2] = { bpf_htonl(sizeof(th)), bpf_htonl(IPPROTO_TCP) };

		if ((void *)(t + 1) > data_end)
			return -1;
		*(__be32 *)ip6 = bpf_htonl(0x60000000); /* version 6, no class, no flow */
		ip6->payload_len = bpf_htons(sizeof(th));
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = 64;
		__builtin_memcpy(&ip6->saddr, &r->dst, 16);
		__builtin_memcpy(&ip6->daddr, &r->src, 16);
		sum = sg_csum_add16(0, &r->src, 8);
		sum = sg_csum_add16(sum, &r->dst, 8);
		sum = sg_csum_add16(sum, pseudo, 4);
		sum = sg_csum_add16(sum, &th, sizeof(th) / 2);
		th.check = sg_csum_fold(sum);
		__builtin_memcpy(t, &th, sizeof(th));
	} else {
		struct iphdr *ip = data + l3;
		struct tcphdr *t = (void *)(ip + 1);
		struct iphdr iph = {};
		__u16 pseudo[2] = { bpf_htons(IPPROTO_TCP), bpf_htons(sizeof(th)) };

		if ((void *)(t + 1) > data_end)
			return -1;
		iph.version = 4;
		iph.ihl = sizeof(iph) / 4;
		iph.tot_len = bpf_htons(sizeof(iph) + sizeof(th));
		iph.frag_off = bpf_htons(0x4000); /* DF */
		iph.ttl = 64;
		iph.protocol = IPPROTO_TCP;
		iph.saddr = r->dst.w[3];
		iph.daddr = r->src.w[3];
		iph.check = sg_csum_fold(sg_csum_add16(0, &iph, sizeof(iph) / 2));
		__builtin_memcpy(ip, &iph, sizeof(iph));
		sum = sg_csum_add16(0, &iph.saddr, 4);
		sum = sg_csum_add16(sum, pseudo, 2);
		sum = sg_csum_add16(sum, &th, sizeof(th) / 2);
		th.check = sg_csum_fold(sum);
		__builtin_memcpy(t, &th, sizeof(th));
	}
	return 0;
}

#endif /* SG_BPF_REJECT_H */
