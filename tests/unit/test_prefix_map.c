// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The prefix -> value map (prefix_map.c) against a plain array: random
 * adds, sets, deletes, retains (the reload's in-place pass), reserves
 * and fits, over few distinct keys in a small table, so that runs are
 * long and wrap around its end, where backward-shift deletion is most
 * easily wrong.  After every step each key's answer equals the array's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "prefix_map.h"
#include "randpkt.h"

#define KEYS 300
#define NONE (-1L)

static struct rp_rng rng;

static uint64_t next_rand(void)
{
	return rp_u64(&rng);
}

/* Key k: IPv4 /32s, /24s and IPv6 /64s with the same address bytes, so
 * that prefixes differing only by length are distinct keys. */
static struct sg_prefix key(unsigned k)
{
	struct sg_prefix p = { 0 };

	p.addr.b[10] = p.addr.b[11] = 0xff;
	p.addr.b[12] = 198;
	p.addr.b[13] = 18;
	p.addr.b[14] = (uint8_t)(k / 3 / 200);
	p.addr.b[15] = (uint8_t)(k / 3 % 200);
	p.len = k % 3 == 0 ? 128 : k % 3 == 1 ? 120 : 64;
	return p;
}

static void check_all(const struct sg_prefix_map *m, const long *ref)
{
	size_t n = 0;

	for (unsigned k = 0; k < KEYS; k++) {
		struct sg_prefix p = key(k);

		assert_int_equal(sg_prefix_map_get(m, &p), ref[k]);
		n += ref[k] != NONE;
	}
	assert_int_equal(sg_prefix_map_size(m), n);
}

/* retain's keep(): values with the bit of the round set survive. */
static bool keep_bit(uint32_t value, void *ctx)
{
	return value & *(uint32_t *)ctx;
}

static void test_matches_reference(void **state)
{
	long ref[KEYS];
	struct sg_prefix_map *m = sg_prefix_map_new(4);

	(void)state;
	assert_non_null(m);
	for (unsigned k = 0; k < KEYS; k++)
		ref[k] = NONE;
	for (int step = 0; step < 20000; step++) {
		unsigned k = (unsigned)(next_rand() % KEYS), op = (unsigned)(next_rand() % 100);
		struct sg_prefix p = key(k);
		uint32_t v = (uint32_t)(next_rand() & SG_PREFIX_MAP_VALUE_MAX);

		if (op < 50) {
			int rc = sg_prefix_map_add(m, &p, v);

			assert_int_equal(rc, ref[k] == NONE ? 0 : -EEXIST);
			if (!rc)
				ref[k] = v;
		} else if (op < 60) {
			assert_int_equal(sg_prefix_map_set(m, &p, v), ref[k] == NONE ? -ENOENT : 0);
			if (ref[k] != NONE)
				ref[k] = v;
		} else if (op < 90) {
			sg_prefix_map_del(m, &p);
			ref[k] = NONE;
		} else if (op < 93) {
			uint32_t bit = 1u << (next_rand() % 4);
			size_t gone = 0, n = 0;

			for (unsigned j = 0; j < KEYS; j++) {
				if (ref[j] != NONE && !((uint32_t)ref[j] & bit)) {
					ref[j] = NONE;
					gone++;
				}
				n += ref[j] != NONE;
			}
			assert_int_equal(sg_prefix_map_retain(m, keep_bit, &bit), gone);
			assert_int_equal(sg_prefix_map_size(m), n);
		} else if (op < 96) {
			assert_int_equal(sg_prefix_map_reserve(m, next_rand() % 64), 0);
		} else if (op < 98) {
			sg_prefix_map_fit(m);
		} else {
			sg_prefix_map_shrink(m);
		}
		check_all(m, ref);
	}
	sg_prefix_map_free(m);
}

/* A reserve makes room for that many adds with no growth on the way:
 * what the reload counts on to hold one table, not two at once. */
static void test_reserve_then_add(void **state)
{
	struct sg_prefix_map *m = sg_prefix_map_new(1);
	long ref[KEYS];

	(void)state;
	assert_non_null(m);
	assert_int_equal(sg_prefix_map_reserve(m, KEYS), 0);
	for (unsigned k = 0; k < KEYS; k++) {
		struct sg_prefix p = key(k);

		assert_int_equal(sg_prefix_map_add(m, &p, k), 0);
		ref[k] = k;
	}
	check_all(m, ref);
	/* Keep only values with bit 0: half of them; then fit gives room back
	 * only when the table is mostly empty, and answers stay. */
	uint32_t bit = 1;

	assert_int_equal(sg_prefix_map_retain(m, keep_bit, &bit), KEYS / 2);
	for (unsigned k = 0; k < KEYS; k++)
		if (!(k & 1))
			ref[k] = NONE;
	sg_prefix_map_fit(m);
	check_all(m, ref);
	sg_prefix_map_free(m);
}

/* A table sized for far more than it gets (an index read from tables
 * with room to spare), shrunk: the same answers, and it grows again. */
static void test_shrink_then_add(void **state)
{
	struct sg_prefix_map *m = sg_prefix_map_new(100 * KEYS);
	long ref[KEYS];

	(void)state;
	assert_non_null(m);
	for (unsigned k = 0; k < KEYS; k++) {
		struct sg_prefix p = key(k);

		ref[k] = k < KEYS / 2 ? (long)k : NONE;
		if (k < KEYS / 2)
			assert_int_equal(sg_prefix_map_add(m, &p, k), 0);
	}
	sg_prefix_map_shrink(m);
	check_all(m, ref);
	for (unsigned k = KEYS / 2; k < KEYS; k++) {
		struct sg_prefix p = key(k);

		assert_int_equal(sg_prefix_map_add(m, &p, k), 0);
		ref[k] = k;
	}
	check_all(m, ref);
	sg_prefix_map_shrink(m);
	check_all(m, ref);
	sg_prefix_map_free(m);
}

int main(void)
{
	rp_seed(&rng, 0x243f6a8885a308d3ull);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_reference),
		cmocka_unit_test(test_reserve_then_add),
		cmocka_unit_test(test_shrink_then_add),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
