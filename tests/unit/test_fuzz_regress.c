// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Regressions found by the fuzz targets (tests/fuzz, docs/testing.md):
 * each test is the logic of one crash, its input kept in the target's
 * corpus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "clock.h"
#include "load.h"

/* fuzz_control: trust.add with "expires": "4198-..." overflowed the
 * nanoseconds in sg_deadline_from_unix (signed overflow, and an entry
 * that expired at once or at a random time).  RFC 3339 allows years up
 * to 9999 and from 0000. */
static void test_deadline_far_future(void **state)
{
	long long t;
	uint64_t now = sg_boot_ns();

	(void)state;
	assert_int_equal(sg_parse_rfc3339("4198-06-30T00:00:00Z", &t), 0);
	assert_true(sg_deadline_from_unix(t) > now + 100ull * 365 * 86400 * 1000000000ull);
	assert_int_equal(sg_parse_rfc3339("9999-12-31T23:59:59Z", &t), 0);
	assert_int_equal(sg_deadline_from_unix(t), UINT64_MAX);
	/* The last second that still fits keeps its exact deadline. */
	assert_true(sg_deadline_from_unix(INT64_MAX / 1000000000ll) > now);
	assert_true(sg_deadline_from_unix(INT64_MAX / 1000000000ll) < UINT64_MAX);
}

static void test_deadline_before_1970(void **state)
{
	long long t;

	(void)state;
	assert_int_equal(sg_parse_rfc3339("0001-01-01T00:00:00Z", &t), 0);
	assert_int_equal(sg_deadline_from_unix(t), 1);
	assert_int_equal(sg_deadline_from_unix(-1), 1);
	assert_int_equal(sg_deadline_from_unix(0), 0);
	assert_int_equal(sg_deadline_from_unix(1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_far_future),
		cmocka_unit_test(test_deadline_before_1970),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
