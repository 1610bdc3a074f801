/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parser shared by the XDP and TC entry points: Ethernet, up to
 * two VLAN tags (802.1Q / 802.1ad), IPv4 with options and fragments,
 * IPv6 with a bounded extension-header chain, TCP.
 *
 * The parser answers two questions separately: how much it could learn
 * (nothing, the source address, or source and ports) and what is wrong
 * (nothing, a fragment that must go, or a malformed frame).  The decision
 * then drops a problem frame only if it might be governed: a frame whose
 * ports are known is governed only on a governed port from a source in
 * scope; one whose source is known but not its ports (a fragment, a
 * truncated TCP header) is governed if the source is in scope; one whose
 * source cannot even be read is dropped.  Nothing that might be governed
 * is ever passed unexamined.
 */
#ifndef SG_BPF_PARSE_H
#define SG_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "smtpgate/abi.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define SG_IP_MF     0x2000
#define SG_IP_OFFSET 0x1fff

#define SG_TCP_FIN 0x01
#define SG_TCP_SYN 0x02
#define SG_TCP_RST 0x04
#define SG_TCP_ACK 0x10

enum sg_known {
	SG_KNOWN_NOTHING = 0, /* cannot even read the source address */
	SG_KNOWN_SRC = 1,     /* source known, ports unknown */
	SG_KNOWN_PORTS = 2,   /* source, destination and ports known */
};

enum sg_problem {
	SG_PROB_NONE = 0,
	SG_PROB_FRAGMENT = 1,
	SG_PROB_MALFORMED = 2,
};

/* Outcome of sg_parse(): SG_PARSE_PASS means "not governed, let it go"
 * (not IP, not TCP, a later fragment, a port that is not governed);
 * SG_PARSE_JUDGE means look at the sg_pkt fields. */
enum sg_parse_result {
	SG_PARSE_PASS = 0,
	SG_PARSE_JUDGE = 1,
};

struct sg_pkt {
	struct sg_addr src;
	struct sg_addr dst;
	__u32 l3_off;       /* IP header offset from the start of the frame */
	__u32 l4_off;       /* TCP header offset */
	__u32 ip_bytes;     /* IP header + payload, for counters and buckets */
	__u32 payload_len;  /* TCP payload bytes (for the RST's ack number) */
	__u32 seq;          /* TCP sequence number, network byte order */
	__u16 sport;        /* host byte order */
	__u16 dport;        /* host byte order */
	union {
		struct {
			__u8 tcp_flags;  /* 0 if the header was cut short by fragmentation */
			__u8 is_v6;
			__u8 known;      /* enum sg_known */
			__u8 problem;    /* enum sg_problem */
			__u8 first_frag; /* 0, or 1 (IPv4) / 2 (IPv6) for a first fragment */
			__u8 pad[3];
		};
		__u64 state;             /* the eight bytes above, for one store */
	};
} __attribute__((aligned(8))); /* src and dst: see sg_addr_eq() */

/* ::ffff:v4, written as two 64-bit words (a is 8-byte aligned): what is
 * later read as two words is best stored as two. */
static __always_inline void sg_map_v4(struct sg_addr *a, __be32 v4)
{
	__u64 *w = (__u64 *)a;

	w[0] = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w[1] = ((__u64)v4 << 32) | 0xffff0000u;
#else
	w[1] = 0x0000ffff00000000ull | v4;
#endif
}

/* wire: the destination port as the header holds it (network order). */
static __always_inline int sg_port_in(const __u64 *bitmap, __be16 wire)
{
	__u16 w = (__u16)wire;

	return (bitmap[(w >> 6) & (SG_PORT_WORDS - 1)] >> (w & 63)) & 1;
}

static __always_inline int sg_port_governed(const struct sg_config *cfg, __be16 wire)
{
	return sg_port_in(cfg->ports, wire);
}

/* A new connection: a SYN without ACK (what the connection buckets and
 * counters count, and the only segment a reject answers). */
