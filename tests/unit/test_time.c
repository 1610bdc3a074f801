// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * RFC 3339 times and durations, as policy files and smtpgatectl write
 * them: what is accepted, what it means, and that everything else is
 * refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "clock.h"
#include "load.h"

static void expect_time(const char *s, long long want)
{
	long long t = -12345;

	if (sg_parse_rfc3339(s, &t))
		print_message("# refused: %s\n", s);
	assert_int_equal(sg_parse_rfc3339(s, &t), 0);
	assert_int_equal(t, want);
}

static void test_rfc3339_utc(void **state)
{
	(void)state;
	expect_time("2027-06-30T00:00:00Z", 1814313600);
	expect_time("1970-01-01T00:00:00Z", 0);
	expect_time("2026-01-01T00:00:00Z", 1767225600);
	expect_time("2038-01-19T03:14:08Z", 2147483648LL);      /* past 32-bit time_t */
	expect_time("2027-06-30t00:00:00z", 1814313600);        /* RFC 3339 5.6 note */
}

static void test_rfc3339_offsets(void **state)
{
	(void)state;
	expect_time("2027-06-30T02:00:00+02:00", 1814313600);
	expect_time("2027-06-29T19:30:00-04:30", 1814313600);
	expect_time("2027-06-30T00:00:00+00:00", 1814313600);
	expect_time("2027-06-30T00:00:00-00:00", 1814313600);
	expect_time("2027-06-30T23:59:00+23:59", 1814313600);
}

static void test_rfc3339_fraction_dropped(void **state)
{
	(void)state;
	expect_time("2027-06-30T00:00:00.999Z", 1814313600);
	expect_time("2027-06-30T00:00:00.5+02:00", 1814313600 - 7200);
	expect_time("2027-06-30T00:00:00.000000001Z", 1814313600);
}

static void test_rfc3339_calendar(void **state)
{
	(void)state;
	expect_time("2024-02-29T00:00:00Z", 1709164800);        /* leap year */
	expect_time("2000-02-29T00:00:00Z", 951782400);         /* divisible by 400 */
	expect_time("2016-12-31T23:59:60Z", 1483228800);        /* leap second rolls over */
}

static void test_rfc3339_rejects(void **state)
{
	static const char *const bad[] = {
		"", "2027-06-30", "2027-06-30T00:00:00", "2027-06-30 00:00:00Z",
		"2027-06-30T00:00Z", "2027-6-30T00:00:00Z", "27-06-30T00:00:00Z",
		"2027-13-01T00:00:00Z", "2027-00-01T00:00:00Z", "2027-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2027-04-31T00:00:00Z", "2027-06-00T00:00:00Z",
		"2027-06-30T24:00:00Z", "2027-06-30T00:60:00Z", "2027-06-30T00:00:61Z",
		"2027-06-30T00:00:00+2:00", "2027-06-30T00:00:00+0200", "2027-06-30T00:00:00+24:00",
		"2027-06-30T00:00:00+02:60", "2027-06-30T00:00:00.Z", "2027-06-30T00:00:00Z ",
		" 2027-06-30T00:00:00Z", "2027-06-30T00:00:00ZZ", "2027-06-30T00:00:00UTC",
		"+2027-06-30T00:00:00Z", "2027-06-30T00:00:00,5Z", "now", "+30d",
		"2027-06-30T00:00:00\n",
	};
	long long t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sg_parse_rfc3339(bad[i], &t) != -EINVAL)
			print_message("# accepted: \"%s\"\n", bad[i]);
		assert_int_equal(sg_parse_rfc3339(bad[i], &t), -EINVAL);
	}
	assert_int_equal(sg_parse_rfc3339(NULL, &t), -EINVAL);
	assert_int_equal(t, 42);        /* untouched on failure */
}

static void test_format_rfc3339(void **state)
{
	char buf[40];
	long long back;

	(void)state;
	sg_format_rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	sg_format_rfc3339(1814313600, buf, sizeof(buf));
	assert_string_equal(buf, "2027-06-30T00:00:00Z");
	sg_format_rfc3339(1709251199, buf, sizeof(buf));
	assert_string_equal(buf, "2024-02-29T23:59:59Z");
	assert_int_equal(sg_parse_rfc3339(buf, &back), 0);
	assert_int_equal(back, 1709251199);
	/* Too small a buffer gives an empty string, never a cut-off time. */
	sg_format_rfc3339(0, buf, 10);
	assert_string_equal(buf, "");
	/* A year under 1000 keeps its four digits, so it reads back (an
	 * approval "created" in 0226 once did not: found by fuzz_approvals). */
	assert_int_equal(sg_parse_rfc3339("0226-12-01T10:00:00Z", &back), 0);
	sg_format_rfc3339(back, buf, sizeof(buf));
	assert_string_equal(buf, "0226-12-01T10:00:00Z");
}

