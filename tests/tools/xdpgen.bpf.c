// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * floodgen's live-frames writer: run by BPF_PROG_TEST_RUN in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES), it writes one TCP segment into the frame
 * and returns XDP_TX, which sends it out of the interface named by the
 * test run's ingress_ifindex.
 *
 * The whole header is written on every run: live-frame pages are
 * recycled without being reset, so a frame the receiver forwarded comes
 * back with its MACs and TTL rewritten.  Checksums are
 * computed per frame, so spoofed sources (random per frame) still make
 * well-formed packets that any receiver would accept.
 *
 * Configuration is .rodata, set by xdpgen before loading.  Addresses and
 * ports are in network byte order; *_rand_mask marks the source address
 * bits drawn at random per frame.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u8 cfg_dst_mac[ETH_ALEN] = {};
const volatile __u8 cfg_src_mac[ETH_ALEN] = {};
const volatile __u8 cfg_ipv6 = 0;
const volatile __u8 cfg_tcp_flags = 0x02; /* SYN */
const volatile __u8 cfg_ttl = 64;
const volatile __u8 cfg_sport_random = 0;
const volatile __u16 cfg_sport = 0;
const volatile __u16 cfg_dport = 0;
/* IPv4 (word 0) or IPv6 (words 0-3), network byte order. */
const volatile __u32 cfg_saddr[4] = {};
const volatile __u32 cfg_daddr[4] = {};
const volatile __u32 cfg_saddr_rand_mask[4] = {};

/* Header layouts written here; kept local so the frame format is plain. */
struct gen_ip4 {
	__u8 ver_ihl;
	__u8 tos;
	__u16 tot_len;
	__u16 id;
	__u16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u32 saddr;
	__u32 daddr;
};

struct gen_ip6 {
	__u32 ver_tc_flow;
	__u16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u32 saddr[4];
	__u32 daddr[4];
};

struct gen_tcp {
	__u16 source;
	__u16 dest;
	__u32 seq;
	__u32 ack_seq;
	__u8 doff_res;
	__u8 flags;
	__u16 window;
	__u16 check;
	__u16 urg_ptr;
};

#define TCP_LEN sizeof(struct gen_tcp)

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* One's-complement sum of n 16-bit words (n is a constant). */
static __always_inline __u32 sum16(const void *p, int n)
{
	const __u16 *w = p;
	__u32 sum = 0;

	for (int i = 0; i < n; i++)
		sum += w[i];
	return sum;
}

static __always_inline __u32 sum_addr(const volatile __u32 *a, int words)
{
	__u32 sum = 0;

	for (int i = 0; i < words; i++) {
		__u32 w = a[i];

		sum += (w & 0xffff) + (w >> 16);
	}
	return sum;
}

static __always_inline void write_eth(struct ethhdr *eth, __u16 proto)
{
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = cfg_dst_mac[i];
		eth->h_source[i] = cfg_src_mac[i];
	}
	eth->h_proto = bpf_htons(proto);
}

/* The source: the configured address with the random bits redrawn. */
static __always_inline void pick_source(__u32 *saddr, int words)
{
	for (int i = 0; i < words; i++) {
		__u32 mask = cfg_saddr_rand_mask[i];

		saddr[i] = cfg_saddr[i];
		if (mask)
			saddr[i] = (saddr[i] & ~mask) | (bpf_get_prandom_u32() & mask);
	}
}

/* r: this frame's random word (one helper call per frame; they cost). */
static __always_inline void write_tcp(struct gen_tcp *tcp, __u32 pseudo_sum, __u32 r)
{
	tcp->source = cfg_sport_random ? bpf_htons((__u16)((r >> 16) | 0x8000)) : cfg_sport;
	tcp->dest = cfg_dport;
	tcp->seq = r * 2654435761u;
	tcp->ack_seq = (cfg_tcp_flags & 0x10) ? r ^ 0x5bd1e995 : 0;
	tcp->doff_res = (TCP_LEN / 4) << 4;
	tcp->flags = cfg_tcp_flags;
	tcp->window = bpf_htons(64240);
	tcp->check = 0;
	tcp->urg_ptr = 0;
	tcp->check = fold(pseudo_sum + sum16(tcp, TCP_LEN / 2));
}

static __always_inline int build_ipv4(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct gen_ip4 *ip = data + sizeof(*eth);
	struct gen_tcp *tcp = (void *)(ip + 1);
	__u32 saddr[1], r = bpf_get_prandom_u32();

	if ((void *)(tcp + 1) > end)
		return XDP_ABORTED;
	write_eth(eth, ETH_P_IP);
	pick_source(saddr, 1);
	ip->ver_ihl = 0x45;
	ip->tos = 0;
	ip->tot_len = bpf_htons(sizeof(*ip) + TCP_LEN);
	ip->id = (__u16)r;
	ip->frag_off = bpf_htons(0x4000); /* DF */
	ip->ttl = cfg_ttl;
	ip->protocol = IPPROTO_TCP;
	ip->check = 0;
	ip->saddr = saddr[0];
	ip->daddr = cfg_daddr[0];
	ip->check = fold(sum16(ip, sizeof(*ip) / 2));
	write_tcp(tcp, sum_addr(saddr, 1) + sum_addr(cfg_daddr, 1) +
			       bpf_htons(IPPROTO_TCP) + bpf_htons(TCP_LEN), r);
	return XDP_TX;
}

static __always_inline int build_ipv6(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct gen_ip6 *ip = data + sizeof(*eth);
	struct gen_tcp *tcp = (void *)(ip + 1);
	__u32 saddr[4], r = bpf_get_prandom_u32();

	if ((void *)(tcp + 1) > end)
		return XDP_ABORTED;
	write_eth(eth, ETH_P_IPV6);
	pick_source(saddr, 4);
	ip->ver_tc_flow = bpf_htonl(6u << 28);
	ip->payload_len = bpf_htons(TCP_LEN);
	ip->nexthdr = IPPROTO_TCP;
	ip->hop_limit = cfg_ttl;
	for (int i = 0; i < 4; i++) {
		ip->saddr[i] = saddr[i];
		ip->daddr[i] = cfg_daddr[i];
	}
	write_tcp(tcp, sum_addr(saddr, 4) + sum_addr(cfg_daddr, 4) +
			       bpf_htons(IPPROTO_TCP) + bpf_htons(TCP_LEN), r);
	return XDP_TX;
}

SEC("xdp")
int xdpgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	return cfg_ipv6 ? build_ipv6(data, end) : build_ipv4(data, end);
}

/* floodgen's probe: does the kernel run live frames at all?  It drops its
 * frame, so a successful probe sends nothing. */
SEC("xdp")
int xdpgen_probe(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_DROP;
}