static __always_inline int sg_is_conn(const struct sg_pkt *p)
{
	return (p->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN;
}

/* Addresses compared and copied as two 64-bit words, half the loads and
 * compares of four 32-bit ones.  struct sg_addr is only 4-byte aligned
 * (its layout is the maps' key layout), so these are for the addresses
 * known to be 8-byte aligned: the packet record's (struct sg_pkt) and
 * those in struct sg_cpu (abi.h asserts their offsets). */
static __always_inline int sg_addr_eq(const struct sg_addr *a, const struct sg_addr *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

static __always_inline void sg_addr_copy(struct sg_addr *to, const struct sg_addr *from)
{
	__u64 *t = (__u64 *)to;
	const __u64 *f = (const __u64 *)from;

	t[0] = f[0];
	t[1] = f[1];
}

static __always_inline int sg_is_v4mapped(const struct sg_addr *a)
{
	return !a->w[0] && !a->w[1] && a->w[2] == bpf_htonl(0x0000ffff);
}

static __always_inline int sg_judge(struct sg_pkt *p, __u8 known, __u8 problem)
{
	p->known = known;
	p->problem = problem;
	return SG_PARSE_JUDGE;
}

/* Reads ports, sequence and flags of a TCP header at l4 with ip_end the
 * end of the IP packet.  first_frag: the packet is a first fragment, so
 * a short TCP header is judged by its ports (IPv4, RFC 1858) or dropped
 * as a fragment (IPv6, RFC 7112: the first fragment must hold the whole
 * header chain). */
static __always_inline int sg_parse_tcp(void *data, void *data_end,
					const struct sg_config *cfg, struct sg_pkt *p,
					__u32 l4, __u32 ip_end, int first_frag)
{
	struct tcphdr *th = data + l4;
	__u32 avail = ip_end - l4; /* callers guarantee l4 <= ip_end */
	__u32 doff;

	p->l4_off = l4;
	p->first_frag = first_frag;
	if ((void *)th + 4 > data_end || avail < 4)
		return sg_judge(p, SG_KNOWN_SRC,
				first_frag ? SG_PROB_FRAGMENT : SG_PROB_MALFORMED);
	p->sport = bpf_ntohs(th->source);
	p->dport = bpf_ntohs(th->dest);
	/* The earliest point a packet can be let go: most traffic leaves here
	 * (or before, not being TCP) without any lookup but the config. */
	if (!sg_port_governed(cfg, th->dest))
		return SG_PARSE_PASS;

	if ((void *)(th + 1) > data_end || avail < sizeof(*th)) {
		if (first_frag == 1) {
			/* IPv4 first fragment: ports are enough to judge it;
			 * the rest arrives at offset >= 2 or is dropped at 1. */
			if ((void *)th + 14 <= data_end && avail >= 14)
				p->tcp_flags = ((__u8 *)th)[13];
			return sg_judge(p, SG_KNOWN_PORTS, SG_PROB_NONE);
		}
		return sg_judge(p, SG_KNOWN_PORTS,
				first_frag ? SG_PROB_FRAGMENT : SG_PROB_MALFORMED);
	}
	p->seq = th->seq;
	p->tcp_flags = ((__u8 *)th)[13];
	doff = th->doff * 4;
	if (doff < sizeof(*th))
		return sg_judge(p, SG_KNOWN_PORTS, SG_PROB_MALFORMED);
	if (doff > avail) {
		/* An IPv4 first fragment may end inside the options;
		 * otherwise a data offset past the packet is a lie. */
		if (first_frag == 1)
			return sg_judge(p, SG_KNOWN_PORTS, SG_PROB_NONE);
		return sg_judge(p, SG_KNOWN_PORTS,
				first_frag ? SG_PROB_FRAGMENT : SG_PROB_MALFORMED);
	}
	p->payload_len = avail - doff;
	return sg_judge(p, SG_KNOWN_PORTS, SG_PROB_NONE);
}

static __always_inline int sg_parse_ipv4(void *data, void *data_end, __u32 frame_len,
					 const struct sg_config *cfg, struct sg_pkt *p, __u32 l3)
{
	struct iphdr *ip = data + l3;
	__u32 ihl, tot, frag;

	if ((void *)(ip + 1) > data_end)
		return sg_judge(p, SG_KNOWN_NOTHING, SG_PROB_MALFORMED);
	ihl = ip->ihl * 4;
	if (ip->version != 4 || ihl < sizeof(*ip))
		return sg_judge(p, SG_KNOWN_NOTHING, SG_PROB_MALFORMED);
	if (ip->protocol != IPPROTO_TCP)
		return SG_PARSE_PASS;

	sg_map_v4(&p->src, ip->saddr);
	sg_map_v4(&p->dst, ip->daddr);
	tot = bpf_ntohs(ip->tot_len);
	p->ip_bytes = tot;
	frag = bpf_ntohs(ip->frag_off);
	if (frag & SG_IP_OFFSET) {
		/* RFC 1858: offset 1 can only be an attempt to overwrite the
		 * TCP flags of the first fragment. */
		if ((frag & SG_IP_OFFSET) == 1)
			return sg_judge(p, SG_KNOWN_SRC, SG_PROB_FRAGMENT);
		return SG_PARSE_PASS; /* later fragment: nothing to judge */
	}
	if (tot < ihl || l3 + tot > frame_len) {
		p->ip_bytes = frame_len - l3;
		return sg_judge(p, SG_KNOWN_SRC, SG_PROB_MALFORMED);
	}
	return sg_parse_tcp(data, data_end, cfg, p, l3 + ihl, l3 + tot,
			    (frag & SG_IP_MF) ? 1 : 0);
}

static __always_inline int sg_ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH;
}

static __always_inline int sg_parse_ipv6(void *data, void *data_end, __u32 frame_len,
					 const struct sg_config *cfg, struct sg_pkt *p, __u32 l3)
{
	struct ipv6hdr *ip6 = data + l3;
	__u32 off, ip_end;
	int first_frag = 0;
	__u8 nh;

	if ((void *)(ip6 + 1) > data_end)
		return sg_judge(p, SG_KNOWN_NOTHING, SG_PROB_MALFORMED);
	if (ip6->version != 6)
		return sg_judge(p, SG_KNOWN_NOTHING, SG_PROB_MALFORMED);
	nh = ip6->nexthdr;
	if (nh != IPPROTO_TCP && !sg_ipv6_is_ext(nh))
		return SG_PARSE_PASS;

	__builtin_memcpy(&p->src, &ip6->saddr, sizeof(p->src));
	__builtin_memcpy(&p->dst, &ip6->daddr, sizeof(p->dst));
	p->is_v6 = 1;
	ip_end = l3 + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	p->ip_bytes = ip_end - l3;
	if (ip_end > frame_len) {
		p->ip_bytes = frame_len - l3;
		return sg_judge(p, SG_KNOWN_SRC, SG_PROB_MALFORMED);
	}
	off = l3 + sizeof(*ip6);

#pragma unroll
	for (int i = 0; i < SG_MAX_IPV6_EXT; i++) {
		__u8 *h = data + off;
		__u32 len;

		if (!sg_ipv6_is_ext(nh))
			break;
		if ((void *)(h + 8) > data_end || off + 8 > ip_end)
			return sg_judge(p, SG_KNOWN_SRC,
					first_frag ? SG_PROB_FRAGMENT : SG_PROB_MALFORMED);
		if (nh == IPPROTO_FRAGMENT) {
			__u16 fo = bpf_ntohs(*(__be16 *)(h + 2));

			if (fo & 0xfff8) /* non-zero offset: a later fragment */
				return SG_PARSE_PASS;
			if (fo & 1)
				first_frag = 2;
			len = 8;
		} else if (nh == IPPROTO_AH) {
			len = (h[1] + 2) * 4;
		} else {
			len = (h[1] + 1) * 8;
		}
		nh = h[0];
		off += len;
		if (off > ip_end)
			return sg_judge(p, SG_KNOWN_SRC,
					first_frag ? SG_PROB_FRAGMENT : SG_PROB_MALFORMED);
	}
	if (sg_ipv6_is_ext(nh)) /* still going after SG_MAX_IPV6_EXT headers */
		return sg_judge(p, SG_KNOWN_SRC, SG_PROB_MALFORMED);
	if (nh != IPPROTO_TCP)
		return SG_PARSE_PASS;
	/* IPv4-mapped addresses (::ffff:a.b.c.d) are how smtpgate writes IPv4
	 * internally; in a real IPv6 header they are invalid (Linux drops a
	 * mapped source on input) and would alias IPv4 entries. */
	if (sg_is_v4mapped(&p->src) || sg_is_v4mapped(&p->dst))
		return sg_judge(p, SG_KNOWN_SRC, SG_PROB_MALFORMED);
	return sg_parse_tcp(data, data_end, cfg, p, off, ip_end, first_frag);
}

/* The EtherType as one 16-bit load: struct ethhdr is packed, so reading
 * its member directly costs two byte loads and a merge on every packet.
 * The field sits at an even offset of the frame. */
static __always_inline __u16 sg_eth_proto(const struct ethhdr *eth)
{
	return *(const __u16 *)((const __u8 *)eth + 12);
}

/* Walks up to SG_MAX_VLAN_TAGS 802.1Q / 802.1ad tags from *off (just
 * after the Ethernet header), whose EtherType is *proto: on return they
 * are the offset and EtherType of what follows the tags (a third tag is
 * left for the caller to see).  0, or -1 if a tag is cut short. */
static __always_inline int sg_skip_vlans(void *data, void *data_end, __u32 *off, __u16 *proto)
{
#pragma unroll
	for (int i = 0; i < SG_MAX_VLAN_TAGS; i++) {
		__be16 *tag = data + *off;

		if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 2) > data_end)
			return -1;
		*proto = tag[1];
		*off += 4;
	}
	return 0;
}

