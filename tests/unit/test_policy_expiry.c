// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sg_policy.next_expiry: every way an entry enters a policy keeps it at
 * or below the entry's deadline, so that the daemon's expiry timer, which
 * looks at the entries only once it has come, never misses one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "policy.h"

static struct sg_trusted_entry entry(uint8_t host, int64_t expires)
{
	struct sg_trusted_entry t = { .expires = expires, .rate_class = SG_ENTRY_NO_CLASS,
				      .origin = SG_ORIGIN_APPROVAL, .ticket = "T-1",
				      .owner = "ops" };

	t.prefix.addr.b[10] = t.prefix.addr.b[11] = 0xff;
	t.prefix.addr.b[12] = 198;
	t.prefix.addr.b[13] = 18;
	t.prefix.addr.b[15] = host;
	t.prefix.len = 128;
	return t;
}

static void test_none_expires(void **state)
{
	struct sg_policy p;

	(void)state;
	sg_policy_init(&p);
	assert_int_equal(p.next_expiry, 0);
	for (uint8_t i = 1; i <= 3; i++) {
		struct sg_trusted_entry t = entry(i, 0);

		assert_int_equal(sg_policy_add_trusted(&p, &t), 0);
	}
	assert_int_equal(p.next_expiry, 0);
	sg_policy_free(&p);
}

/* The earliest deadline wins, whichever add made the entry and in
 * whatever order the deadlines come; entries that never expire do not
 * count. */
static void test_earliest_of_every_add(void **state)
{
	static const int64_t deadlines[] = { 2000000000, 0, 1900000000, 1950000000, 0 };
	struct sg_policy p;

	(void)state;
	sg_policy_init(&p);
	for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
		struct sg_trusted_entry t = entry((uint8_t)(i + 1), deadlines[i]);

		if (i % 2)
			assert_int_equal(sg_policy_add_trusted_pooled(&p, &t), 0);
		else
			assert_int_equal(sg_policy_add_trusted(&p, &t), 0);
		assert_int_equal(p.next_expiry, i < 2 ? 2000000000 : 1900000000);
	}
	/* Whoever acts on expiries moves it on after a pass; a later add
	 * that comes sooner brings it forward again. */
	p.next_expiry = 1950000000;
	struct sg_trusted_entry soon = entry(9, 1800000000);

	assert_int_equal(sg_policy_add_trusted(&p, &soon), 0);
	assert_int_equal(p.next_expiry, 1800000000);
	sg_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none_expires),
		cmocka_unit_test(test_earliest_of_every_add),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
