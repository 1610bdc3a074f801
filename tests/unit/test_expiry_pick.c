// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sg_expiry_pick: the entries /metrics lists with their expiry are
 * exactly the max that expire first (ties to the earlier entry), the
 * same as sorting every expiring entry and taking the head; entries
 * without an expiry are never picked but the count of expiring ones is
 * always whole.  Checked on fixed cases and on random policies against
 * that sort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "expiry_pick.h"

#define N 5000

static struct sg_trusted_entry entries[N];

static struct sg_policy policy(const int64_t *expires, size_t n)
{
	struct sg_policy p = { .trusted = entries, .n_trusted = n, .cap_trusted = N };

	memset(entries, 0, sizeof(entries));
	for (size_t i = 0; i < n; i++)
		entries[i].expires = expires[i];
	return p;
}

static int by_expiry_then_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (entries[x].expires != entries[y].expires)
		return entries[x].expires < entries[y].expires ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int by_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The reference: every expiring entry sorted, the first max. */
static size_t reference(const struct sg_policy *p, size_t max, size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_trusted; i++)
		if (p->trusted[i].expires)
			out[n++] = i;
	qsort(out, n, sizeof(*out), by_expiry_then_index);
	return n < max ? n : max;
}

/* pick's answer, sorted by index, against the reference's. */
static void check(const struct sg_policy *p, size_t max)
{
	static size_t got[N], want[N];
	size_t expiring = 0, total = 0;
	size_t n = sg_expiry_pick(p, max, got, &expiring);
	size_t m = reference(p, max, want);

	for (size_t i = 0; i < p->n_trusted; i++)
		total += p->trusted[i].expires != 0;
	assert_int_equal(expiring, total);
	assert_int_equal(n, m);
	qsort(got, n, sizeof(*got), by_index);
	qsort(want, m, sizeof(*want), by_index);
	assert_memory_equal(got, want, n * sizeof(*got));
}

static void test_fixed_cases(void **state)
{
	/* 0: never; the past (1) and a tie (300 twice) included. */
	static const int64_t e[] = { 0, 500, 300, 0, 1, 300, 900, 200 };
	struct sg_policy p = policy(e, sizeof(e) / sizeof(e[0]));
	size_t out[8];
	size_t expiring = 99;

	(void)state;
	/* The three soonest: 1 (entry 4), 200 (7), then the tie at 300
	 * goes to entry 2, not 5. */
	assert_int_equal(sg_expiry_pick(&p, 3, out, &expiring), 3);
	assert_int_equal(expiring, 6);
	qsort(out, 3, sizeof(*out), by_index);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 4);
	assert_int_equal(out[2], 7);
	/* None asked: none picked, still counted. */
	assert_int_equal(sg_expiry_pick(&p, 0, out, &expiring), 0);
	assert_int_equal(expiring, 6);
	/* More asked than there are: every expiring entry, no other. */
	assert_int_equal(sg_expiry_pick(&p, 8, out, NULL), 6);
	qsort(out, 6, sizeof(*out), by_index);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[5], 7);
	for (size_t max = 0; max <= 8; max++)
		check(&p, max);
}

static void test_none_expire(void **state)
{
	static const int64_t e[4] = { 0 };
	struct sg_policy p = policy(e, 4);
	size_t out[4];
	size_t expiring = 99;

	(void)state;
	assert_int_equal(sg_expiry_pick(&p, 4, out, &expiring), 0);
	assert_int_equal(expiring, 0);
}

static void test_random_policies(void **state)
{
	static int64_t e[N];
	static const size_t maxes[] = { 1, 2, 7, 100, 2499, 4999, 5000 };
	uint64_t seed = 0x2545f4914f6cdd1dull;

	(void)state;
	for (int round = 0; round < 20; round++) {
		/* Few distinct expiries in some rounds: many ties. */
		uint64_t spread = round % 2 ? 50 : 1000000;

		for (size_t i = 0; i < N; i++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			e[i] = seed % 4 ? (int64_t)(1 + seed / 4 % spread) : 0;
		}
		struct sg_policy p = policy(e, N);

		for (size_t k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++)
			check(&p, maxes[k]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_cases),
		cmocka_unit_test(test_none_expire),
		cmocka_unit_test(test_random_policies),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