/* Outcome of sg_preparse(). */
enum sg_preparse_result {
	SG_PRE_PASS = 0,  /* certainly not governed: let it go */
	SG_PRE_FULL = 1,  /* unusual: run sg_parse() on a zeroed record */
	SG_PRE_READY = 2, /* plain IPv4/TCP on a governed port: *p is complete */
};

/* sg_pkt.state with tcp_flags and known set, every other byte 0. */
static __always_inline __u64 sg_pkt_state(__u8 tcp_flags, __u8 known)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u64)tcp_flags | (__u64)known << 16;
#else
	return (__u64)tcp_flags << 56 | (__u64)known << 40;
#endif
}

/* Fills the whole record for a plain IPv4/TCP frame (no fragment, the
 * full TCP header present and consistent), exactly as sg_parse() would,
 * without zeroing it first. */
static __always_inline int sg_ready_ipv4(struct sg_pkt *p, const struct iphdr *ip,
					 const struct tcphdr *th, __u32 l3, __u32 ihl, __u32 tot,
					 __u32 doff)
{
	sg_map_v4(&p->src, ip->saddr);
	sg_map_v4(&p->dst, ip->daddr);
	p->l3_off = l3;
	p->l4_off = l3 + ihl;
	p->ip_bytes = tot;
	p->payload_len = tot - ihl - doff;
	p->seq = th->seq;
	p->sport = bpf_ntohs(th->source);
	p->dport = bpf_ntohs(th->dest);
	/* tcp_flags, known = SG_KNOWN_PORTS and zeros (is_v6, problem =
	 * SG_PROB_NONE, first_frag, pad): one store rather than eight. */
	p->state = sg_pkt_state(((const __u8 *)th)[13], SG_KNOWN_PORTS);
	return SG_PRE_READY;
}

