// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The usage history's day files (userspace/lib/usage_file*.c): what is
 * written is read back; a day keeps its top sources by passed and by
 * blocked packets and sums the rest, so the sources still add up; a
 * damaged file is refused with its reason, never half-read; a version 1
 * file (no per-source detail) still reads and says so; listing
 * takes day files only, in order; pruning keeps the retention; and the
 * host config's "history" key is read and bounded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "addr.h"
#include "config.h"
#include "load.h"
#include "usage_file.h"
#include "unit.h"

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	return ut_make_tmpdir(dir, sizeof(dir), "usage");
}

static int remove_dir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(dir);
}

static int64_t day(const char *s)
{
	int64_t d = -1;

	assert_int_equal(sg_usage_day_parse(s, &d), 0);
	return d;
}

/* A source with pass packets passed (a connection per 10 packets, 100
 * bytes each) and drop dropped (a third rate_limited, the rest banned). */
static void add_src(struct sg_usage_day *u, const char *addr, uint64_t pass, uint64_t drop)
{
	struct sg_source_stats c = { .packets = { [SG_V_PASS] = pass, [SG_V_DROP] = drop },
				     .conns = pass / 10, .bytes = pass * 100 };
	struct sg_addr a;

	c.blocked[SG_R_RATE_LIMITED - SG_SRC_FIRST_BLOCK] = drop / 3;
	c.blocked[SG_R_BANNED - SG_SRC_FIRST_BLOCK] = drop - drop / 3;
	assert_int_equal(sg_addr_parse(addr, &a, NULL), 0);
	assert_int_equal(sg_usage_add_source(u, &a, &c), 0);
}

