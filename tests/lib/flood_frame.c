// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <string.h>
#include "flood_frame.h"
#include "pkt.h"

#define ETH_HDR 14

/* The TCP checksum's parts that are the same for every frame: the pseudo
 * header without the source address, and the TCP header with the source
 * port, sequence number and checksum taken as zero. */
static uint32_t constant_sum(struct flood_frame *f)
{
	uint8_t *ip = f->tmpl + f->ip_off, *tcp = f->tmpl + f->tcp_off;
	uint8_t saved[8];
	uint32_t sum;

	sum = f->v6 ? csum_add(0, ip + 24, 16) : csum_add(0, ip + 16, 4);
	sum += 6 + (uint32_t)f->tcp_len;
	memcpy(saved, tcp, 8);
	memset(tcp, 0, 2);     /* source port */
	memset(tcp + 4, 0, 4); /* sequence */
	pkt_put16(tcp + 16, 0);
	sum = csum_add(sum, tcp, f->tcp_len);
	memcpy(tcp, saved, 8);
	return sum;
}

int flood_frame_init(struct flood_frame *f, const struct flood_frame_spec *s)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int fam = s->v6 ? AF_INET6 : AF_INET;
	size_t alen = s->v6 ? 16 : 4, hdrs = ETH_HDR + (s->v6 ? 40 : 20) + 20;
	struct pkt_spec ps = {
		.v6 = s->v6, .src = src, .dst = dst, .dport = s->dport,
		.sport = s->sport ? s->sport : 1024, .flags = s->tcp_flags, .seq = 1,
	};

	memset(f, 0, sizeof(*f));
	if (s->size < hdrs || s->size > FLOOD_FRAME_MAX)
		return -1;
	if (!inet_ntop(fam, s->src, src, sizeof(src)) || !inet_ntop(fam, s->dst, dst, sizeof(dst)))
		return -1;
	if (pkt_build(&ps, f->tmpl, sizeof(f->tmpl)) != hdrs)
		return -1;
	memcpy(f->tmpl, s->dst_mac, 6);
	memcpy(f->tmpl + 6, s->src_mac, 6);
	f->v6 = s->v6;
	f->len = s->size; /* pkt_build zeroed the rest: Ethernet padding */
	f->ip_off = ETH_HDR;
	f->tcp_off = ETH_HDR + (s->v6 ? 40 : 20);
	f->tcp_len = 20;
	f->tmpl[f->ip_off + (s->v6 ? 7 : 8)] = s->ttl;
	if (!s->v6)
		pkt_put16(f->tmpl + f->ip_off + 6, 0x4000); /* DF, as a TCP stack sends */
	memcpy(f->src, s->src, alen);
	if (s->src_rand_mask) {
		memcpy(f->src_mask, s->src_rand_mask, alen);
		for (size_t i = 0; i < alen; i++)
			f->random_src |= f->src_mask[i] != 0;
	}
	f->random_sport = !s->sport;
	f->const_sum = constant_sum(f);
	rp_seed(&f->rng, s->seed);
	return 0;
}

/* The source address of the next frame into dst. */
static void next_source(struct flood_frame *f, uint8_t *dst, size_t alen)
{
	uint64_t r[2] = { rp_u64(&f->rng), alen > 8 ? rp_u64(&f->rng) : 0 };
	const uint8_t *rb = (const uint8_t *)r;

	for (size_t i = 0; i < alen; i++)
		dst[i] = (uint8_t)((f->src[i] & ~f->src_mask[i]) | (rb[i] & f->src_mask[i]));
}

void flood_frame_next(struct flood_frame *f, uint8_t *out)
{
	uint8_t *ip = out + f->ip_off, *tcp = out + f->tcp_off;
	size_t alen = f->v6 ? 16 : 4;
	uint8_t *saddr = ip + (f->v6 ? 8 : 12);
	uint64_t r = rp_u64(&f->rng);
	uint32_t sum;

	memcpy(out, f->tmpl, f->len);
	if (f->random_src)
		next_source(f, saddr, alen);
	if (f->random_sport)
		pkt_put16(tcp, (uint16_t)(r >> 48 | 0x8000));
	pkt_put32(tcp + 4, (uint32_t)r);
	sum = csum_add(f->const_sum, saddr, alen);
	sum = csum_add(sum, tcp, 2);     /* source port */
	sum = csum_add(sum, tcp + 4, 4); /* sequence */
	pkt_put16(tcp + 16, csum_fold(sum));
	if (!f->v6) {
		pkt_put16(ip + 4, (uint16_t)(r >> 32));
		pkt_put16(ip + 10, 0);
		pkt_put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	}
}