/* Two words of the plain path, each tested with one load and one compare
 * (the frame's bytes read as a 32-bit word in the machine's order):
 * - bytes 12-15 of the frame, the EtherType and the IP header's first two
 *   bytes: IPv4, version 4 with a 20-byte header (0x45), any TOS;
 * - bytes 6-9 of the IPv4 header, fragment field, TTL and protocol: TCP,
 *   not a fragment (MF and the offset clear), any TTL and DF. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SG_PLAIN_V4_MASK  0x00ffffffu
#define SG_PLAIN_V4_WORD  0x00450008u
#define SG_TCP_WHOLE_MASK 0xff00ff3fu
#define SG_TCP_WHOLE_WORD 0x06000000u
#else
#define SG_PLAIN_V4_MASK  0xffffff00u
#define SG_PLAIN_V4_WORD  0x08004500u
#define SG_TCP_WHOLE_MASK 0x3fff00ffu
#define SG_TCP_WHOLE_WORD 0x00000006u
#endif

static __always_inline __u32 sg_word_at(const void *p)
{
	return *(const __u32 *)p;
}

/* The IPv4 part of sg_preparse(): ip (at off, header length ihl) is in
 * the frame, with version 4 and ihl >= 20.  plain (a constant): the frame
 * is untagged and ihl is 20, so the protocol and fragment tests can be
 * one. */
static __always_inline int sg_preparse_ipv4(void *data, void *data_end, __u32 frame_len,
					    const __u64 *ports_any, struct sg_pkt *p,
					    struct iphdr *ip, __u32 off, __u32 ihl, int plain)
{
	struct tcphdr *th;
	__u32 tot, doff;

	if (plain) {
		if ((sg_word_at(&ip->frag_off) & SG_TCP_WHOLE_MASK) != SG_TCP_WHOLE_WORD)
			return ip->protocol != IPPROTO_TCP ? SG_PRE_PASS : SG_PRE_FULL;
	} else {
		if (ip->protocol != IPPROTO_TCP)
			return SG_PRE_PASS;
		if (ip->frag_off & bpf_htons(SG_IP_MF | SG_IP_OFFSET))
			return SG_PRE_FULL;
	}
	tot = bpf_ntohs(ip->tot_len);
	if (tot < ihl + 4 || off + tot > frame_len)
		return SG_PRE_FULL;
	th = data + off + ihl;
	if ((void *)th + 4 > data_end)
		return SG_PRE_FULL;
	if (!sg_port_in(ports_any, th->dest))
		return SG_PRE_PASS;
	if ((void *)(th + 1) > data_end || tot < ihl + sizeof(*th))
		return SG_PRE_FULL;
	doff = th->doff * 4;
	if (doff < sizeof(*th) || doff > tot - ihl)
		return SG_PRE_FULL;
	return sg_ready_ipv4(p, ip, th, off, ihl, tot, doff);
}