static void expect_duration(const char *s, long long want)
{
	long long d = -1;

	assert_int_equal(sg_parse_duration(s, &d), 0);
	assert_int_equal(d, want);
}

static void test_durations(void **state)
{
	(void)state;
	expect_duration("30d", 30 * 86400);
	expect_duration("12h", 12 * 3600);
	expect_duration("90m", 90 * 60);
	expect_duration("45s", 45);
	expect_duration("2w", 14 * 86400);
	expect_duration("+30d", 30 * 86400);
	expect_duration("1s", 1);
	expect_duration("007m", 420);
	expect_duration("5228w", 5228LL * 7 * 86400);   /* about 100 years: the limit */
}

static void test_duration_rejects(void **state)
{
	static const char *const bad[] = {
		"", "0s", "0d", "+0h", "-1d", "-30d", "30", "d", "+", "+d", "30x", "30D", "30 d",
		" 30d", "30d ", "1.5h", "1h30m", "++1d", "0x10s", "1e3s", "30dd",
	};
	long long d = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sg_parse_duration(bad[i], &d) != -EINVAL)
			print_message("# accepted: \"%s\"\n", bad[i]);
		assert_int_equal(sg_parse_duration(bad[i], &d), -EINVAL);
	}
	assert_int_equal(sg_parse_duration(NULL, &d), -EINVAL);
	assert_int_equal(d, 42);
}

static void test_duration_overflow(void **state)
{
	long long d = 42;

	(void)state;
	assert_int_equal(sg_parse_duration("99999999999999999999999s", &d), -ERANGE);
	assert_int_equal(sg_parse_duration("9223372036854775807s", &d), -ERANGE);
	assert_int_equal(sg_parse_duration("15250284452471w", &d), -ERANGE);
	assert_int_equal(sg_parse_duration("5229w", &d), -ERANGE);
	assert_int_equal(d, 42);
}

/* Expiry dates become data-plane deadlines in nanoseconds: dates whose
 * nanoseconds do not fit 64 bits must neither wrap into the past (a
 * 9999 date meant "never" and expired at once) nor into the future. */
static void test_deadline_far_future(void **state)
{
	const uint64_t years_200 = 200ull * 365 * 86400 * 1000000000ull;
	static const long long far[] = {
		SG_EXPIRES_MAX,         /* 2262-01-01: the last date taken */
		32503679999LL,          /* 2999-12-31T23:59:59Z */
		253402300799LL,         /* 9999-12-31T23:59:59Z */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		uint64_t now = sg_boot_ns(), dl = sg_deadline_from_unix(far[i]);

		if (dl <= now + years_200)
			print_message("# %lld: deadline %llu, now %llu\n", far[i],
				      (unsigned long long)dl, (unsigned long long)now);
		assert_true(dl > now + years_200);
		/* Shown back as a wall-clock time no later than the limit. */
		assert_true(sg_unix_from_boot(dl) <= SG_EXPIRES_MAX);
		assert_true(sg_unix_from_boot(dl) >= SG_EXPIRES_MAX - 1);
	}
}

static void test_deadline_past_and_never(void **state)
{
	(void)state;
	assert_int_equal(sg_deadline_from_unix(0), 0);                 /* never */
	assert_int_equal(sg_deadline_from_unix(1), 1);                 /* 1970 */
	assert_int_equal(sg_deadline_from_unix(1577836800LL), 1);      /* 2020 */
	assert_int_equal(sg_deadline_from_unix(-62135596800LL), 1);    /* year 1 */
	assert_int_equal(sg_deadline_from_unix(-9223372036854775807LL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_utc),
		cmocka_unit_test(test_rfc3339_offsets),
		cmocka_unit_test(test_rfc3339_fraction_dropped),
		cmocka_unit_test(test_rfc3339_calendar),
		cmocka_unit_test(test_rfc3339_rejects),
		cmocka_unit_test(test_format_rfc3339),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_duration_rejects),
		cmocka_unit_test(test_duration_overflow),
		cmocka_unit_test(test_deadline_far_future),
		cmocka_unit_test(test_deadline_past_and_never),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
