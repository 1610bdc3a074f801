// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Bloom filter's hash (sg_bloom_bit, shared by the data plane and
 * the loader): with 100,000 trusted keys in a 2^23-bit filter, addresses
 * that are not trusted must hit a set bit about 1 - e^(-n/m) = 1.2 % of
 * the time.  Each false hit costs an untrusted packet a hash probe, so a
 * hash that clusters structured keys (hosts of one subnet, /24s that
 * differ in one octet) would quietly slow the drop path down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "smtpgate/abi.h"

#define N_KEYS   100000
#define N_PROBES 1000000

static uint64_t *filter;
static uint64_t rng_state = 0x426c6f6f6d21ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static struct sg_lpm_key v4_key(uint32_t host_order, unsigned len)
{
	struct sg_lpm_key k = { .prefixlen = len };
	uint32_t mask = len >= 128 ? ~0u : ~0u << (128 - len);

	k.addr.w[2] = htonl(0x0000ffff);
	k.addr.w[3] = htonl(host_order & mask);
	return k;
}

static void set_bit(const struct sg_lpm_key *k)
{
	uint32_t b = sg_bloom_bit(k);

	filter[b / 64] |= 1ull << (b % 64);
}

static int has_bit(const struct sg_lpm_key *k)
{
	uint32_t b = sg_bloom_bit(k);

	return (filter[b / 64] >> (b % 64)) & 1;
}

static int setup(void **state)
{
	(void)state;
	filter = calloc(SG_BLOOM_WORDS, sizeof(*filter));
	return filter ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(filter);
	return 0;
}

/* Fraction of N_PROBES keys made by probe() that find their bit set. */
static double false_hits(struct sg_lpm_key (*probe)(uint32_t i))
{
	unsigned hits = 0;

	for (uint32_t i = 0; i < N_PROBES; i++) {
		struct sg_lpm_key k = probe(i);

		hits += has_bit(&k);
	}
	return (double)hits / N_PROBES;
}

static struct sg_lpm_key probe_other_hosts(uint32_t i)
{
	/* 198.20.0.0 and up: never among the trusted keys below. */
	return v4_key(0xc6140000u + i, 128);
}

static struct sg_lpm_key probe_random_v6(uint32_t i)
{
	struct sg_lpm_key k = { .prefixlen = 128 };

	(void)i;
	k.addr.w[0] = htonl(0x20010db8);
	k.addr.w[1] = (uint32_t)rng();
	k.addr.w[2] = (uint32_t)rng();
	k.addr.w[3] = (uint32_t)rng();
	return k;
}

/* 100,000 consecutive hosts of 198.18.0.0/15: the most structured set
 * an operator could approve. */
static void test_consecutive_hosts(void **state)
{
	double fp;

	(void)state;
	memset(filter, 0, SG_BLOOM_WORDS * sizeof(*filter));
	for (uint32_t i = 0; i < N_KEYS; i++) {
		struct sg_lpm_key k = v4_key(0xc6120000u + i, 128);

		set_bit(&k);
	}
	fp = false_hits(probe_other_hosts);
	print_message("consecutive hosts: %.2f %% false hits (v4), ", fp * 100);
	assert_true(fp < 0.025);
	fp = false_hits(probe_random_v6);
	print_message("%.2f %% (random v6)\n", fp * 100);
	assert_true(fp < 0.025);
}

/* 100,000 consecutive /24s: keys that differ only in the third octet and
 * up, with the host octet zero. */
static void test_consecutive_nets(void **state)
{
	double fp;

	(void)state;
	memset(filter, 0, SG_BLOOM_WORDS * sizeof(*filter));
	for (uint32_t i = 0; i < N_KEYS; i++) {
		struct sg_lpm_key k = v4_key(0x01000000u + (i << 8), 96 + 24);

		set_bit(&k);
	}
	fp = false_hits(probe_other_hosts);
	print_message("consecutive /24s: %.2f %% false hits for hosts\n", fp * 100);
	assert_true(fp < 0.025);
}

/* The same address under another prefix length is another key. */
static void test_length_matters(void **state)
{
	unsigned same = 0;

	(void)state;
	for (uint32_t i = 0; i < N_KEYS; i++) {
		struct sg_lpm_key a = v4_key((uint32_t)rng() & 0xffffff00u, 96 + 24);
		struct sg_lpm_key b = a;

		b.prefixlen = 128;
		same += sg_bloom_bit(&a) == sg_bloom_bit(&b);
	}
	assert_true(same < N_KEYS / 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consecutive_hosts),
		cmocka_unit_test(test_consecutive_nets),
		cmocka_unit_test(test_length_matters),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