static void write_text(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_days(void **state)
{
	char buf[SG_DAY_STRLEN];
	int64_t d;

	(void)state;
	assert_int_equal(day("2025-03-01"), 1740787200);
	assert_int_equal(sg_usage_day_start(1740787200 + 86399), 1740787200);
	assert_int_equal(sg_usage_day_start(1740787200 + 86400), 1740787200 + 86400);
	sg_usage_day_format(1740787200, buf, sizeof(buf));
	assert_string_equal(buf, "2025-03-01");
	assert_int_equal(sg_usage_day_parse("2025-02-29", &d), -EINVAL);
	assert_int_equal(sg_usage_day_parse("2025-3-01", &d), -EINVAL);
	assert_int_equal(sg_usage_day_parse("2025-03-01T00:00:00Z", &d), -EINVAL);
}

static void test_round_trip(void **state)
{
	struct sg_usage_day u = { 0 }, r;
	struct sg_err err = { 0 };
	char path[128], a[SG_PREFIX_STRLEN];

	(void)state;
	u.day = day("2025-07-04");
	u.updated = u.day + 3600;
	u.totals[SG_V_PASS][SG_R_TRUSTED] = (struct sg_counter){ 70, 7000, 7 };
	u.totals[SG_V_DROP][SG_R_RATE_LIMITED] = (struct sg_counter){ 5, 300, 2 };
	u.sources_seen = 2;
	u.source_detail = true;
	add_src(&u, "198.18.1.5", 70, 0);
	add_src(&u, "2001:db8::7", 0, 5);
	u.base = calloc(1, sizeof(*u.base));
	u.base[0] = (struct sg_usage_base){ 3, SG_V_DROP, SG_R_BANNED, { 1, 2, 3 } };
	u.n_base = 1;
	u.has_base = true;
	assert_int_equal(sg_usage_write(dir, &u, 10, &err), 0);
	snprintf(path, sizeof(path), "%s/2025-07-04.json", dir);
	assert_int_equal(sg_usage_read(path, &r, &err), 0);
	assert_int_equal(r.day, u.day);
	assert_int_equal(r.updated, u.updated);
	assert_memory_equal(r.totals, u.totals, sizeof(u.totals));
	assert_int_equal(r.n_src, 2);
	sg_addr_format(&r.src[1].addr, a, sizeof(a));
	assert_string_equal(a, "2001:db8::7");
	assert_int_equal(r.src[1].c.packets[SG_V_DROP], 5);
	assert_memory_equal(&r.src[0].c, &u.src[0].c, sizeof(u.src[0].c));
	assert_memory_equal(&r.src[1].c, &u.src[1].c, sizeof(u.src[1].c));
	assert_int_equal(r.src[0].c.conns, 7);
	assert_int_equal(r.src[0].c.bytes, 7000);
	assert_int_equal(r.src[1].c.blocked[SG_R_RATE_LIMITED - SG_SRC_FIRST_BLOCK], 1);
	assert_int_equal(r.src[1].c.blocked[SG_R_BANNED - SG_SRC_FIRST_BLOCK], 4);
	assert_true(r.source_detail);
	assert_int_equal(r.sources_seen, 2);
	assert_true(r.has_base);
	assert_int_equal(r.n_base, 1);
	assert_int_equal(r.base[0].slot, 3);
	assert_int_equal(r.base[0].reason, SG_R_BANNED);
	assert_int_equal(r.base[0].c.conns, 3);
	sg_usage_day_free(&u);
	sg_usage_day_free(&r);
}

/* top 2: the two biggest senders and the two most blocked are kept, the
 * rest summed in "other", so no packet is lost. */
static void test_top_and_other(void **state)
{
	struct sg_usage_day u = { 0 }, r;
	struct sg_err err = { 0 };
	struct sg_source_stats kept = { 0 };
	char path[128];

	(void)state;
	u.day = day("2025-07-05");
	add_src(&u, "198.18.1.1", 10, 0);
	add_src(&u, "198.18.1.2", 500, 0);
	add_src(&u, "198.18.1.3", 300, 0);
	add_src(&u, "198.18.1.4", 0, 9);
	add_src(&u, "198.18.1.5", 0, 90);
	add_src(&u, "198.18.1.6", 1, 50);
	assert_int_equal(sg_usage_write(dir, &u, 2, &err), 0);
	snprintf(path, sizeof(path), "%s/2025-07-05.json", dir);
	assert_int_equal(sg_usage_read(path, &r, &err), 0);
	assert_int_equal(r.n_src, 4);
	for (size_t i = 0; i < r.n_src; i++) {
		char a[SG_PREFIX_STRLEN];

		sg_addr_format(&r.src[i].addr, a, sizeof(a));
		assert_true(!strcmp(a, "198.18.1.2") || !strcmp(a, "198.18.1.3") ||
			    !strcmp(a, "198.18.1.5") || !strcmp(a, "198.18.1.6"));
		sg_usage_stats_add(&kept, &r.src[i].c);
	}
	/* other: 198.18.1.1 (10 passed) and 198.18.1.4 (9 dropped). */
	assert_int_equal(r.other.packets[SG_V_PASS], 10);
	assert_int_equal(r.other.packets[SG_V_DROP], 9);
	assert_int_equal(r.other.conns, 1);
	assert_int_equal(r.other.bytes, 1000);
	assert_int_equal(r.other.blocked[SG_R_RATE_LIMITED - SG_SRC_FIRST_BLOCK], 3);
	assert_int_equal(r.other.blocked[SG_R_BANNED - SG_SRC_FIRST_BLOCK], 6);
	/* Kept and other add up to what was counted, field by field. */
	sg_usage_stats_add(&kept, &r.other);
	assert_int_equal(kept.packets[SG_V_PASS], 811);
	assert_int_equal(kept.packets[SG_V_DROP], 149);
	assert_int_equal(kept.conns, 1 + 50 + 30 + 0);
	assert_int_equal(kept.bytes, 81100);
	assert_int_equal(kept.blocked[SG_R_RATE_LIMITED - SG_SRC_FIRST_BLOCK], 3 + 30 + 16);
	assert_int_equal(kept.blocked[SG_R_BANNED - SG_SRC_FIRST_BLOCK], 6 + 60 + 34);
	sg_usage_day_free(&u);
	sg_usage_day_free(&r);
}

static void expect_refused(const char *name, const char *text, const char *why)
{
	struct sg_usage_day r;
	struct sg_err err = { 0 };
	char path[128];

	write_text(name, text);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(sg_usage_read(path, &r, &err), -EINVAL);
	if (!strstr(err.msg, why))
		print_message("# %s: %s\n", name, err.msg);
	assert_non_null(strstr(err.msg, why));
	assert_int_equal(r.n_src, 0);
	assert_null(r.src);
}

static void test_damaged_refused(void **state)
{
	(void)state;
	expect_refused("2025-01-01.json", "{\"version\":1,\"day\":\"2025-01-01\"", "not JSON");
	expect_refused("2025-01-02.json", "[]", "not a JSON object");
	expect_refused("2025-01-03.json", "{\"version\":3}", "version 1 or 2");
	expect_refused("2025-01-04.json",
		       "{\"version\":1,\"day\":\"2025-01-04\",\"updated\":\"2025-01-04T01:00:00Z\","
		       "\"other\":{},\"sources_seen\":0,\"counters\":[{\"verdict\":\"pass\","
		       "\"reason\":\"nonsense\",\"packets\":1,\"bytes\":1,\"connections\":1}],"
		       "\"sources\":[]}", "a counter is not");
	expect_refused("2025-01-05.json",
		       "{\"version\":1,\"day\":\"2025-01-05\",\"updated\":\"2025-01-05T01:00:00Z\","
		       "\"other\":{},\"sources_seen\":0,\"counters\":[],"
		       "\"sources\":[{\"source\":\"not an address\",\"packets\":{}}]}",
		       "a source is not");
	expect_refused("2025-01-06.json",
		       "{\"version\":1,\"day\":\"2025-01-06\",\"updated\":\"2025-01-06T01:00:00Z\","
		       "\"other\":{\"pass\":-1},\"sources_seen\":0,\"counters\":[],\"sources\":[]}",
		       "other is not");
	/* Version 2: the per-source detail is required, and its reasons are
	 * those that block. */
	expect_refused("2025-01-07.json",
		       "{\"version\":2,\"day\":\"2025-01-07\",\"updated\":\"2025-01-07T01:00:00Z\","
		       "\"other\":{\"packets\":{},\"connections\":0,\"bytes\":0,\"blocked\":{}},"
		       "\"sources_seen\":0,\"counters\":[],\"sources\":[]}",
		       "source_detail is not");
	expect_refused("2025-01-08.json",
		       "{\"version\":2,\"day\":\"2025-01-08\",\"updated\":\"2025-01-08T01:00:00Z\","
		       "\"other\":{\"packets\":{},\"connections\":0,\"bytes\":0,\"blocked\":{}},"
		       "\"sources_seen\":1,\"source_detail\":true,\"counters\":[],"
		       "\"sources\":[{\"source\":\"198.18.1.1\",\"packets\":{\"pass\":1}}]}",
		       "a source is not {source, packets, connections, bytes, blocked}");
	expect_refused("2025-01-09.json",
		       "{\"version\":2,\"day\":\"2025-01-09\",\"updated\":\"2025-01-09T01:00:00Z\","
		       "\"other\":{\"packets\":{},\"connections\":0,\"bytes\":0,"
		       "\"blocked\":{\"trusted\":1}},\"sources_seen\":0,\"source_detail\":true,"
		       "\"counters\":[],\"sources\":[]}",
		       "other is not {packets, connections, bytes, blocked}");
	/* A version 1 "other" in a version 2 file. */
	expect_refused("2025-01-10.json",
		       "{\"version\":2,\"day\":\"2025-01-10\",\"updated\":\"2025-01-10T01:00:00Z\","
		       "\"other\":{\"pass\":0},\"sources_seen\":0,\"source_detail\":true,"
		       "\"counters\":[],\"sources\":[]}",
		       "other is not");
}

/* A version 1 file (packets per verdict only, per source) still reads,
 * and says that it has no per-source detail; written back, it is a
 * version 2 file that still says so. */
static void test_version1_reads(void **state)
{
	struct sg_usage_day r, again;
	struct sg_err err = { 0 };
	char path[128];

	(void)state;
	write_text("2024-05-01.json",
		   "{\"version\":1,\"day\":\"2024-05-01\",\"updated\":\"2024-05-01T23:00:00Z\","
		   "\"counters\":[{\"verdict\":\"pass\",\"reason\":\"trusted\",\"packets\":60,"
		   "\"bytes\":6000,\"connections\":6}],"
		   "\"sources\":[{\"source\":\"198.18.10.5\",\"packets\":{\"pass\":50}},"
		   "{\"source\":\"198.18.77.7\",\"packets\":{\"drop\":4}}],"
		   "\"other\":{\"pass\":10},\"sources_seen\":3,\"baseline\":[[0,0,0,1,2,3]]}");
	snprintf(path, sizeof(path), "%s/2024-05-01.json", dir);
	assert_int_equal(sg_usage_read(path, &r, &err), 0);
	assert_false(r.source_detail);
	assert_int_equal(r.n_src, 2);
	assert_int_equal(r.src[0].c.packets[SG_V_PASS], 50);
	assert_int_equal(r.src[0].c.conns, 0);
	assert_int_equal(r.src[1].c.packets[SG_V_DROP], 4);
	assert_int_equal(r.other.packets[SG_V_PASS], 10);
	assert_int_equal(r.totals[SG_V_PASS][SG_R_TRUSTED].conns, 6);
	assert_int_equal(r.n_base, 1);
	assert_int_equal(sg_usage_write(dir, &r, 10, &err), 0);
	assert_int_equal(sg_usage_read(path, &again, &err), 0);
	assert_false(again.source_detail);
	assert_int_equal(again.n_src, 2);
	assert_int_equal(again.src[1].c.packets[SG_V_DROP], 4);
	sg_usage_day_free(&r);
	sg_usage_day_free(&again);
}

static void test_list_and_prune(void **state)
{
	struct sg_usage_day u = { 0 };
	struct sg_err err = { 0 };
	const char *days[] = { "2024-01-01", "2024-12-31", "2025-01-02", "2025-06-30", "2025-07-01" };
	int64_t *got;
	size_t n;
	int rc;

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		u.day = day(days[i]);
		assert_int_equal(sg_usage_write(dir, &u, 10, &err), 0);
	}
	write_text("notes.txt", "x");
	write_text("2025-13-01.json", "{}");
	assert_int_equal(sg_usage_list(dir, day("2024-12-31"), day("2025-06-30"), &got, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(got[0], day("2024-12-31"));
	assert_int_equal(got[1], day("2025-01-02"));
	assert_int_equal(got[2], day("2025-06-30"));
	free(got);
	/* 181 days before 2025-07-01 is 2025-01-01: the three before go. */
	rc = sg_usage_prune(dir, day("2025-07-01"), 181, &err);
	assert_int_equal(rc, 2);
	assert_int_equal(sg_usage_list(dir, INT64_MIN, INT64_MAX, &got, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(got[0], day("2025-01-02"));
	free(got);
	assert_int_equal(sg_usage_list("/nonexistent-sg", 0, 1, &got, &n, &err), -ENOENT);
}

static void load_config(const char *json, int want_rc, unsigned days, unsigned top)
{
	struct sg_load_opts o = { .allow_any_owner = true };
	struct sg_host_config c;
	struct sg_diag d = { 0 };
	char path[128];
	int rc;

	write_text("smtpgate.json", json);
	snprintf(path, sizeof(path), "%s/smtpgate.json", dir);
	sg_host_config_init(&c);
	rc = sg_config_load(path, &o, &c, &d);
	if (rc != want_rc)
		sg_diag_print(&d, stderr);
	assert_int_equal(rc, want_rc);
	if (!rc) {
		assert_int_equal(c.history_retention_days, days);
		assert_int_equal(c.history_top_sources, top);
	}
	sg_diag_free(&d);
	sg_host_config_free(&c);
}

static void test_config_key(void **state)
{
	(void)state;
	load_config("{\"interfaces\": []}", 0, 400, 100);
	load_config("{\"history\": {\"retention_days\": 90, \"top_sources\": 5}}", 0, 90, 5);
	load_config("{\"history\": {\"retention_days\": 0}}", -1, 0, 0);
	load_config("{\"history\": {\"keep\": 3}}", -1, 0, 0);
	load_config("{\"history\": {\"top_sources\": 100000}}", -1, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days),
		cmocka_unit_test_setup_teardown(test_round_trip, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_top_and_other, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_damaged_refused, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_version1_reads, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_list_and_prune, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_config_key, make_dir, remove_dir),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
