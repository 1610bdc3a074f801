// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The policy's index (policy_index.c) and the answers built on it: on
 * random policies, with additions and removals in random order, whether
 * an approval is shadowed, where a prefix's entry is, where its approval
 * is, and how many approvals there are each equal a scan of the whole
 * policy; the counted set equals a brute-force reference; and the Bloom
 * filter never forgets a prefix and says "maybe" of others about as
 * rarely as its sizing promises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"
#include "prefix_filter.h"
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

/* The first entry with prefix, or with approval the last approval. */
static long scan_find(const struct sg_policy *p, const struct sg_prefix *prefix, bool approval)
{
	long found = -1;

	for (size_t i = 0; i < p->n_trusted; i++)
		if ((!approval || p->trusted[i].origin == SG_ORIGIN_APPROVAL) &&
		    sg_prefix_equal(&p->trusted[i].prefix, prefix) && (approval || found < 0))
			found = (long)i;
	return found;
}

static void check_lookups(const struct sg_policy *p, const struct sg_trusted_entry *t)
{
	assert_int_equal(sg_policy_is_shadowed(p, t), scan_shadowed(p, t));
	assert_int_equal(sg_policy_find_trusted(p, &t->prefix), scan_find(p, &t->prefix, false));
	assert_int_equal(sg_policy_find_approval(p, &t->prefix), scan_find(p, &t->prefix, true));
}

static void add_entry(struct sg_policy *p, int origin)
{
	struct sg_trusted_entry t = { .prefix = random_prefix(), .origin = origin,
				      .ticket = (char *)"T-1", .owner = (char *)"tests" };

	assert_int_equal(sg_policy_add_trusted(p, &t), 0);
}

static void check_all(const struct sg_policy *p)
{
	size_t approvals = 0;

	for (size_t i = 0; i < p->n_trusted; i++) {
		check_lookups(p, &p->trusted[i]);
		approvals += p->trusted[i].origin == SG_ORIGIN_APPROVAL;
	}
	assert_int_equal(p->n_approvals, approvals);
	/* Prefixes not in the policy too. */
	for (int k = 0; k < 64; k++) {
		struct sg_trusted_entry t = { .prefix = random_prefix(),
					      .origin = SG_ORIGIN_APPROVAL };

		check_lookups(p, &t);
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
		assert_non_null(p.index);
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
		assert_null(p.index);
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

/* Distinct prefixes: the IPv6 /128 2001:db8:<i>. */
static struct sg_prefix nth_prefix(uint32_t i)
{
	struct sg_prefix p = { .len = 128 };

	p.addr.b[0] = 0x20;
	p.addr.b[1] = 0x01;
	p.addr.b[2] = 0x0d;
	p.addr.b[3] = 0xb8;
	memcpy(&p.addr.b[12], &i, sizeof(i));
	return p;
}

static void filter_add_nth(struct sg_prefix_filter *f, uint32_t i)
{
	struct sg_prefix p = nth_prefix(i);

	sg_prefix_filter_add(f, &p);
}

static bool filter_may_have_nth(const struct sg_prefix_filter *f, uint32_t i)
{
	struct sg_prefix p = nth_prefix(i);

	return sg_prefix_filter_may_have(f, &p);
}

/* Filled to its size, and then to twice it: every prefix added is still
 * "maybe", and others are "maybe" at about the promised rate (0.06 %
 * when full; at twice its size the rate it would grow to, which is why
 * the index replaces a full filter). */
static void test_filter(void **state)
{
	enum { N = 50000, PROBES = 200000 };
	struct sg_prefix_filter *f = sg_prefix_filter_new(N);
	size_t room, maybe = 0;

	(void)state;
	assert_non_null(f);
	room = sg_prefix_filter_room(f);
	assert_true(room >= N);
	for (uint32_t i = 0; i < room; i++)
		filter_add_nth(f, i);
	assert_false(sg_prefix_filter_full(f));
	for (uint32_t i = 0; i < room; i++)
		assert_true(filter_may_have_nth(f, i));
	for (uint32_t i = 0; i < PROBES; i++)
		maybe += filter_may_have_nth(f, 0x80000000u + i);
	/* 0.06 % of 200,000 is 116: well below 400, well above a broken
	 * hash's 0 only by chance, so both ways a wrong filter shows. */
	assert_true(maybe > 30 && maybe < 400);
	filter_add_nth(f, (uint32_t)room);
	assert_true(sg_prefix_filter_full(f));
	sg_prefix_filter_free(f);
}

/* A policy indexed while empty takes policy.json entries far past the
 * filter's first size (it is rebuilt larger on the way), then a new
 * approval must neither be called shadowed nor cost a scan to find
 * absent: find_trusted of a prefix no entry has answers -1 however
 * large the policy. */
static void test_index_grows(void **state)
{
	struct sg_prefix gone;
	struct sg_policy p;

	(void)state;
	sg_policy_init(&p);
	assert_int_equal(sg_policy_index(&p), 0);
	for (uint32_t i = 0; i < 20000; i++) {
		struct sg_trusted_entry t = { .prefix = nth_prefix(i), .origin = SG_ORIGIN_POLICY };

		assert_int_equal(sg_policy_add_trusted(&p, &t), 0);
	}
	assert_non_null(p.index);
	for (uint32_t i = 0; i < 20000; i += 97) {
		struct sg_trusted_entry t = { .prefix = nth_prefix(i), .origin = SG_ORIGIN_APPROVAL };

		assert_int_equal(sg_policy_find_trusted(&p, &t.prefix), (long)i);
		assert_true(sg_policy_is_shadowed(&p, &t));
	}
	for (uint32_t i = 20000; i < 21000; i++) {
		struct sg_trusted_entry t = { .prefix = nth_prefix(i), .origin = SG_ORIGIN_APPROVAL };

		assert_int_equal(sg_policy_find_trusted(&p, &t.prefix), -1);
		assert_int_equal(sg_policy_add_trusted(&p, &t), 0);
		assert_false(sg_policy_is_shadowed(&p, &p.trusted[p.n_trusted - 1]));
		assert_int_equal(sg_policy_find_approval(&p, &t.prefix), (long)p.n_trusted - 1);
	}
	assert_int_equal(p.n_approvals, 1000);
	sg_policy_remove_trusted(&p, 20500);
	assert_int_equal(p.n_approvals, 999);
	gone = nth_prefix(20500);
	assert_int_equal(sg_policy_find_approval(&p, &gone), -1);
	sg_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shadowing_matches_the_scan),
		cmocka_unit_test(test_set_matches_reference),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_index_grows),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
