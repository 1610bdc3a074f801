// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "pkt.h"

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void pkt_put32(uint8_t *p, uint32_t v)
{
	pkt_put16(p, (uint16_t)(v >> 16));
	pkt_put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static const uint8_t mac_src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };

/* L4: TCP header (+ options) + payload, checksum filled later. */
static size_t build_l4(const struct pkt_spec *s, uint8_t *p)
{
	size_t hl, n;
	uint8_t proto = s->proto ? s->proto : 6;

	if (proto != 6) {
		/* UDP-like 8-byte header with ports: enough for "not TCP". */
		pkt_put16(p, s->sport);
		pkt_put16(p + 2, s->dport);
		pkt_put16(p + 4, (uint16_t)(8 + s->payload));
		pkt_put16(p + 6, 0);
		memset(p + 8, 0xab, (size_t)s->payload);
		return 8 + (size_t)s->payload;
	}
	hl = 20 + (size_t)s->tcp_opt_len;
	memset(p, 0, hl);
	pkt_put16(p, s->sport);
	pkt_put16(p + 2, s->dport);
	pkt_put32(p + 4, s->seq);
	pkt_put32(p + 8, s->ack);
	p[12] = (uint8_t)((s->doff_override ? s->doff_override : (int)(hl / 4)) << 4);
	p[13] = s->flags;
	pkt_put16(p + 14, 64240);
	for (size_t i = 20; i < hl; i++)
		p[i] = 1; /* NOP options */
	n = hl + (size_t)s->payload;
	memset(p + hl, 0xcd, (size_t)s->payload);
	return n;
}

static void tcp_checksum_v4(uint8_t *ip, uint8_t *l4, size_t l4len)
{
	uint8_t ph[12];
	uint32_t sum;

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	pkt_put16(ph + 10, (uint16_t)l4len);
	pkt_put16(l4 + 16, 0);
	sum = csum_add(0, ph, sizeof(ph));
	pkt_put16(l4 + 16, csum_fold(csum_add(sum, l4, l4len)));
}