/* A pre-parse for the fast paths, reading fields at the offsets the
 * headers give.  Ordinary traffic leaves as SG_PRE_PASS (not IP, not
 * TCP, or TCP to a port that is not governed, with headers that the full
 * parser would accept up to the ports) without the full parse or its
 * record; the common governed frame, plain IPv4/TCP, comes back ready to
 * judge.  Anything unusual (fragments, IPv6, truncation, a third tag,
 * IPv4-mapped addresses) is SG_PRE_FULL: sg_parse() decides.  *p is
 * written only for SG_PRE_READY.  ports_any is sg_live.ports_any, the
 * ports of either generation: the caller still asks its generation's
 * config whether a READY frame's port is governed. */
static __always_inline int sg_preparse(void *data, void *data_end, __u32 frame_len,
				       const __u64 *ports_any, struct sg_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *plain = data + sizeof(*eth);
	__u32 off = sizeof(*eth);
	__u16 proto;

	/* Untagged IPv4 without options, the ports in the frame: every
	 * offset a constant, one bounds check for all and the first tests
	 * one word each, which saves instructions and registers (spills) on
	 * the path most traffic takes.  The same outcome as the general path
	 * below, which takes every other frame. */
	if ((void *)(plain + 1) + 4 <= data_end &&
	    (sg_word_at((const __u8 *)eth + 12) & SG_PLAIN_V4_MASK) == SG_PLAIN_V4_WORD)
		return sg_preparse_ipv4(data, data_end, frame_len, ports_any, p, plain,
					sizeof(*eth), sizeof(*plain), 1);
	if ((void *)(eth + 1) > data_end)
		return SG_PRE_FULL;
	proto = sg_eth_proto(eth);
	if (proto != bpf_htons(ETH_P_IP) && sg_skip_vlans(data, data_end, &off, &proto))
		return SG_PRE_FULL;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return SG_PRE_FULL;
		ihl = ip->ihl * 4;
		if (ip->version != 4 || ihl < sizeof(*ip))
			return SG_PRE_FULL;
		return sg_preparse_ipv4(data, data_end, frame_len, ports_any, p, ip, off, ihl, 0);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		__be16 *ports = (void *)(ip6 + 1);

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return SG_PRE_FULL;
		if (ip6->nexthdr != IPPROTO_TCP)
			return sg_ipv6_is_ext(ip6->nexthdr) ? SG_PRE_FULL : SG_PRE_PASS;
		if (bpf_ntohs(ip6->payload_len) < 4 ||
		    off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len) > frame_len ||
		    (void *)(ports + 2) > data_end)
			return SG_PRE_FULL;
		/* An IPv4-mapped address is malformed whatever the port. */
		if (sg_is_v4mapped((const struct sg_addr *)&ip6->saddr) ||
		    sg_is_v4mapped((const struct sg_addr *)&ip6->daddr))
			return SG_PRE_FULL;
		return sg_port_in(ports_any, ports[1]) ? SG_PRE_FULL : SG_PRE_PASS;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return SG_PRE_FULL;
	return SG_PRE_PASS;
}

/* frame_len: the whole frame (may exceed data_end - data for a TC skb
 * whose tail is not linear; truncation is judged against frame_len).
 * cfg: the policy in force, for its governed ports. */
static __always_inline int sg_parse(void *data, void *data_end, __u32 frame_len,
				    const struct sg_config *cfg, struct sg_pkt *p)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return sg_judge(p, SG_KNOWN_NOTHING, SG_PROB_MALFORMED);
	proto = sg_eth_proto(eth);
	if (sg_skip_vlans(data, data_end, &off, &proto))
		return sg_judge(p, SG_KNOWN_NOTHING, SG_PROB_MALFORMED);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return sg_judge(p, SG_KNOWN_NOTHING, SG_PROB_MALFORMED);

	p->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP))
		return sg_parse_ipv4(data, data_end, frame_len, cfg, p, off);
	if (proto == bpf_htons(ETH_P_IPV6))
		return sg_parse_ipv6(data, data_end, frame_len, cfg, p, off);
	return SG_PARSE_PASS;
}

#endif /* SG_BPF_PARSE_H */
