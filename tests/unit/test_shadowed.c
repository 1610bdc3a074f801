// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The policy's index of policy.json prefixes (prefix_set.c) and the
 * shadowing answer built on it: on random policies, with additions and
 * removals in random order, every answer equals the old one, a scan of
 * the whole policy, and the set equals a brute-force reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"
#include "prefix_set.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Few distinct values, so that collisions, duplicates and shadowing are
 * common: IPv4 /32s and /24s of 198.18.0.0/22 and a few IPv6 /64s. */
static struct sg_prefix random_prefix(void)
{
	struct sg_prefix p = { 0 };
	uint64_t r = next_rand();

	if (r % 5 == 0) {
		p.addr.b[0] = 0x20;
		p.addr.b[1] = 0x01;
		p.addr.b[2] = 0x0d;
		p.addr.b[3] = 0xb8;
		p.addr.b[7] = (uint8_t)(r >> 8) & 7;
		p.len = 64;
		return p;
	}
	p.addr.b[10] = p.addr.b[11] = 0xff;
	p.addr.b[12] = 198;
	p.addr.b[13] = 18;
	p.addr.b[14] = (uint8_t)((r >> 8) & 3);
	if (r % 3 == 0) {
		p.len = 96 + 24;
	} else {
		p.addr.b[15] = (uint8_t)(r >> 16);
		p.len = 128;
	}
	return p;
}

/* What sgd_is_shadowed() did before the index: a scan. */
static bool scan_shadowed(const struct sg_policy *p, const struct sg_trusted_entry *t)
{
	if (t->origin != SG_ORIGIN_APPROVAL)
		return false;
	for (size_t i = 0; i < p->n_trusted; i++)
		if (p->trusted[i].origin == SG_ORIGIN_POLICY &&
		    sg_prefix_equal(&p->trusted[i].prefix, &t->prefix))
			return true;
	return false;
}

static void add_entry(struct sg_policy *p, int origin)
{
	struct sg_trusted_entry t = { .prefix = random_prefix(), .origin = origin,
				      .ticket = (char *)"T-1", .owner = (char *)"tests" };

	assert_int_equal(sg_policy_add_trusted(p, &t), 0);
}

static void check_all(const struct sg_policy *p)
{
	for (size_t i = 0; i < p->n_trusted; i++)
		assert_int_equal(sg_policy_is_shadowed(p, &p->trusted[i]),
				 scan_shadowed(p, &p->trusted[i]));
	/* Prefixes not in the policy too. */
	for (int k = 0; k < 64; k++) {
		struct sg_trusted_entry t = { .prefix = random_prefix(),
					      .origin = SG_ORIGIN_APPROVAL };

		assert_int_equal(sg_policy_is_shadowed(p, &t), scan_shadowed(p, &t));
	}
}

static void test_shadowing_matches_the_scan(void **state)
{
	(void)state;
	for (int round = 0; round < 40; round++) {
		struct sg_policy p;
		size_t n = next_rand() % 600;

		sg_policy_init(&p);
		/* Half the rounds index an already filled policy, half an
		 * empty one that add then keeps up to date. */
		if (round % 2)
			assert_int_equal(sg_policy_index(&p), 0);
		for (size_t i = 0; i < n; i++)
			add_entry(&p, next_rand() % 3 ? SG_ORIGIN_APPROVAL : SG_ORIGIN_POLICY);
		assert_int_equal(sg_policy_index(&p), 0);
		assert_non_null(p.policy_prefixes);
		check_all(&p);
		/* Removals anywhere, of both origins, and more additions. */
		for (int step = 0; step < 300 && p.n_trusted; step++) {
			if (next_rand() % 3)
				sg_policy_remove_trusted(&p, next_rand() % p.n_trusted);
			else
				add_entry(&p, next_rand() % 2 ? SG_ORIGIN_APPROVAL
							    : SG_ORIGIN_POLICY);
			if (step % 25 == 0)
				check_all(&p);
		}
		check_all(&p);
		sg_policy_free(&p);
		assert_null(p.policy_prefixes);
	}
}

/* The set against a plain array of (prefix, count), through growth and
 * backward-shift deletions. */
static void test_set_matches_reference(void **state)
{
	enum { REF = 4096 };
	static struct sg_prefix keys[REF];
	static unsigned counts[REF];
	size_t n_keys = 0, distinct = 0;
	struct sg_prefix_set *s = sg_prefix_set_new(0);

	(void)state;
	assert_non_null(s);
	for (int step = 0; step < 40000; step++) {
		struct sg_prefix p = random_prefix();
		size_t k;

		for (k = 0; k < n_keys && !sg_prefix_equal(&keys[k], &p); k++)
			;
		if (k == n_keys) {
			assert_true(n_keys < REF);
			keys[n_keys++] = p;
		}
		if (next_rand() % 2) {
			assert_int_equal(sg_prefix_set_add(s, &p), 0);
			distinct += !counts[k]++;
		} else {
			sg_prefix_set_del(s, &p);
			if (counts[k])
				distinct -= !--counts[k];
		}
		assert_int_equal(sg_prefix_set_size(s), distinct);
		if (step % 1000 == 0)
			for (size_t j = 0; j < n_keys; j++)
				assert_int_equal(sg_prefix_set_has(s, &keys[j]), counts[j] > 0);
	}
	for (size_t j = 0; j < n_keys; j++)
		assert_int_equal(sg_prefix_set_has(s, &keys[j]), counts[j] > 0);
	sg_prefix_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shadowing_matches_the_scan),
		cmocka_unit_test(test_set_matches_reference),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