static void tcp_checksum_v6(uint8_t *ip6, uint8_t *l4, size_t l4len)
{
	uint8_t ph[40];
	uint32_t sum;

	memcpy(ph, ip6 + 8, 32);
	pkt_put32(ph + 32, (uint32_t)l4len);
	pkt_put32(ph + 36, 6);
	pkt_put16(l4 + 16, 0);
	sum = csum_add(0, ph, sizeof(ph));
	pkt_put16(l4 + 16, csum_fold(csum_add(sum, l4, l4len)));
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap)
{
	uint8_t l4[PKT_MAX];
	uint8_t proto = s->proto ? s->proto : 6;
	size_t off = 12, l4len, l4_present;

	memset(buf, 0, cap);
	memcpy(buf, mac_dst, 6);
	memcpy(buf + 6, mac_src, 6);
	for (int i = 0; i < s->n_vlan; i++) {
		pkt_put16(buf + off, s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
		pkt_put16(buf + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	pkt_put16(buf + off, s->v6 ? 0x86dd : 0x0800);
	off += 2;

	l4len = build_l4(s, l4);
	l4_present = s->l4_len_override > 0 ? (size_t)s->l4_len_override : l4len;
	if (l4_present > l4len)
		l4_present = l4len;

	if (!s->v6) {
		uint8_t *ip = buf + off;
		size_t ihl = 20 + (size_t)s->ip_opt_len;
		uint16_t frag = 0;
		int tot = (int)(ihl + l4len) + s->ip_len_delta;

		ip[0] = (uint8_t)(((s->ip_version_override ? s->ip_version_override : 4) << 4) |
				  (s->ihl_override ? s->ihl_override : (int)(ihl / 4)));
		pkt_put16(ip + 2, (uint16_t)tot);
		pkt_put16(ip + 4, 0x1234);
		if (s->frag)
			frag = (uint16_t)((s->mf ? 0x2000 : 0) | (s->frag_off & 0x1fff));
		pkt_put16(ip + 6, frag);
		ip[8] = 64;
		ip[9] = proto;
		inet_pton(AF_INET, s->src, ip + 12);
		inet_pton(AF_INET, s->dst, ip + 16);
		for (size_t i = 20; i < ihl; i++)
			ip[i] = 1; /* NOP options */
		if (proto == 6 && !(s->frag && s->frag_off))
			tcp_checksum_v4(ip, l4, l4len);
		pkt_put16(ip + 10, csum_fold(csum_add(0, ip, ihl)));
		memcpy(ip + ihl, l4, l4_present);
		return off + ihl + l4_present;
	} else {
		uint8_t *ip6 = buf + off, *p = ip6 + 40;
		uint8_t *prev_nh = ip6 + 6;
		size_t ext_total = 0;
		int plen;

		pkt_put32(ip6, (uint32_t)(s->ip_version_override ? s->ip_version_override : 6) << 28);
		ip6[7] = 64;
		inet_pton(AF_INET6, s->src, ip6 + 8);
		inet_pton(AF_INET6, s->dst, ip6 + 24);
		for (int i = 0; i < s->n_ext; i++) {
			uint8_t kind = s->ext[i];
			size_t len = kind == V6_FRAG ? 8 : (s->ext_len[i] ? (size_t)s->ext_len[i] : 8);

			*prev_nh = kind;
			memset(p, 0, len);
			if (kind == V6_FRAG) {
				pkt_put16(p + 2, (uint16_t)((s->frag_off << 3) | (s->mf ? 1 : 0)));
				pkt_put32(p + 4, 0xdeadbeef);
			} else if (kind == V6_AH) {
				p[1] = (uint8_t)(len / 4 - 2);
			} else {
				p[1] = (uint8_t)(len / 8 - 1);
				if (len > 2) {
					p[2] = 1; /* PadN */
					p[3] = (uint8_t)(len - 4);
				}
			}
			prev_nh = p;
			p += len;
			ext_total += len;
		}
		*prev_nh = proto;
		plen = (int)(ext_total + l4len) + s->ip_len_delta;
		pkt_put16(ip6 + 4, (uint16_t)plen);
		if (proto == 6)
			tcp_checksum_v6(ip6, l4, l4len);
		memcpy(p, l4, l4_present);
		return off + 40 + ext_total + l4_present;
	}
}

const char *pkt_check_rst(const uint8_t *f, size_t len, const struct pkt_spec *syn)
{
	static char why[160];
	size_t off = 12;
	uint8_t addr[16];
	const uint8_t *ip, *tcp;
	uint32_t want_ack = syn->seq + 1 + (uint32_t)syn->payload;

	if (len < 14)
		return "frame shorter than Ethernet";
	if (memcmp(f, mac_src, 6) || memcmp(f + 6, mac_dst, 6))
		return "MAC addresses not swapped";
	for (int i = 0; i < syn->n_vlan; i++) {
		if (get16(f + off) != (syn->vlan_tpid[i] ? syn->vlan_tpid[i] : 0x8100))
			return "VLAN tag not kept";
		off += 4;
	}
	ip = f + off + 2;
	if (!syn->v6) {
		if (get16(f + off) != 0x0800)
			return "not IPv4";
		if (len != off + 2 + 40)
			return "IPv4 RST is not exactly 40 bytes of IP";
		if (ip[0] != 0x45 || get16(ip + 2) != 40 || ip[9] != 6)
			return "bad IPv4 header (version/ihl/length/protocol)";
		if (csum_fold(csum_add(0, ip, 20)) != 0)
			return "bad IPv4 header checksum";
		inet_pton(AF_INET, syn->dst, addr);
		if (memcmp(ip + 12, addr, 4))
			return "IPv4 source is not the SYN's destination";
		inet_pton(AF_INET, syn->src, addr);
		if (memcmp(ip + 16, addr, 4))
			return "IPv4 destination is not the SYN's source";
		tcp = ip + 20;
		{
			uint8_t ph[12];

			memcpy(ph, ip + 12, 8);
			ph[8] = 0;
			ph[9] = 6;
			pkt_put16(ph + 10, 20);
			if (csum_fold(csum_add(csum_add(0, ph, 12), tcp, 20)) != 0)
				return "bad TCP checksum (IPv4)";
		}
	} else {
		if (get16(f + off) != 0x86dd)
			return "not IPv6";
		if (len != off + 2 + 60)
			return "IPv6 RST is not exactly 60 bytes of IP";
		if ((ip[0] >> 4) != 6 || get16(ip + 4) != 20 || ip[6] != 6)
			return "bad IPv6 header (version/length/next header)";
		inet_pton(AF_INET6, syn->dst, addr);
		if (memcmp(ip + 8, addr, 16))
			return "IPv6 source is not the SYN's destination";
		inet_pton(AF_INET6, syn->src, addr);
		if (memcmp(ip + 24, addr, 16))
			return "IPv6 destination is not the SYN's source";
		tcp = ip + 40;
		{
			uint8_t ph[40];

			memcpy(ph, ip + 8, 32);
			pkt_put32(ph + 32, 20);
			pkt_put32(ph + 36, 6);
			if (csum_fold(csum_add(csum_add(0, ph, 40), tcp, 20)) != 0)
				return "bad TCP checksum (IPv6)";
		}
	}
	if (get16(tcp) != syn->dport || get16(tcp + 2) != syn->sport)
		return "ports not swapped";
	if ((tcp[12] >> 4) != 5)
		return "TCP data offset is not 5";
	if (tcp[13] != (TCPF_RST | TCPF_ACK))
		return "flags are not RST|ACK";
	if (get32(tcp + 4) != 0) {
		snprintf(why, sizeof(why), "seq %u, want 0", get32(tcp + 4));
		return why;
	}
	if (get32(tcp + 8) != want_ack) {
		snprintf(why, sizeof(why), "ack %u, want %u", get32(tcp + 8), want_ack);
		return why;
	}
	return NULL;
}
