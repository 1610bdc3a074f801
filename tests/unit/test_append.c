// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Whole-line appends (userspace/lib/append.c), the audit log's writer:
 * a line is in the file entirely or not at all.  A simulated write(2)
 * makes short writes and a full disk happen on demand: a short write is
 * continued, a full disk leaves the file exactly as it was (no partial
 * line for the next one to be glued onto) and reports the error, never
 * a stale errno as success.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "append.h"
#include "unit.h"

static char tmpdir[64];

/* The simulated disk: each write takes at most `chunk` bytes (0: all),
 * and after `room` bytes in total it is full (-1: never). */
static size_t chunk;
static long room = -1;
static int calls;

static ssize_t fake_write(int fd, const void *buf, size_t len)
{
	calls++;
	if (room == 0) {
		errno = ENOSPC;
		return -1;
	}
	if (chunk && len > chunk)
		len = chunk;
	if (room > 0 && (long)len > room)
		len = (size_t)room;
	if (room > 0)
		room -= (long)len;
	/* A short write leaves errno alone: whatever it was stays. */
	return write(fd, buf, len);
}

/* A write that takes nothing and says nothing. */
static ssize_t zero_write(int fd, const void *buf, size_t len)
{
	(void)fd;
	(void)buf;
	(void)len;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	chunk = 0;
	room = -1;
	calls = 0;
	sg_append_write_fn = fake_write;
	return 0;
}

static int make_tmpdir(void **state)
{
	(void)state;
	return ut_make_tmpdir(tmpdir, sizeof(tmpdir), "append");
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(tmpdir);
}

static void path_of(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static void expect_text(const char *path, const char *want)
{
	char *text = ut_read_text(path);

	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
}

static int append(const char *path, const char *line, struct sg_err *err)
{
	return sg_append_line(path, line, strlen(line), NULL, err);
}

static void test_lines_append(void **state)
{
	struct sg_err err = { 0 };
	char path[128];

	(void)state;
	path_of("plain", path, sizeof(path));
	assert_int_equal(append(path, "{\"a\":1}\n", &err), 0);
	assert_int_equal(append(path, "{\"b\":2}\n", &err), 0);
	expect_text(path, "{\"a\":1}\n{\"b\":2}\n");
}

static void test_short_writes_are_continued(void **state)
{
	struct sg_err err = { 0 };
	char path[128];

	(void)state;
	path_of("short", path, sizeof(path));
	chunk = 3;
	errno = 0; /* the stale errno a short write leaves: not an error */
	assert_int_equal(append(path, "{\"long\":\"line\"}\n", &err), 0);
	expect_text(path, "{\"long\":\"line\"}\n");
	assert_true(calls > 1);
}

static void test_full_disk_leaves_no_partial_line(void **state)
{
	struct sg_err err = { 0 };
	char path[128];

	(void)state;
	path_of("full", path, sizeof(path));
	assert_int_equal(append(path, "{\"first\":1}\n", &err), 0);
	/* Room for 5 bytes of the next line: a short write, then ENOSPC. */
	room = 5;
	errno = 0;
	assert_int_equal(append(path, "{\"second\":2}\n", &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "No space left on device"));
	expect_text(path, "{\"first\":1}\n");
	/* Space again: the next line starts a line, whole. */
	room = -1;
	assert_int_equal(append(path, "{\"third\":3}\n", &err), 0);
	expect_text(path, "{\"first\":1}\n{\"third\":3}\n");
}

static void test_no_progress_is_a_full_disk(void **state)
{
	struct sg_err err = { 0 };
	char path[128];

	(void)state;
	path_of("zero", path, sizeof(path));
	assert_int_equal(append(path, "{\"first\":1}\n", &err), 0);
	sg_append_write_fn = zero_write;
	errno = 0;
	assert_int_equal(append(path, "{\"second\":2}\n", &err), -ENOSPC);
	expect_text(path, "{\"first\":1}\n");
}

static void test_torn_line_is_terminated(void **state)
{
	struct sg_err err = { 0 };
	char path[128];
	int fd;

	(void)state;
	path_of("torn", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"a\":1}\n{\"to", 12), 12);
	close(fd);
	assert_int_equal(append(path, "{\"b\":2}\n", &err), 0);
	expect_text(path, "{\"a\":1}\n{\"to\n{\"b\":2}\n");
}

static void test_retract_takes_the_line_back(void **state)
{
	struct sg_err err = { 0 };
	struct sg_append_mark mark;
	char path[128];

	(void)state;
	path_of("retract", path, sizeof(path));
	assert_int_equal(append(path, "{\"a\":1}\n", &err), 0);
	assert_int_equal(sg_append_line(path, "{\"b\":2}\n", 8, &mark, &err), 0);
	expect_text(path, "{\"a\":1}\n{\"b\":2}\n");
	assert_int_equal(sg_append_retract(&mark, &err), 0);
	assert_int_equal(mark.fd, -1);
	expect_text(path, "{\"a\":1}\n");
	/* Kept: done closes without cutting. */
	assert_int_equal(sg_append_line(path, "{\"c\":3}\n", 8, &mark, &err), 0);
	sg_append_done(&mark);
	expect_text(path, "{\"a\":1}\n{\"c\":3}\n");
}

static void test_retract_after_copytruncate_is_a_no_op(void **state)
{
	struct sg_err err = { 0 };
	struct sg_append_mark mark;
	char path[128];

	(void)state;
	path_of("rotated", path, sizeof(path));
	assert_int_equal(append(path, "{\"a\":1}\n", &err), 0);
	assert_int_equal(sg_append_line(path, "{\"b\":2}\n", 8, &mark, &err), 0);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(sg_append_retract(&mark, &err), 0);
	expect_text(path, "");
}

static void test_symlink_is_refused(void **state)
{
	struct sg_err err = { 0 };
	char path[128], target[128];

	(void)state;
	path_of("target", target, sizeof(target));
	path_of("link", path, sizeof(path));
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(append(path, "{\"a\":1}\n", &err), -ELOOP);
	assert_int_equal(access(target, F_OK), -1);
}

/* The descriptor variant (events.jsonl): the same guarantee, no fsync. */
static void test_fd_append_whole_or_nothing(void **state)
{
	char path[128];
	int fd;

	(void)state;
	path_of("events", path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	chunk = 2;
	assert_int_equal(sg_append_fd(fd, "{\"e\":1}\n", 8), 0);
	room = 4;
	assert_int_equal(sg_append_fd(fd, "{\"e\":2}\n", 8), -ENOSPC);
	expect_text(path, "{\"e\":1}\n");
	room = -1;
	assert_int_equal(sg_append_fd(fd, "{\"e\":3}\n", 8), 0);
	expect_text(path, "{\"e\":1}\n{\"e\":3}\n");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lines_append, setup),
		cmocka_unit_test_setup(test_short_writes_are_continued, setup),
		cmocka_unit_test_setup(test_full_disk_leaves_no_partial_line, setup),
		cmocka_unit_test_setup(test_no_progress_is_a_full_disk, setup),
		cmocka_unit_test_setup(test_torn_line_is_terminated, setup),
		cmocka_unit_test_setup(test_retract_takes_the_line_back, setup),
		cmocka_unit_test_setup(test_retract_after_copytruncate_is_a_no_op, setup),
		cmocka_unit_test_setup(test_symlink_is_refused, setup),
		cmocka_unit_test_setup(test_fd_append_whole_or_nothing, setup),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
