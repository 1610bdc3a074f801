/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flood frames written in userspace: one TCP segment (IPv4 or IPv6, no
 * options) built once from a template by pkt_build, then rewritten for
 * every frame with a fresh random source address (inside a prefix),
 * source port, sequence number and IPv4 id, and correct checksums, so a
 * spoofed flood really comes from many sources and every frame is one a
 * receiver accepts.  The same frames as tests/tools/xdpgen.bpf.c writes
 * in the kernel, for generators that cannot use live frames.
 */
#ifndef SG_TEST_FLOOD_FRAME_H
#define SG_TEST_FLOOD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "randpkt.h"

#define FLOOD_FRAME_MAX 1514

struct flood_frame_spec {
	const uint8_t *dst_mac, *src_mac;  /* 6 bytes each */
	int v6;
	const uint8_t *dst;                /* 4 or 16 bytes, network order */
	const uint8_t *src;                /* base source, network order */
	const uint8_t *src_rand_mask;      /* source bits drawn per frame (NULL: none) */
	uint16_t dport;
	uint16_t sport;                    /* 0: random per frame */
	uint8_t tcp_flags, ttl;
	size_t size;                       /* frame length; beyond the headers, padding */
	uint64_t seed;                     /* per sender, so threads differ */
};

struct flood_frame {
	uint8_t tmpl[FLOOD_FRAME_MAX];
	size_t len;
	int v6;
	size_t ip_off, tcp_off, tcp_len;
	uint8_t src[16], src_mask[16];
	bool random_src, random_sport;
	uint32_t const_sum;                /* pseudo header and TCP words that never change */
	struct rp_rng rng;
};

/* Builds the template; 0, or -1 if the spec cannot make a frame (size
 * below the headers or above FLOOD_FRAME_MAX). */
int flood_frame_init(struct flood_frame *f, const struct flood_frame_spec *s);

/* Writes the next frame (f->len bytes) into out. */
void flood_frame_next(struct flood_frame *f, uint8_t *out);

#endif
