// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * approvals.json: round trip, names resolved against the policy, orphaned
 * approvals refused, validation messages, and the durability of saving:
 * a crash or a failure before the rename leaves the old file intact and
 * no temporary file behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "load.h"
#include "threads.h"
#include "unit.h"

#define NOW 1767225600LL        /* 2026-01-01T00:00:00Z */

static const struct sg_load_opts opts = { .allow_any_owner = true, .now_unix = NOW };
static char tmpdir[64];

static const char *const policy_json =
	"{\"relays\": {\"internal\": [{\"addr\": \"198.18.0.25\"}],"
	"              \"external\": [{\"addr\": \"2001:db8::25\"}]},"
	" \"rate_classes\": {\"default\": {\"conn_per_sec\": 5}, \"bulk\": {}},"
	" \"trusted\": [{\"addr\": \"198.18.9.9\", \"relays\": [\"internal\"],"
	"               \"ticket\": \"POL-1\", \"owner\": \"policy\"}]}";

static int make_tmpdir(void **state)
{
	(void)state;
	return ut_make_tmpdir(tmpdir, sizeof(tmpdir), "approvals");
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(tmpdir);
}

/* A fresh directory tmpdir/name; *file becomes DIR/approvals.json. */
static void fresh_dir(const char *name, char *dir, char *file)
{
	snprintf(dir, 256, "%s/%s", tmpdir, name);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(file, 300, "%s/approvals.json", dir);
}

static void make_policy(struct sg_policy *p, const char *json)
{
	struct sg_diag d = { 0 };

	assert_int_equal(sg_policy_parse("policy.json", json, strlen(json), &opts, p, &d), 0);
	sg_diag_free(&d);
}

static void add_approval(struct sg_policy *p, const char *prefix, uint64_t groups,
			 uint32_t class_idx, const char *ticket)
{
	struct sg_trusted_extra x = {
		.created = NOW - 3600, .created_by = (char *)"alice (uid 1000)",
	};
	struct sg_trusted_entry t = {
		.groups = groups, .rate_class = SG_ENTRY_CLASS(class_idx),
		.origin = SG_ORIGIN_APPROVAL, .ticket = (char *)ticket, .owner = (char *)"team",
		.extra = &x,
	};

	assert_int_equal(sg_prefix_parse(prefix, &t.prefix, NULL), 0);
	assert_int_equal(sg_policy_add_trusted(p, &t), 0);
}

static char *read_text(const char *path)
{
	char *text = ut_read_text(path);

	assert_non_null(text);
	return text;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Names in dir, comma-separated, sorted by readdir order (one expected). */
static int count_entries(const char *dir, char *names, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	names[0] = '\0';
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		strncat(names, e->d_name, len - strlen(names) - 1);
		strncat(names, " ", len - strlen(names) - 1);
	}
	closedir(d);
	return n;
}

/* Loads the approvals file text against p; diagnostics must be want. */
static int load_text(const char *text, const struct sg_policy *p, size_t *n,
		     const char *const *want)
{
	struct sg_trusted_entry *out = NULL;
	struct sg_diag d = { 0 };
	char path[300];
	int rc;

	snprintf(path, sizeof(path), "%s/approvals.json", tmpdir);
	write_text(path, text, 0600);
	*n = 0;
	rc = sg_approvals_load(path, p, &opts, &out, n, &d);
	ut_check_diag(&d, want);
	for (size_t i = 0; i < *n; i++)
		sg_trusted_entry_free(&out[i]);
	free(out);
	sg_diag_free(&d);
	return rc;
}

#define LOAD_TEXT(text, p, n, ...) \
	load_text((text), (p), (n), (const char *const[]){ __VA_ARGS__ NULL })

/* A valid approval with the given extra keys, for the validation tests. */
#define APPROVAL(extra) "{\"addr\": \"198.18.5.0/24\", \"relays\": [\"internal\"], " \
	"\"ticket\": \"CHG-7\", \"owner\": \"team\", \"created\": \"2025-12-01T10:00:00Z\", " \
	"\"created_by\": \"alice (uid 1000)\"" extra "}"

/* ---- tests ------------------------------------------------------------- */

