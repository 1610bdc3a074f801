// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The userspace flood frames (tests/lib/flood_frame.c) that floodgen
 * sends where live frames are refused: every frame must be one a
 * receiver accepts (checksums right, recomputed from scratch here), its
 * source must stay inside the prefix, and a spoofed flood must really
 * come from many sources, or the load tests would prove less than they
 * say (one source fills one per-source slot, not the LRU).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "flood_frame.h"
#include "pkt.h"

#define N_FRAMES 10000

static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0xaa };
static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0xbb };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The TCP checksum of a frame, verified from scratch: the one's
 * complement sum over pseudo header and segment must fold to 0. */
static int tcp_checksum_ok(const uint8_t *f, int v6)
{
	const uint8_t *ip = f + 14, *tcp = ip + (v6 ? 40 : 20);
	uint32_t sum = v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);

	sum += 6 + 20;
	return csum_fold(csum_add(sum, tcp, 20)) == 0;
}

static int in_prefix(const uint8_t *a, const uint8_t *base, unsigned len)
{
	for (unsigned bit = 0; bit < len; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if ((a[bit / 8] & m) != (base[bit / 8] & m))
			return 0;
	}
	return 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void test_ipv4_spoofed(void **state)
{
	uint8_t dst[4], src[4], mask[4] = { 0, 0, 0xff, 0xff }, frame[FLOOD_FRAME_MAX];
	struct flood_frame_spec s = {
		.dst_mac = dst_mac, .src_mac = src_mac, .dst = dst, .src = src,
		.src_rand_mask = mask, .dport = 25, .tcp_flags = TCPF_SYN, .ttl = 64,
		.size = 64, .seed = 1,
	};
	struct flood_frame *ff = malloc(sizeof(*ff));
	uint32_t *sources = calloc(N_FRAMES, sizeof(*sources));
	unsigned distinct = 1, low_ports = 0;

	(void)state;
	inet_pton(AF_INET, "198.18.0.25", dst);
	inet_pton(AF_INET, "198.19.0.0", src);
	assert_int_equal(flood_frame_init(ff, &s), 0);
	assert_int_equal(ff->len, 64);
	for (int i = 0; i < N_FRAMES; i++) {
		const uint8_t *ip = frame + 14, *tcp = ip + 20;

		flood_frame_next(ff, frame);
		assert_memory_equal(frame, dst_mac, 6);
		assert_memory_equal(frame + 6, src_mac, 6);
		assert_int_equal(get16(frame + 12), 0x0800);
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(get16(ip + 2), 40);
		assert_int_equal(ip[8], 64);
		assert_int_equal(ip[9], 6);
		assert_int_equal(csum_fold(csum_add(0, ip, 20)), 0);
		assert_memory_equal(ip + 16, dst, 4);
		assert_true(in_prefix(ip + 12, src, 16));
		assert_int_equal(get16(tcp + 2), 25);
		assert_int_equal(tcp[12] >> 4, 5);
		assert_int_equal(tcp[13], TCPF_SYN);
		assert_true(tcp_checksum_ok(frame, 0));
		low_ports += get16(tcp) < 1024;
		memcpy(&sources[i], ip + 12, 4);
	}
	assert_int_equal(low_ports, 0);
	/* 10,000 draws from 65,536 sources: about 9,270 distinct. */
	qsort(sources, N_FRAMES, sizeof(*sources), cmp_u32);
	for (int i = 1; i < N_FRAMES; i++)
		distinct += sources[i] != sources[i - 1];
	assert_true(distinct > 9000);
	free(sources);
	free(ff);
}

static void test_ipv6_spoofed(void **state)
{
	uint8_t dst[16], src[16], mask[16] = {}, frame[FLOOD_FRAME_MAX];
	struct flood_frame_spec s = {
		.dst_mac = dst_mac, .src_mac = src_mac, .v6 = 1, .dst = dst, .src = src,
		.src_rand_mask = mask, .dport = 587, .sport = 40000, .tcp_flags = TCPF_SYN,
		.ttl = 9, .size = 100, .seed = 2,
	};
	struct flood_frame *ff = malloc(sizeof(*ff));
	uint8_t first[16];

	(void)state;
	memset(mask + 8, 0xff, 8);
	inet_pton(AF_INET6, "2001:db8::25", dst);
	inet_pton(AF_INET6, "2001:db8:99::", src);
	assert_int_equal(flood_frame_init(ff, &s), 0);
	for (int i = 0; i < N_FRAMES; i++) {
		const uint8_t *ip = frame + 14, *tcp = ip + 40;

		flood_frame_next(ff, frame);
		assert_int_equal(get16(frame + 12), 0x86dd);
		assert_int_equal(ip[0] >> 4, 6);
		assert_int_equal(get16(ip + 4), 20);
		assert_int_equal(ip[6], 6);
		assert_int_equal(ip[7], 9);
		assert_true(in_prefix(ip + 8, src, 64));
		assert_memory_equal(ip + 24, dst, 16);
		assert_int_equal(get16(tcp), 40000);
		assert_int_equal(get16(tcp + 2), 587);
		assert_true(tcp_checksum_ok(frame, 1));
		/* Beyond the headers: zero padding up to the frame size. */
		for (size_t b = 14 + 40 + 20; b < 100; b++)
			assert_int_equal(frame[b], 0);
		if (i == 0)
			memcpy(first, ip + 8, 16);
		else if (i == 1)
			assert_memory_not_equal(first, ip + 8, 16);
	}
	free(ff);
}

static void test_fixed_source(void **state)
{
	uint8_t dst[4], src[4], frame[FLOOD_FRAME_MAX];
	struct flood_frame_spec s = {
		.dst_mac = dst_mac, .src_mac = src_mac, .dst = dst, .src = src,
		.dport = 25, .sport = 1234, .tcp_flags = TCPF_SYN | TCPF_ACK, .ttl = 64,
		.size = 50, .seed = 3,
	};
	struct flood_frame *ff = malloc(sizeof(*ff));

	(void)state;
	inet_pton(AF_INET, "198.18.0.25", dst);
	inet_pton(AF_INET, "198.18.2.2", src);
	/* 50 bytes cannot hold Ethernet, IPv4 and TCP headers: refused. */
	assert_int_equal(flood_frame_init(ff, &s), -1);
	s.size = 54;
	assert_int_equal(flood_frame_init(ff, &s), 0);
	for (int i = 0; i < 100; i++) {
		flood_frame_next(ff, frame);
		assert_memory_equal(frame + 14 + 12, src, 4);
		assert_int_equal(get16(frame + 34), 1234);
		assert_int_equal(frame[34 + 13], TCPF_SYN | TCPF_ACK);
		assert_true(tcp_checksum_ok(frame, 0));
	}
	s.size = FLOOD_FRAME_MAX + 1;
	assert_int_equal(flood_frame_init(ff, &s), -1);
	free(ff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_spoofed),
		cmocka_unit_test(test_ipv6_spoofed),
		cmocka_unit_test(test_fixed_source),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
