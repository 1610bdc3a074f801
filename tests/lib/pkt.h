/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test packet builder: Ethernet frames with VLAN tags, IPv4 (options,
 * fragments) or IPv6 (extension headers, fragments), TCP (options,
 * payload) or another protocol, with correct checksums.  Written for the
 * tests, independently of the BPF parser it exercises.
 */
#ifndef SG_TEST_PKT_H
#define SG_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 2048

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10

/* IPv6 extension header kinds for pkt_spec.v6_ext[] */
#define V6_HOP  0
#define V6_RT   43
#define V6_FRAG 44
#define V6_AH   51
#define V6_DST  60

struct pkt_spec {
	int v6;                  /* 0: IPv4, 1: IPv6 */
	const char *src;         /* address text of the family */
	const char *dst;
	uint16_t sport, dport;
	uint8_t flags;           /* TCP flags */
	uint8_t proto;           /* 0 = TCP (6) */
	uint32_t seq, ack;
	int n_vlan;              /* tags, outermost first */
	uint16_t vlan_tpid[4];   /* 0 = 0x8100 */
	int ip_opt_len;          /* IPv4 options, bytes (multiple of 4, <= 40) */
	int n_ext;               /* IPv6 extension headers, in order */
	uint8_t ext[16];
	int ext_len[16];         /* bytes each (0: minimum 8); FRAG is always 8 */
	int frag;                /* 1: this is a fragment (IPv4 or IPv6 FRAG ext) */
	uint16_t frag_off;       /* fragment offset in 8-byte units */
	int mf;                  /* more-fragments flag */
	int tcp_opt_len;         /* TCP options, bytes (multiple of 4, <= 40) */
	int payload;             /* payload bytes after the L4 header */
	int l4_len_override;     /* >0: L4 bytes actually present (cuts the header) */
	int ip_len_delta;        /* added to the IPv4 total / IPv6 payload length field */
	int ip_version_override; /* nonzero: write this IP version */
	int ihl_override;        /* nonzero: write this IPv4 IHL */
	int doff_override;       /* nonzero: write this TCP data offset */
};

/* Builds the frame into buf; returns its length. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap);

/* What a RST sent back for a SYN built from `syn` must look like:
 * returns NULL if frame is that RST (checksums verified), else a
 * description of the first thing wrong. */
const char *pkt_check_rst(const uint8_t *frame, size_t len, const struct pkt_spec *syn);

/* Big-endian stores. */
void pkt_put16(uint8_t *p, uint16_t v);
void pkt_put32(uint8_t *p, uint32_t v);

/* One's-complement checksum helpers. */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_fold(uint32_t sum);

#endif
