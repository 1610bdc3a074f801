// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * policy.json read through a window (json_stream.h): trusted[] one
 * element at a time, the rest as a small tree.  It must load exactly
 * what a parse of the whole file as one tree loads, with the same
 * messages:
 *   - the same policies and diagnostics as the tree's way, which a
 *     policy whose "trusted" key is written with an escape
 *     ("\u0074rusted") takes (the scanner matches the key's bytes);
 *   - a syntax error anywhere is jansson's message for the whole file;
 *   - from a file: the sha256 of exactly the bytes read, an element
 *     longer than the window, and a file written over in place between
 *     the two passes refused (-ESTALE), not half read.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "json_stream.h"
#include "load.h"
#include "unit.h"

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */

static const struct sg_load_opts opts = { .allow_any_owner = true, .now_unix = NOW };
static char tmpdir[256];

static int make_tmpdir(void **state)
{
	(void)state;
	return ut_make_tmpdir(tmpdir, sizeof(tmpdir), "jstream");
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(tmpdir);
}

static const char *write_file(const char *name, const char *content, size_t len)
{
	static char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

/* s with every "trusted" key written "\u0074rusted": the tree's way. */
static char *escaped_key(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *o = out;

	assert_non_null(out);
	while (*s) {
		if (!strncmp(s, "\"trusted\"", 9)) {
			o += sprintf(o, "\"\\u0074rusted\"");
			s += 9;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static void same_string(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void same_diag(const struct sg_diag *a, const struct sg_diag *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->n_errors, b->n_errors);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->lines[i], b->lines[i]);
		assert_int_equal(a->is_error[i], b->is_error[i]);
	}
}

static void same_policy(const struct sg_policy *a, const struct sg_policy *b)
{
	assert_int_equal(a->n_trusted, b->n_trusted);
	assert_int_equal(a->n_groups, b->n_groups);
	assert_int_equal(a->n_classes, b->n_classes);
	for (size_t i = 0; i < a->n_trusted; i++) {
		const struct sg_trusted_entry *x = &a->trusted[i], *y = &b->trusted[i];

		assert_true(sg_prefix_equal(&x->prefix, &y->prefix));
		assert_int_equal(x->groups, y->groups);
		assert_int_equal(sg_entry_class(x), sg_entry_class(y));
		assert_int_equal(x->expires, y->expires);
		assert_int_equal(x->origin, y->origin);
		same_string(x->ticket, y->ticket);
		same_string(x->owner, y->owner);
		same_string(sg_entry_contact(x), sg_entry_contact(y));
		same_string(sg_entry_note(x), sg_entry_note(y));
	}
	assert_int_equal(a->next_expiry, b->next_expiry);
}

/* text parsed both ways: the same result, the same messages. */
static int both_ways(const char *text, struct sg_diag *d)
{
	char *tree = escaped_key(text);
	struct sg_diag dt = { 0 };
	struct sg_policy ps, pt;
	int rs, rt;

	rs = sg_policy_parse("policy.json", text, strlen(text), &opts, &ps, d);
	rt = sg_policy_parse("policy.json", tree, strlen(tree), &opts, &pt, &dt);
	assert_int_equal(rs, rt);
	same_diag(d, &dt);
	same_policy(&ps, &pt);
	sg_policy_free(&ps);
	sg_policy_free(&pt);
	sg_diag_free(&dt);
	free(tree);
	return rs;
}

/* Strings holding the scanner's delimiters, escapes, CRLF and tabs,
 * trusted[] before the relays and classes it names. */
static const char tricky[] =
	"{\r\n\t\"trusted\" :\t[ {\"addr\": \"10.0.0.1\", \"relays\": [\"in\"], \"ticket\": \"T-]1\","
	" \"owner\": \"o\\\"}{,\", \"note\": \"a \\\\\\\" [b] {c}, \\u00e9\"},\r\n"
	"  {\"addr\":\"2001:db8::/64\",\"relays\":[\"in\"],\"rate\":\"slow\",\"ticket\":\"T-2\","
	"\"owner\":\"o\",\"contact\":\"x@example.com\",\"expires\":\"2027-01-01T00:00:00Z\"} ] ,\n"
	" \"relays\": {\"in\": [{\"addr\": \"198.18.0.25\"}]},\n"
	" \"rate_classes\": {\"slow\": {\"conn_per_sec\": 1}}\n}\n";

static void test_same_as_tree_valid(void **state)
{
	struct sg_diag d = { 0 };

	(void)state;
	assert_int_equal(both_ways(tricky, &d), 0);
	assert_int_equal(d.n_errors, 0);
	sg_diag_free(&d);
	assert_int_equal(both_ways("{\"trusted\": []}", &d), 0);
	sg_diag_free(&d);
	assert_int_equal(both_ways("{\"mode\": \"monitor\"}", &d), 0);
	sg_diag_free(&d);
}

static void test_same_as_tree_errors(void **state)
{
	static const char *const texts[] = {
		/* listed three times, a bad address between, an unknown key */
		"{\"relays\": {\"in\": [{\"addr\": \"198.18.0.25\"}]}, \"trusted\": ["
		"{\"addr\": \"10.0.0.1\", \"relays\": [\"in\"], \"ticket\": \"a\", \"owner\": \"o\"},"
		"{\"addr\": \"10.0.0.300\", \"relays\": [\"in\"], \"ticket\": \"b\", \"owner\": \"o\"},"
		"{\"addr\": \"10.0.0.1\", \"relays\": [\"out\"], \"ticket\": \"c\", \"owner\": \"o\"},"
		"{\"addr\": \"10.0.0.1\", \"relays\": [\"in\"], \"ticket\": \"d\", \"owner\": \"o\", \"tciket\": 1},"
		"\"10.0.0.2\", 7, null]}",
		/* trusted not an array; an unknown top-level key */
		"{\"trusted\": {\"addr\": \"10.0.0.1\"}, \"modes\": 1}",
		/* not an object at the top */
		"[]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct sg_diag d = { 0 };

		assert_int_equal(both_ways(texts[i], &d), -1);
		assert_true(d.n_errors > 0);
		sg_diag_free(&d);
	}
}

/* jansson's own message for the whole text, as sg_j_parse words it. */
static void expect_syntax_error(const char *text)
{
	const char *want_lines[2] = { NULL, NULL };
	struct sg_diag d = { 0 };
	struct sg_policy p;
	char want[512];
	json_error_t je;

	assert_null(json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, &je));
	snprintf(want, sizeof(want), "error: policy.json: line %d, column %d: %s", je.line,
		 je.column, je.text);
	want_lines[0] = want;
	assert_int_equal(sg_policy_parse("policy.json", text, strlen(text), &opts, &p, &d), -1);
	ut_check_diag(&d, want_lines);
	sg_diag_free(&d);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_syntax_error("{\"trusted\": [{\"addr\": \"10.0.0.1\"} {\"addr\": \"10.0.0.2\"}]}");
	expect_syntax_error("{\"trusted\": [{\"addr\": \"10.0.0.1\"},]}");
	expect_syntax_error("{\"trusted\": [{\"addr\": \"10.0.0.1}]}");
	expect_syntax_error("{\"trusted\": [{\"addr\": tru}]}");
	expect_syntax_error("{\"trusted\": [{\"addr\": \"10.0.0.1\", \"addr\": \"x\"}]}");
	expect_syntax_error("{\"trusted\": [{\"addr\": [}]]}");
	expect_syntax_error("{\"trusted\": [], \"mode\": }");
	expect_syntax_error("{\"trusted\": []} x");
	expect_syntax_error("{\"trusted\": [{}]");
	expect_syntax_error("{\"trusted\": [], \"trusted\": []}");
}

/* A file: the sha256 is of every byte read; an element longer than the
 * window (1 MiB) is read whole (and refused for its note's length). */
static void test_file_sha_and_long_element(void **state)
{
	size_t cap = (3u << 20) + 4096, off = 0;
	char *text = malloc(cap), sha[65], want_sha[65];
	struct sg_diag d = { 0 };
	struct sg_policy p;
	const char *path;

	(void)state;
	assert_non_null(text);
	off += (size_t)sprintf(text + off, "{\"relays\": {\"in\": [{\"addr\": \"198.18.0.25\"}]}, "
			       "\"trusted\": [");
	for (int i = 0; i < 5000; i++)
		off += (size_t)sprintf(text + off, "%s{\"addr\": \"10.1.%d.%d\", \"relays\": [\"in\"], "
				       "\"ticket\": \"T-%d\", \"owner\": \"o\"}", i ? "," : "",
				       i / 256, i % 256, i);
	off += (size_t)sprintf(text + off, "]}\n");
	path = write_file("many.json", text, off);
	assert_int_equal(sg_policy_load(path, &opts, &p, sha, &d), 0);
	assert_int_equal(p.n_trusted, 5000);
	assert_string_equal(p.trusted[4999].ticket, "T-4999");
	assert_int_equal(sg_sha256_hex(text, off, want_sha), 0);
	assert_string_equal(sha, want_sha);
	sg_policy_free(&p);
	sg_diag_free(&d);

	/* One element of 2 MiB. */
	off = (size_t)sprintf(text, "{\"relays\": {\"in\": [{\"addr\": \"198.18.0.25\"}]}, \"trusted\": "
			      "[{\"addr\": \"10.0.0.1\", \"relays\": [\"in\"], \"ticket\": \"T\", "
			      "\"owner\": \"o\", \"note\": \"");
	memset(text + off, 'n', 2u << 20);
	off += 2u << 20;
	off += (size_t)sprintf(text + off, "\"}]}");
	path = write_file("long.json", text, off);
	assert_int_equal(sg_policy_load(path, &opts, &p, sha, &d), -1);
	assert_int_equal(d.n_errors, 1);
	assert_non_null(strstr(d.lines[0], "long.json: trusted[0].note: is 2097152 characters long"));
	sg_diag_free(&d);
	free(text);
}

/* Written over in place between the passes: the second pass sees other
 * elements than the first one counted and fingerprinted. */
static void test_changed_between_passes(void **state)
{
	const char *text = "{\"trusted\": [{\"addr\": \"10.0.0.1\"}, {\"addr\": \"10.0.0.2\"}]}";
	const char *path = write_file("changed.json", text, strlen(text));
	struct sg_jsplit sp;
	struct sg_jsrc src;
	int fd = open(path, O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(sg_jsrc_init_fd(&src, fd, 1u << 20, true), 0);
	assert_int_equal(sg_jsplit(&src, &sp), 0);
	assert_int_equal(sp.count, 2);
	assert_int_equal(pwrite(fd, "9", 1, (off_t)(strstr(text, "0.2") - text) + 2), 1);
	assert_int_equal(sg_jsplit_each(&src, &sp, NULL, NULL), -ESTALE);
	sg_jsplit_free(&sp);
	sg_jsrc_free(&src);
	close(fd);
}

/* A policy of n elements, element `bad` (or none: n) replaced by
 * `bad_text`. */
static char *many(int n, int bad, const char *bad_text)
{
	size_t cap = (size_t)n * 128 + 256, off = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	off += (size_t)sprintf(text + off, "{\"relays\": {\"in\": [{\"addr\": \"198.18.0.25\"}]}, "
			       "\"trusted\": [");
	for (int i = 0; i < n; i++) {
		off += (size_t)sprintf(text + off, "%s", i ? "," : "");
		if (i == bad)
			off += (size_t)sprintf(text + off, "%s", bad_text);
		else
			off += (size_t)sprintf(text + off, "{\"addr\": \"10.%d.%d.%d\", \"relays\": "
					       "[\"in\"], \"ticket\": \"T-%d\", \"owner\": \"o%d\"}",
					       i / 65536, i / 256 % 256, i % 256, i, i % 7);
	}
	sprintf(text + off, "]}\n");
	return text;
}

/* Large arrays, many windows' worth of elements: the same policy and
 * messages as the tree, an element jansson refuses deep inside still
 * gives jansson's message for the whole file, and a file changed between
 * the passes is refused after every element was handed over. */
static void test_large_same_as_tree(void **state)
{
	static const char *const bad[] = {
		"{\"addr\": \"10.0.0.300\", \"relays\": [\"in\"], \"ticket\": \"b\", \"owner\": \"o\"}",
		"{\"addr\": \"10.0.0.3\", \"relays\": [\"in\"], \"ticket\": \"dup\", \"owner\": \"o\"}",
		("{\"addr\": \"10.9.0.1\", \"relays\": [\"out\"], \"ticket\": \"c\", \"owner\": \"o\", "
		 "\"tciket\": 1}"),
		"7",
	};
	struct sg_diag d = { 0 };
	char *text;

	(void)state;
	text = many(20000, 20000, "");
	assert_int_equal(both_ways(text, &d), 0);
	assert_int_equal(d.n_errors, 0);
	sg_diag_free(&d);
	free(text);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = many(20000, 13000 + (int)i, bad[i]);
		assert_int_equal(both_ways(text, &d), -1);
		assert_int_equal(d.n_errors, i == 2 ? 2 : 1);
		sg_diag_free(&d);
		free(text);
	}
	/* In the first half too (two threads split 20,000 near 10,000). */
	text = many(20000, 3000, bad[0]);
	assert_int_equal(both_ways(text, &d), -1);
	assert_int_equal(d.n_errors, 1);
	sg_diag_free(&d);
	free(text);
	text = many(20000, 17000, "{\"addr\": \"10.0.0.1}");
	expect_syntax_error(text);
	free(text);
	text = many(20000, 9000, "{\"addr\": tru}");
	expect_syntax_error(text);
	free(text);
}

/* 20,000 elements as many() writes them, but elements at[] have a
 * contact, a note, an expiry (in the past at at[2] if past) and no
 * rate class. */
static char *kinds_text(bool past)
{
	static const char extra[] =
		"{\"addr\": \"2001:db8::%x\", \"relays\": [\"in\"], \"ticket\": \"X-%d\", "
		"\"owner\": \"x\", \"contact\": \"c%d@example.org\", \"note\": \"n\", "
		"\"expires\": \"%d-0%d-01T00:00:00Z\", \"rate\": null}";
	static const int at[] = { 5, 9000, 12000, 19999 };
	size_t off = 0;
	char elem[256], *text = malloc(20000 * 256);

	assert_non_null(text);
	off += (size_t)sprintf(text, "{\"relays\": {\"in\": [{\"addr\": \"198.18.0.25\"}]}, "
			       "\"trusted\": [");
	for (int i = 0, k = 0; i < 20000; i++) {
		if (i == at[k]) {
			snprintf(elem, sizeof(elem), extra, i, i, i, past && k == 2 ? 2020 : 2027, k + 1);
			k += k + 1 < (int)(sizeof(at) / sizeof(at[0]));
		} else {
			snprintf(elem, sizeof(elem), "{\"addr\": \"10.%d.%d.%d\", \"relays\": [\"in\"], "
				 "\"ticket\": \"T-%d\", \"owner\": \"o%d\"}", i / 65536,
				 i / 256 % 256, i % 256, i, i % 7);
		}
		off += (size_t)sprintf(text + off, "%s%s", i ? "," : "", elem);
	}
	sprintf(text + off, "]}\n");
	return text;
}

/* Every element of a few kinds (contact and note, a future expiry, no
 * class) in both halves, one thread against two: the same policy.  And
 * a warning (a past expiry) in the second half: the two threads give
 * up, and the messages are the one thread's. */
static void test_two_threads_same_as_one(void **state)
{
	const struct sg_load_opts one = { .allow_any_owner = true, .now_unix = NOW,
					  .one_thread = true };

	(void)state;
	for (int past = 0; past < 2; past++) {
		struct sg_diag d1 = { 0 }, d2 = { 0 };
		struct sg_policy p1, p2;
		char *text = kinds_text(past);
		unsigned long before = sg_load_two_thread_reads();

		assert_int_equal(sg_policy_parse("policy.json", text, strlen(text), &one, &p1, &d1), 0);
		assert_int_equal(sg_load_two_thread_reads(), before);
		assert_int_equal(sg_policy_parse("policy.json", text, strlen(text), &opts, &p2, &d2), 0);
		/* Read by two threads only when there was nothing to say. */
		assert_int_equal(sg_load_two_thread_reads(), before + !past);
		assert_int_equal(p2.next_expiry, past ? 1583020800 : 1798761600);
		same_diag(&d1, &d2);
		assert_int_equal(d2.n_warnings, past ? 1 : 0);
		same_policy(&p1, &p2);
		assert_int_equal(p2.n_trusted, 20000);
		assert_string_equal(sg_entry_contact(&p2.trusted[12000]), "c12000@example.org");
		assert_int_equal(sg_entry_class(&p2.trusted[19999]), SG_NO_CLASS);
		sg_policy_free(&p1);
		sg_policy_free(&p2);
		sg_diag_free(&d1);
		sg_diag_free(&d2);
		free(text);
	}
}

static void count_element(json_t *v, size_t index, void *ctx)
{
	size_t *seen = ctx;

	assert_int_equal(index, *seen);
	assert_true(json_is_object(v));
	(*seen)++;
}

static void test_large_changed_between_passes(void **state)
{
	char *text = many(6000, 6000, "");
	const char *path = write_file("changed-many.json", text, strlen(text));
	struct sg_jsplit sp;
	struct sg_jsrc src;
	size_t seen = 0;
	int fd = open(path, O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(sg_jsrc_init_fd(&src, fd, 1u << 24, true), 0);
	assert_int_equal(sg_jsplit(&src, &sp), 0);
	assert_int_equal(sp.count, 6000);
	assert_int_equal(sg_jsplit_each(&src, &sp, count_element, &seen), 0);
	assert_int_equal(seen, 6000);
	/* T-5000 becomes T-5001: same length, other bytes. */
	assert_int_equal(pwrite(fd, "1", 1, (off_t)(strstr(text, "\"T-5000\"") - text) + 6), 1);
	seen = 0;
	assert_int_equal(sg_jsplit_each(&src, &sp, count_element, &seen), -ESTALE);
	assert_int_equal(seen, 6000);
	sg_jsplit_free(&sp);
	sg_jsrc_free(&src);
	close(fd);
	free(text);
}

struct in_order {
	size_t next, end;
};

/* Each element of many() is the one its index says ("T-<index>"), in
 * order, within its part. */
static void element_in_order(json_t *v, size_t index, void *ctx)
{
	struct in_order *o = ctx;
	char want[32];

	assert_int_equal(index, o->next);
	assert_true(index < o->end);
	snprintf(want, sizeof(want), "T-%zu", index);
	assert_string_equal(json_string_value(json_object_get(v, "ticket")), want);
	o->next++;
}

/* The two halves of arrays of many sizes (across the marks' thinning):
 * between them every element once, in order, with its own index, each
 * half read through a source of its own; about as many in each. */
static void test_halves_cover(void **state)
{
	static const int sizes[] = { 2, 3, 63, 64, 65, 66, 129, 1000, 4097, 20000 };
	struct sg_jpart part[2];

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int n = sizes[k];
		char *text = many(n, n, "");
		struct sg_jsplit sp;
		struct sg_jsrc src;
		size_t half = (size_t)n / 2;

		sg_jsrc_init_mem(&src, text, strlen(text));
		assert_int_equal(sg_jsplit(&src, &sp), 0);
		assert_false(sg_jsplit_halves(&sp, (size_t)n + 1, part));
		assert_true(sg_jsplit_halves(&sp, (size_t)n, part));
		assert_int_equal(part[0].first, 0);
		assert_int_equal(part[1].first, part[0].count);
		assert_int_equal(part[0].count + part[1].count, n);
		assert_true(part[0].count >= 1 && part[1].count >= 1);
		assert_true((part[0].count > half ? part[0].count - half : half - part[0].count) <=
			    (size_t)n / 32 + 1);
		assert_false(part[0].last);
		assert_true(part[1].last);
		for (int h = 0; h < 2; h++) {
			struct in_order o = { part[h].first, part[h].first + part[h].count };
			struct sg_jsrc own;

			assert_int_equal(sg_jsrc_dup(&src, &own), 0);
			assert_int_equal(sg_jsplit_each_part(&own, &part[h], element_in_order, &o), 0);
			assert_int_equal(o.next, o.end);
			sg_jsrc_free(&own);
		}
		sg_jsplit_free(&sp);
		sg_jsrc_free(&src);
		free(text);
	}
}

/* A file written over in place between the passes: the half whose
 * elements changed says so (-ESTALE), the other reads as before. */
static void test_halves_changed(void **state)
{
	char *text = many(6000, 6000, "");
	const char *path = write_file("changed-halves.json", text, strlen(text));
	struct sg_jpart part[2];
	struct sg_jsplit sp;
	struct sg_jsrc src;
	int fd = open(path, O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(sg_jsrc_init_fd(&src, fd, 1u << 24, true), 0);
	assert_int_equal(sg_jsplit(&src, &sp), 0);
	assert_true(sg_jsplit_halves(&sp, 2, part));
	for (int h = 0; h < 2; h++) {
		/* An element of half h: T-<first + 10> becomes T-<first + 11>
		 * (the same length). */
		char was[32], now[32];
		char *where;
		size_t first = part[h].first + 10;
		struct sg_jsrc own[2];

		snprintf(was, sizeof(was), "\"T-%zu\"", first);
		snprintf(now, sizeof(now), "\"T-%zu\"", first + 1);
		assert_int_equal(strlen(was), strlen(now));
		where = strstr(text, was);
		assert_non_null(where);
		assert_int_equal(pwrite(fd, now, strlen(now), where - text), (ssize_t)strlen(now));
		for (int k = 0; k < 2; k++) {
			assert_int_equal(sg_jsrc_dup(&src, &own[k]), 0);
			assert_int_equal(sg_jsplit_each_part(&own[k], &part[k], NULL, NULL),
					 k == h ? -ESTALE : 0);
			sg_jsrc_free(&own[k]);
		}
		assert_int_equal(pwrite(fd, was, strlen(was), where - text), (ssize_t)strlen(was));
	}
	sg_jsplit_free(&sp);
	sg_jsrc_free(&src);
	close(fd);
	free(text);
}

/* The hash itself, against the FIPS 180-2 examples: the streaming and
 * the whole-buffer paths are compared with it above, not with each other
 * only. */
static void test_sha256_known_answers(void **state)
{
	static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char out[65];

	(void)state;
	assert_int_equal(sg_sha256_hex("abc", 3, out), 0);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(sg_sha256_hex(two_blocks, sizeof(two_blocks) - 1, out), 0);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_int_equal(sg_sha256_hex("", 0, out), 0);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_answers),
		cmocka_unit_test(test_same_as_tree_valid),
		cmocka_unit_test(test_same_as_tree_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_file_sha_and_long_element),
		cmocka_unit_test(test_changed_between_passes),
		cmocka_unit_test(test_large_same_as_tree),
		cmocka_unit_test(test_large_changed_between_passes),
		cmocka_unit_test(test_two_threads_same_as_one),
		cmocka_unit_test(test_halves_cover),
		cmocka_unit_test(test_halves_changed),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