static void test_missing_file_is_empty(void **state)
{
	struct sg_trusted_entry *out = NULL;
	struct sg_diag d = { 0 };
	struct sg_policy p;
	char path[300];
	size_t n = 0;

	(void)state;
	make_policy(&p, policy_json);
	snprintf(path, sizeof(path), "%s/none/approvals.json", tmpdir);
	assert_int_equal(sg_approvals_load(path, &p, &opts, &out, &n, &d), 0);
	assert_int_equal(n, 0);
	assert_null(out);
	assert_int_equal(d.n, 0);
	sg_policy_free(&p);
}

static void test_round_trip(void **state)
{
	struct sg_trusted_entry *out = NULL, *t;
	struct sg_diag d = { 0 };
	struct sg_err err = { 0 };
	char dir[256], file[300], buf[64], *text;
	struct sg_policy p;
	struct stat st;
	size_t n = 0;

	(void)state;
	make_policy(&p, policy_json);
	add_approval(&p, "198.18.5.0/24", 3, 1, "CHG-7");
	/* An approval's extra is its own (it has created and created_by). */
	p.trusted[1].extra->contact = strdup("ops@example.org");
	p.trusted[1].extra->note = strdup("caf\xc3\xa9 \"quoted\"");
	p.trusted[1].expires = NOW + 86400;
	add_approval(&p, "2001:db8:5::/48", 2, SG_NO_CLASS, "CHG-8");
	add_approval(&p, "198.18.6.1", 1, 0, "CHG-9");
	fresh_dir("roundtrip", dir, file);
	assert_int_equal(sg_approvals_save(file, &p, &err), 0);

	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	text = read_text(file);
	assert_non_null(strstr(text, "\"version\": 1"));
	assert_non_null(strstr(text, "\"rate\": null"));
	assert_non_null(strstr(text, "\"created\": \"2025-12-31T23:00:00Z\""));
	assert_null(strstr(text, "POL-1"));     /* policy.json entries are not approvals */
	free(text);

	assert_int_equal(sg_approvals_load(file, &p, &opts, &out, &n, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(n, 3);
	t = &out[0];
	sg_prefix_format(&t->prefix, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.5.0/24");
	assert_int_equal(t->groups, 3);
	assert_int_equal(sg_entry_class(t), 1);
	assert_int_equal(t->origin, SG_ORIGIN_APPROVAL);
	assert_string_equal(t->ticket, "CHG-7");
	assert_string_equal(t->owner, "team");
	assert_string_equal(sg_entry_contact(t), "ops@example.org");
	assert_string_equal(sg_entry_note(t), "caf\xc3\xa9 \"quoted\"");
	assert_int_equal(t->expires, NOW + 86400);
	assert_int_equal(sg_entry_created(t), NOW - 3600);
	assert_string_equal(sg_entry_created_by(t), "alice (uid 1000)");
	t = &out[1];
	sg_prefix_format(&t->prefix, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8:5::/48");
	assert_int_equal(t->groups, 2);
	/* Unlimited stays unlimited although a class "default" exists. */
	assert_int_equal(sg_entry_class(t), SG_NO_CLASS);
	assert_null(sg_entry_contact(t));
	assert_null(sg_entry_note(t));
	assert_int_equal(t->expires, 0);
	t = &out[2];
	assert_int_equal(t->prefix.len, 128);
	assert_int_equal(sg_entry_class(t), 0);
	for (size_t i = 0; i < n; i++)
		sg_trusted_entry_free(&out[i]);
	free(out);
	sg_policy_free(&p);
}

/* Loading appends to what *out already holds. */
static void test_load_appends(void **state)
{
	struct sg_trusted_entry *out = calloc(1, sizeof(*out));
	struct sg_diag d = { 0 };
	struct sg_err err = { 0 };
	char dir[256], file[300];
	struct sg_policy p;
	size_t n = 1;

	(void)state;
	make_policy(&p, policy_json);
	add_approval(&p, "198.18.7.0/24", 1, 0, "CHG-10");
	fresh_dir("append", dir, file);
	assert_int_equal(sg_approvals_save(file, &p, &err), 0);
	out[0].ticket = strdup("existing");
	assert_int_equal(sg_approvals_load(file, &p, &opts, &out, &n, &d), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].ticket, "existing");
	assert_string_equal(out[1].ticket, "CHG-10");
	for (size_t i = 0; i < n; i++)
		sg_trusted_entry_free(&out[i]);
	free(out);
	sg_policy_free(&p);
}

/* Loads file against p; the tickets of what it loaded, one line each. */
static char *loaded_tickets(const char *file, const struct sg_policy *p)
{
	struct sg_trusted_entry *out = NULL;
	struct sg_diag d = { 0 };
	size_t n = 0, len = 0;
	char *text = calloc(1, 1);

	assert_int_equal(sg_approvals_load(file, p, &opts, &out, &n, &d), 0);
	assert_int_equal(d.n, 0);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(out[i].ticket);

		text = realloc(text, len + k + 2);
		assert_non_null(text);
		memcpy(text + len, out[i].ticket, k);
		text[len + k] = '\n';
		text[len += k + 1] = '\0';
		sg_trusted_entry_free(&out[i]);
	}
	free(out);
	sg_diag_free(&d);
	return text;
}

/* A file the daemon wrote is read one approval at a time (the counter
 * proves it), and gives what the whole parse gives: the same file with
 * its key written with an escape, which the stream's scanner does not
 * take out, is read the plain way (the counter stays) to the same list. */
static void test_streamed(void **state)
{
	struct sg_err err = { 0 };
	char dir[256], file[300], prefix[64], ticket[32];
	struct sg_policy p;
	unsigned long before;
	char *text, *escaped, *streamed, *whole, *at;

	(void)state;
	make_policy(&p, policy_json);
	for (int i = 0; i < 3000; i++) {
		snprintf(prefix, sizeof(prefix), "2001:db8:7:%x::/64", i);
		snprintf(ticket, sizeof(ticket), "CHG-%d", i);
		add_approval(&p, prefix, 1, 0, ticket);
	}
	fresh_dir("streamed", dir, file);
	assert_int_equal(sg_approvals_save(file, &p, &err), 0);
	before = sg_approvals_streamed_reads();
	streamed = loaded_tickets(file, &p);
	assert_int_equal(sg_approvals_streamed_reads(), before + 1);
	assert_non_null(strstr(streamed, "CHG-0\nCHG-1\n"));
	assert_non_null(strstr(streamed, "CHG-2999\n"));

	text = read_text(file);
	at = strstr(text, "\"approvals\"");
	assert_non_null(at);
	escaped = malloc(strlen(text) + 8);
	assert_non_null(escaped);
	sprintf(escaped, "%.*s\"appro\\u0076als\"%s", (int)(at - text), text,
		at + strlen("\"approvals\""));
	write_text(file, escaped, 0600);
	whole = loaded_tickets(file, &p);
	assert_int_equal(sg_approvals_streamed_reads(), before + 1);
	assert_string_equal(whole, streamed);
	free(text);
	free(escaped);
	free(streamed);
	free(whole);
	sg_policy_free(&p);
}

/* Loaded into the policy itself: the same approvals as the array's
 * way, after its own entry, counted, with their texts in its pool. */
static void test_load_into(void **state)
{
	struct sg_trusted_entry *out = NULL;
	struct sg_diag d = { 0 };
	struct sg_err err = { 0 };
	char dir[256], file[300];
	struct sg_policy p, saved;
	size_t n = 0;

	(void)state;
	make_policy(&saved, policy_json);
	add_approval(&saved, "198.18.7.0/24", 1, 0, "CHG-10");
	add_approval(&saved, "2001:db8:7::/48", 3, 1, "CHG-11");
	fresh_dir("into", dir, file);
	assert_int_equal(sg_approvals_save(file, &saved, &err), 0);
	make_policy(&p, policy_json);
	assert_int_equal(sg_approvals_load(file, &p, &opts, &out, &n, &d), 0);
	assert_int_equal(sg_approvals_load_into(file, &p, &opts, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(p.n_trusted, 1 + n);
	assert_int_equal(p.n_approvals, 2);
	assert_string_equal(p.trusted[0].ticket, "POL-1");
	for (size_t i = 0; i < n; i++) {
		const struct sg_trusted_entry *e = &p.trusted[1 + i];

		assert_true(sg_prefix_equal(&e->prefix, &out[i].prefix));
		assert_string_equal(e->ticket, out[i].ticket);
		assert_string_equal(sg_entry_created_by(e), sg_entry_created_by(&out[i]));
		assert_int_equal(e->groups, out[i].groups);
		assert_int_equal(e->origin, SG_ORIGIN_APPROVAL);
		assert_true(e->pooled);
		sg_trusted_entry_free(&out[i]);
	}
	free(out);
	/* A refused file leaves the policy as it was. */
	write_text(file, "{\"version\": 1, \"approvals\": [{}]}", 0600);
	assert_int_equal(sg_approvals_load_into(file, &p, &opts, &d), -1);
	assert_int_equal(p.n_trusted, 3);
	assert_int_equal(p.n_approvals, 2);
	sg_diag_free(&d);
	sg_policy_free(&p);
	sg_policy_free(&saved);
}

/* The journal replayed over approvals loaded into the policy itself
 * touches only the approvals: a "del" (and an "add") of a prefix that
 * policy.json also lists leaves the policy.json entry where it is.  A
 * refused journal takes every appended approval away again. */
static void test_load_into_journal(void **state)
{
	struct sg_diag d = { 0 };
	struct sg_err err = { 0 };
	char dir[256], file[300], journal[320];
	struct sg_policy p, saved;

	(void)state;
	make_policy(&saved, policy_json);
	add_approval(&saved, "198.18.9.9", 1, 0, "SHADOWED");
	add_approval(&saved, "198.18.7.0/24", 1, 0, "CHG-20");
	add_approval(&saved, "198.18.8.0/24", 1, 0, "CHG-21");
	fresh_dir("into_journal", dir, file);
	assert_int_equal(sg_approvals_save(file, &saved, &err), 0);
	snprintf(journal, sizeof(journal), "%s/approvals.journal", dir);
#define BY ",\"owner\":\"o\",\"created\":\"2026-01-01T00:00:00Z\",\"created_by\":\"a\"}}\n"
	write_text(journal,
		   "{\"op\":\"del\",\"addr\":\"198.18.9.9\"}\n"
		   "{\"op\":\"del\",\"addr\":\"198.18.7.0/24\"}\n"
		   "{\"op\":\"add\",\"approval\":{\"addr\":\"198.18.6.0/24\",\"relays\":"
		   "[\"internal\"],\"ticket\":\"CHG-22\"" BY, 0600);
	make_policy(&p, policy_json);
	assert_int_equal(sg_approvals_load_into(file, &p, &opts, &d), 0);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(p.n_trusted, 3);
	assert_int_equal(p.n_approvals, 2);
	assert_string_equal(p.trusted[0].ticket, "POL-1");
	assert_int_equal(p.trusted[0].origin, SG_ORIGIN_POLICY);
	assert_string_equal(p.trusted[1].ticket, "CHG-21");
	assert_string_equal(p.trusted[2].ticket, "CHG-22");
	assert_int_equal(p.trusted[2].origin, SG_ORIGIN_APPROVAL);
	/* A journal record that names a group the policy lacks: refused,
	 * and the policy keeps its one entry, nothing appended. */
	write_text(journal,
		   "{\"op\":\"add\",\"approval\":{\"addr\":\"198.18.5.0/24\",\"relays\":"
		   "[\"nowhere\"],\"ticket\":\"CHG-23\"" BY, 0600);
	sg_policy_free(&p);
	make_policy(&p, policy_json);
	assert_int_equal(sg_approvals_load_into(file, &p, &opts, &d), -1);
	assert_true(d.n_errors > 0);
	assert_int_equal(p.n_trusted, 1);
	assert_int_equal(p.n_approvals, 0);
	assert_string_equal(p.trusted[0].ticket, "POL-1");
#undef BY
	sg_diag_free(&d);
	sg_policy_free(&p);
	sg_policy_free(&saved);
}

/* One line per entry of p from first on, every field: comparable. */
static char *entries_text(const struct sg_policy *p, size_t first)
{
	size_t cap = 256 * (p->n_trusted - first + 1), len = 0;
	char *text = malloc(cap), prefix[SG_PREFIX_STRLEN];

	assert_non_null(text);
	text[0] = '\0';
	for (size_t i = first; i < p->n_trusted; i++) {
		const struct sg_trusted_entry *e = &p->trusted[i];

		sg_prefix_format(&e->prefix, prefix, sizeof(prefix));
		len += (size_t)snprintf(text + len, cap - len, "%s %d %llu %u %lld %lld %s %s %s\n",
					prefix, e->origin, (unsigned long long)e->groups,
					sg_entry_class(e), (long long)e->expires,
					(long long)sg_entry_created(e), e->ticket, e->owner,
					sg_entry_created_by(e));
		assert_true(len < cap);
	}
	return text;
}

/* Many approvals loaded into the policy are read by two threads (the
 * counter proves it) into exactly what one thread reads; a file with
 * something to report (an expired approval) is read in one pass and
 * says so, the same either way. */
static void test_load_into_two_threads(void **state)
{
	struct sg_load_opts one = opts;
	struct sg_err err = { 0 };
	char dir[256], file[300], prefix[64], ticket[32];
	char *two_text, *one_text;
	struct sg_policy p, q, saved;
	struct sg_diag d = { 0 };
	unsigned long before;
	bool threads;

	(void)state;
	one.one_thread = true;
	make_policy(&saved, policy_json);
	add_approval(&saved, "198.18.9.9", 1, 0, "SHADOWED");
	for (int i = 0; i < 20000; i++) {
		snprintf(prefix, sizeof(prefix), "2001:db8:8:%x::/64", i);
		snprintf(ticket, sizeof(ticket), "CHG-%d", i);
		add_approval(&saved, prefix, 1 + (unsigned)(i % 3), (uint32_t)(i % 2), ticket);
	}
	fresh_dir("two_threads", dir, file);
	assert_int_equal(sg_approvals_save(file, &saved, &err), 0);
	threads = sg_second_thread_worth(20001);

	make_policy(&p, policy_json);
	before = sg_load_two_thread_reads();
	assert_int_equal(sg_approvals_load_into(file, &p, &opts, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(sg_load_two_thread_reads(), before + threads);
	make_policy(&q, policy_json);
	assert_int_equal(sg_approvals_load_into(file, &q, &one, &d), 0);
	assert_int_equal(sg_load_two_thread_reads(), before + threads);
	assert_int_equal(p.n_trusted, 1 + 20001);
	assert_int_equal(p.n_approvals, 20001);
	two_text = entries_text(&p, 0);
	one_text = entries_text(&q, 0);
	assert_string_equal(two_text, one_text);
	free(two_text);
	free(one_text);
	sg_policy_free(&p);
	sg_policy_free(&q);

	/* One approval expired: a warning, so one pass, and the same. */
	saved.trusted[5000].expires = NOW - 60;
	assert_int_equal(sg_approvals_save(file, &saved, &err), 0);
	make_policy(&p, policy_json);
	assert_int_equal(sg_approvals_load_into(file, &p, &opts, &d), 0);
	assert_int_equal(d.n_warnings, 1);
	assert_int_equal(sg_load_two_thread_reads(), before + threads);
	make_policy(&q, policy_json);
	assert_int_equal(sg_approvals_load_into(file, &q, &one, &d), 0);
	assert_int_equal(d.n_warnings, 2);
	two_text = entries_text(&p, 0);
	one_text = entries_text(&q, 0);
	assert_string_equal(two_text, one_text);
	assert_string_equal(d.lines[0], d.lines[1]);
	free(two_text);
	free(one_text);
	sg_diag_free(&d);
	sg_policy_free(&p);
	sg_policy_free(&q);

	/* Two approvals of one prefix, nothing else to report: read by two
	 * threads, and refused as one thread refuses it. */
	saved.trusted[5000].expires = 0;
	add_approval(&saved, "2001:db8:8:64::/64", 1, 0, "DUP");
	assert_int_equal(sg_approvals_save(file, &saved, &err), 0);
	make_policy(&p, policy_json);
	assert_int_equal(sg_approvals_load_into(file, &p, &opts, &d), -1);
	assert_int_equal(sg_load_two_thread_reads(), before + 2 * threads);
	assert_int_equal(p.n_trusted, 1);
	make_policy(&q, policy_json);
	assert_int_equal(sg_approvals_load_into(file, &q, &one, &d), -1);
	assert_int_equal(d.n_errors, 2);
	assert_non_null(strstr(d.lines[0], "2001:db8:8:64::/64"));
	assert_string_equal(d.lines[0], d.lines[1]);
	sg_diag_free(&d);
	sg_policy_free(&p);
	sg_policy_free(&q);
	sg_policy_free(&saved);
}

static void test_save_empty(void **state)
{
	char dir[256], file[300], *text;
	struct sg_err err = { 0 };
	struct sg_policy p;
	size_t n;

	(void)state;
	make_policy(&p, policy_json);
	fresh_dir("empty", dir, file);
	assert_int_equal(sg_approvals_save(file, &p, &err), 0);
	text = read_text(file);
	assert_string_equal(text, "{\n  \"version\": 1,\n  \"approvals\": []\n}\n");
	assert_int_equal(LOAD_TEXT(text, &p, &n), 0);
	assert_int_equal(n, 0);
	free(text);
	sg_policy_free(&p);
}

/* A policy that lost a group or class an approval uses is refused, and
 * the message names the approval. */
static void test_orphaned_group_refused(void **state)
{
	struct sg_policy p, smaller;
	size_t n;

	(void)state;
	make_policy(&p, policy_json);
	make_policy(&smaller, "{\"relays\": {\"internal\": [{\"addr\": \"198.18.0.25\"}]},"
		    " \"rate_classes\": {\"default\": {}}}");
	assert_int_equal(LOAD_TEXT("{\"version\": 1, \"approvals\": [{\"addr\": \"198.18.5.0/24\","
				   " \"relays\": [\"internal\", \"external\"], \"rate\": \"default\","
				   " \"ticket\": \"CHG-7\", \"owner\": \"team\", \"created\":"
				   " \"2025-12-01T10:00:00Z\", \"created_by\": \"alice (uid 1000)\"}]}",
				   &smaller, &n,
		"error: approvals.json: approvals[0].relays[1]: the policy has no relay group "
		"\"external\" any more, which approval 198.18.5.0/24 (ticket CHG-7) uses; restore it "
		"in policy.json or remove the approval first (smtpgatectl trust del)",), -1);
	assert_int_equal(n, 0);
	sg_policy_free(&smaller);
	sg_policy_free(&p);
}

static void test_orphaned_class_refused(void **state)
{
	struct sg_policy p;
	size_t n;

	(void)state;
	make_policy(&p, "{\"relays\": {\"internal\": [{\"addr\": \"198.18.0.25\"}]}}");
	assert_int_equal(LOAD_TEXT("{\"version\": 1, \"approvals\": [" APPROVAL(", \"rate\": \"bulk\"")
				   "]}", &p, &n,
		"error: approvals.json: approvals[0].rate: the policy has no rate class \"bulk\" any "
		"more, which approval 198.18.5.0/24 (ticket CHG-7) uses; restore it in policy.json "
		"or remove the approval first (smtpgatectl trust del)",), -1);
	assert_int_equal(n, 0);
	sg_policy_free(&p);
}

static void test_invalid_files(void **state)
{
	struct sg_policy p;
	size_t n;

	(void)state;
	make_policy(&p, policy_json);
	assert_int_equal(LOAD_TEXT("{\"version\": 2, \"approvals\": []}", &p, &n,
		"error: approvals.json: version: 2 is not supported (this smtpgate reads version 1)",),
		-1);
	assert_int_equal(LOAD_TEXT("{\"version\": \"1\", \"approvals\": []}", &p, &n,
		"error: approvals.json: version: must be an integer, not \"1\"",), -1);
	assert_int_equal(LOAD_TEXT("{\"approvals\": {}, \"extra\": 1}", &p, &n,
		"error: approvals.json: unknown key \"extra\"",
		"error: approvals.json: version: missing (required)",
		"error: approvals.json: approvals: must be an array, not an object",), -1);
	assert_int_equal(LOAD_TEXT("{\"version\": 1, \"approvals\": [{\"addr\": \"198.18.5.0/24\","
				   " \"relays\": [\"internal\"], \"ticket\": \"CHG-7\","
				   " \"owner\": \"team\", \"by\": \"x\"}]}", &p, &n,
		"error: approvals.json: approvals[0]: unknown key \"by\"",
		"error: approvals.json: approvals[0].created: missing (required)",
		"error: approvals.json: approvals[0].created_by: missing (required)",), -1);
	assert_int_equal(LOAD_TEXT("{\"version\": 1, \"approvals\": [" APPROVAL("") ","
				   APPROVAL("") "]}", &p, &n,
		"error: approvals.json: approvals[1].addr: 198.18.5.0/24 is listed twice "
		"(approvals[0] and approvals[1])",), -1);
	assert_int_equal(LOAD_TEXT("{\"version\": 1, \"approvals\": [" APPROVAL(", \"created\": 5")
				   "]}", &p, &n,
		"error: approvals.json: line 1, column 193: duplicate object key near '\"created\"'",),
		-1);
	assert_int_equal(LOAD_TEXT("{\"version\": 1, \"approvals\": [{\"addr\": \"198.18.5.0/24\","
				   " \"relays\": [\"internal\"], \"ticket\": \"CHG-7\", \"owner\": "
				   "\"team\", \"created\": \"yesterday\", \"created_by\": \"\"}]}",
				   &p, &n,
		"error: approvals.json: approvals[0].created: \"yesterday\" is not an RFC 3339 time "
		"(like 2027-06-30T00:00:00Z)",
		"error: approvals.json: approvals[0].created_by: must not be empty",), -1);
	sg_policy_free(&p);
}

/* An approval of a prefix policy.json also lists is not an error (the
 * daemon reports it as shadowed). */
static void test_shadowed_is_not_an_error(void **state)
{
	struct sg_policy p;
	size_t n;

	(void)state;
	make_policy(&p, policy_json);
	assert_int_equal(LOAD_TEXT("{\"version\": 1, \"approvals\": [{\"addr\": \"198.18.9.9\","
				   " \"relays\": [\"internal\"], \"ticket\": \"CHG-1\", \"owner\": "
				   "\"team\", \"created\": \"2025-12-01T10:00:00Z\", \"created_by\":"
				   " \"root (uid 0)\"}]}", &p, &n), 0);
	assert_int_equal(n, 1);
	sg_policy_free(&p);
}

static void test_expired_is_a_warning(void **state)
{
	struct sg_policy p;
	size_t n;

	(void)state;
	make_policy(&p, policy_json);
	assert_int_equal(LOAD_TEXT("{\"version\": 1, \"approvals\": ["
				   APPROVAL(", \"expires\": \"2025-12-31T00:00:00+01:00\"") "]}",
				   &p, &n,
		"warning: approvals.json: approvals[0].expires: 2025-12-30T23:00:00Z is in the past: "
		"the entry is loaded but passes no traffic",), 0);
	assert_int_equal(n, 1);
	sg_policy_free(&p);
}

static void test_file_permissions(void **state)
{
	struct sg_trusted_entry *out = NULL;
	struct sg_diag d = { 0 };
	char dir[256], file[300], want[768];
	struct sg_policy p;
	size_t n = 0;

	(void)state;
	make_policy(&p, policy_json);
	fresh_dir("perm", dir, file);
	write_text(file, "{\"version\": 1, \"approvals\": []}", 0620);
	assert_int_equal(sg_approvals_load(file, &p, &opts, &out, &n, &d), -1);
	snprintf(want, sizeof(want), "%s: is group-writable (mode 0620), so others could change "
		 "what it allows; fix with: chmod go-w %s", file, file);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.lines[0], want);
	sg_diag_free(&d);
	sg_policy_free(&p);
}

/* The old file, saved from a policy with one approval. */
static char *save_old(struct sg_policy *p, const char *file)
{
	struct sg_err err = { 0 };

	add_approval(p, "198.18.5.0/24", 1, 0, "OLD-1");
	assert_int_equal(sg_approvals_save(file, p, &err), 0);
	add_approval(p, "198.18.8.0/24", 1, 0, "NEW-2");
	return read_text(file);
}

static void test_crash_before_rename(void **state)
{
	char dir[256], file[300], names[512], *old, *now;
	struct sg_policy p;
	int status;
	pid_t pid;

	(void)state;
	make_policy(&p, policy_json);
	fresh_dir("crash", dir, file);
	old = save_old(&p, file);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sg_err err = { 0 };

		setenv("SG_TEST_CRASH_BEFORE_RENAME", "1", 1);
		sg_approvals_save(file, &p, &err);
		_exit(0);       /* the hook did not fire: the parent fails */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 99);
	now = read_text(file);
	assert_string_equal(now, old);
	assert_null(strstr(now, "NEW-2"));
	assert_int_equal(count_entries(dir, names, sizeof(names)), 1);
	assert_string_equal(names, "approvals.json ");
	free(now);
	free(old);
	sg_policy_free(&p);
}

static void test_failure_before_rename(void **state)
{
	char dir[256], file[300], names[512], want[512], *old, *now;
	struct sg_err err = { 0 };
	struct sg_policy p;

	(void)state;
	make_policy(&p, policy_json);
	fresh_dir("fail", dir, file);
	old = save_old(&p, file);
	setenv("SG_TEST_FAIL_BEFORE_RENAME", "1", 1);
	assert_int_equal(sg_approvals_save(file, &p, &err), -EIO);
	unsetenv("SG_TEST_FAIL_BEFORE_RENAME");
	snprintf(want, sizeof(want), "%s: injected failure before rename "
		 "(SG_TEST_FAIL_BEFORE_RENAME)", file);
	assert_string_equal(err.msg, want);
	now = read_text(file);
	assert_string_equal(now, old);
	assert_int_equal(count_entries(dir, names, sizeof(names)), 1);
	free(now);
	/* Without the hook the same save goes through. */
	assert_int_equal(sg_approvals_save(file, &p, &err), 0);
	now = read_text(file);
	assert_non_null(strstr(now, "NEW-2"));
	free(now);
	free(old);
	sg_policy_free(&p);
}

/* A temporary file left by a crash after it was named does not block
 * the next save, and is gone after it. */
static void test_stale_temp_replaced(void **state)
{
	char dir[256], file[300], tmp[320], names[512];
	struct sg_err err = { 0 };
	struct sg_policy p;

	(void)state;
	make_policy(&p, policy_json);
	fresh_dir("stale", dir, file);
	snprintf(tmp, sizeof(tmp), "%s/.approvals.json.tmp", dir);
	write_text(tmp, "garbage", 0600);
	add_approval(&p, "198.18.5.0/24", 1, 0, "CHG-1");
	assert_int_equal(sg_approvals_save(file, &p, &err), 0);
	assert_int_equal(count_entries(dir, names, sizeof(names)), 1);
	assert_string_equal(names, "approvals.json ");
	sg_policy_free(&p);
}

static void test_save_into_missing_dir(void **state)
{
	char file[300], want[600];
	struct sg_err err = { 0 };
	struct sg_policy p;

	(void)state;
	make_policy(&p, policy_json);
	snprintf(file, sizeof(file), "%s/missing/approvals.json", tmpdir);
	assert_int_equal(sg_approvals_save(file, &p, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s/missing: cannot open the directory: No such file or "
		 "directory", tmpdir);
	assert_string_equal(err.msg, want);
	sg_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_file_is_empty),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_load_appends),
		cmocka_unit_test(test_streamed),
		cmocka_unit_test(test_load_into),
		cmocka_unit_test(test_load_into_journal),
		cmocka_unit_test(test_load_into_two_threads),
		cmocka_unit_test(test_save_empty),
		cmocka_unit_test(test_orphaned_group_refused),
		cmocka_unit_test(test_orphaned_class_refused),
		cmocka_unit_test(test_invalid_files),
		cmocka_unit_test(test_shadowed_is_not_an_error),
		cmocka_unit_test(test_expired_is_a_warning),
		cmocka_unit_test(test_file_permissions),
		cmocka_unit_test(test_crash_before_rename),
		cmocka_unit_test(test_failure_before_rename),
		cmocka_unit_test(test_stale_temp_replaced),
		cmocka_unit_test(test_save_into_missing_dir),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
