// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Addresses and prefixes as text: what is taken, what is refused and
 * with which message.  IPv4 is kept as IPv4-mapped IPv6 (addr.h), so an
 * IPv6 prefix reaching into ::ffff:0:0/96 would alias IPv4 sources: it
 * is refused, naming what to write instead.  Prefix lengths are digits
 * and nothing else.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "addr.h"

static void expect_prefix(const char *text, const char *formatted, unsigned len)
{
	struct sg_err err = { 0 };
	struct sg_prefix p;
	char buf[SG_PREFIX_STRLEN];

	if (sg_prefix_parse(text, &p, &err))
		print_message("# refused \"%s\": %s\n", text, err.msg);
	assert_int_equal(sg_prefix_parse(text, &p, &err), 0);
	sg_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, formatted);
	assert_int_equal(p.len, len);
}

static void expect_prefix_refused(const char *text, const char *msg)
{
	struct sg_err err = { 0 };
	struct sg_prefix p;

	if (!sg_prefix_parse(text, &p, &err))
		print_message("# accepted \"%s\"\n", text);
	assert_int_equal(sg_prefix_parse(text, &p, &err), -EINVAL);
	assert_string_equal(err.msg, msg);
}

static void test_prefixes_taken(void **state)
{
	(void)state;
	expect_prefix("10.0.0.0/8", "10.0.0.0/8", 104);
	expect_prefix("0.0.0.0/0", "0.0.0.0/0", 96);
	expect_prefix("10.20.1.5", "10.20.1.5", 128);
	expect_prefix("10.20.1.5/32", "10.20.1.5", 128);
	expect_prefix("2001:db8::/32", "2001:db8::/32", 32);
	expect_prefix("2000::/3", "2000::/3", 3);
	expect_prefix("2001:db8::1", "2001:db8::1", 128);
	/* ::/96 (IPv4-compatible, deprecated) and ::/95 do not reach
	 * ::ffff:0:0/96. */
	expect_prefix("::/96", "::/96", 96);
	expect_prefix("::/95", "::/95", 95);
	expect_prefix("::1", "::1", 128);
	expect_prefix("10.0.0.0/08", "10.0.0.0/8", 104);
}

static void test_v6_prefix_over_v4_refused(void **state)
{
	static const char *const over[] = {
		"::/0", "::/1", "::/64", "::/80", "::fffe:0:0/95",
	};
	char want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\" contains ::ffff:0:0/96, where smtpgate keeps "
			 "IPv4 addresses, so it would match every IPv4 source as well: write IPv6 "
			 "prefixes that leave ::ffff:0:0/96 out (2000::/3 is all global unicast "
			 "IPv6) and IPv4 prefixes for IPv4 (0.0.0.0/0 is all of it)", over[i]);
		expect_prefix_refused(over[i], want);
	}
}

static void test_v4_mapped_refused(void **state)
{
	(void)state;
	expect_prefix_refused("::ffff:0:0/96", "\"::ffff:0:0/96\" is an IPv4-mapped IPv6 prefix, "
			      "which smtpgate treats as the IPv4 prefix 0.0.0.0/0: write 0.0.0.0/0 "
			      "instead");
	expect_prefix_refused("::ffff:10.0.0.0/104", "\"::ffff:10.0.0.0/104\" is an IPv4-mapped "
			      "IPv6 prefix, which smtpgate treats as the IPv4 prefix 10.0.0.0/8: "
			      "write 10.0.0.0/8 instead");
	expect_prefix_refused("::ffff:10.20.1.5", "\"::ffff:10.20.1.5\" is an IPv4-mapped IPv6 "
			      "address, which smtpgate treats as the IPv4 address 10.20.1.5: write "
			      "10.20.1.5 instead");
	expect_prefix_refused("::FFFF:a14:105/128", "\"::FFFF:a14:105/128\" is an IPv4-mapped "
			      "IPv6 address, which smtpgate treats as the IPv4 address 10.20.1.5: "
			      "write 10.20.1.5 instead");
}

static void test_addr_v4_mapped_refused(void **state)
{
	struct sg_err err = { 0 };
	struct sg_addr a;

	(void)state;
	assert_int_equal(sg_addr_parse("::ffff:192.0.2.25", &a, &err), -EINVAL);
	assert_string_equal(err.msg, "\"::ffff:192.0.2.25\" is an IPv4-mapped IPv6 address, "
			    "which smtpgate treats as the IPv4 address 192.0.2.25: write 192.0.2.25 "
			    "instead");
	assert_int_equal(sg_addr_parse("192.0.2.25", &a, &err), 0);
	assert_true(sg_addr_is_v4(&a));
	assert_int_equal(sg_addr_parse("2001:db8::25", &a, &err), 0);
	assert_false(sg_addr_is_v4(&a));
}

/* strtoul skipped leading blanks and took a sign; inet_pton never did. */
static void test_lengths_strict(void **state)
{
	static const char *const bad4[] = {
		"10.0.0.0/ 8", "10.0.0.0/+8", "10.0.0.0/-8", "10.0.0.0/8 ", "10.0.0.0/0x8",
		"10.0.0.0/\t8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/0008", "10.0.0.0/8/8",
		"10.0.0.0/\n8",
	};
	static const char *const bad6[] = {
		"2001:db8::/ 32", "2001:db8::/+32", "2001:db8::/129", "2001:db8::/32x",
	};
	char want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\": prefix length must be 0-32", bad4[i]);
		expect_prefix_refused(bad4[i], want);
	}
	for (size_t i = 0; i < sizeof(bad6) / sizeof(bad6[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\": prefix length must be 0-128", bad6[i]);
		expect_prefix_refused(bad6[i], want);
	}
	expect_prefix_refused(" 10.0.0.0/8", "\" 10.0.0.0/8\" is not an IP prefix");
	expect_prefix_refused("/8", "\"/8\" is not an IP prefix");
	expect_prefix_refused("", "\"\" is not an IP prefix");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixes_taken),
		cmocka_unit_test(test_v6_prefix_over_v4_refused),
		cmocka_unit_test(test_v4_mapped_refused),
		cmocka_unit_test(test_addr_v4_mapped_refused),
		cmocka_unit_test(test_lengths_strict),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
