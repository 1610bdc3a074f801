// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The daemon's directories and own files (safe_path.h): a directory
 * others may write is refused with the fix in the message; a file is
 * never opened through a planted symbolic link, FIFO or hard link, and
 * nothing is written or created through one.
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
#include "safe_path.h"
#include "unit.h"

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	return ut_make_tmpdir(tmpdir, sizeof(tmpdir), "safepath");
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(tmpdir);
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_file_text(const char *path, const char *want)
{
	char *got = ut_read_text(path);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_regular_file_opened(void **state)
{
	struct sg_err err = { 0 };
	char path[128];
	int fd;

	(void)state;
	path_of(path, sizeof(path), "audit.jsonl");
	fd = sg_open_own_file(path, O_WRONLY | O_APPEND | O_CREAT, 0640, &err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
	fd = sg_open_own_file(path, O_WRONLY | O_APPEND | O_CREAT, 0640, &err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "y\n", 2), 2);
	close(fd);
	expect_file_text(path, "x\ny\n");
	unlink(path);
}

static void test_symlink_refused(void **state)
{
	struct sg_err err = { 0 };
	char link[128], victim[128], missing[128], want[512];

	(void)state;
	path_of(link, sizeof(link), "events.jsonl");
	path_of(victim, sizeof(victim), "victim");
	path_of(missing, sizeof(missing), "not-there");
	write_file(victim, "precious\n");
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(sg_open_own_file(link, O_WRONLY | O_APPEND | O_CREAT, 0640, &err), -ELOOP);
	snprintf(want, sizeof(want), "%s: is a symbolic link; refusing to follow it (remove it: "
		 "smtpgated creates the file itself)", link);
	assert_string_equal(err.msg, want);
	/* The lock file is opened read-write and truncated after: nothing
	 * may reach the victim. */
	assert_int_equal(sg_open_own_file(link, O_RDWR | O_CREAT, 0600, &err), -ELOOP);
	expect_file_text(victim, "precious\n");
	/* A dangling link must not create its target either. */
	unlink(link);
	assert_int_equal(symlink(missing, link), 0);
	assert_int_equal(sg_open_own_file(link, O_WRONLY | O_APPEND | O_CREAT, 0640, &err), -ELOOP);
	assert_int_equal(access(missing, F_OK), -1);
	unlink(link);
	unlink(victim);
}

static void test_fifo_and_hard_link_refused(void **state)
{
	struct sg_err err = { 0 };
	char fifo[128], file[128], hard[128];

	(void)state;
	path_of(fifo, sizeof(fifo), "fifo");
	path_of(file, sizeof(file), "file");
	path_of(hard, sizeof(hard), "hard");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* No reader: must fail at once, not hang. */
	assert_int_equal(sg_open_own_file(fifo, O_WRONLY | O_APPEND | O_CREAT, 0640, &err), -ENXIO);
	assert_int_equal(sg_open_own_file(fifo, O_RDWR | O_CREAT, 0600, &err), -EINVAL);
	write_file(file, "other\n");
	assert_int_equal(link(file, hard), 0);
	assert_int_equal(sg_open_own_file(hard, O_WRONLY | O_APPEND, 0640, &err), -EMLINK);
	assert_non_null(strstr(err.msg, "has 2 hard links"));
	expect_file_text(file, "other\n");
	unlink(fifo);
	unlink(hard);
	unlink(file);
}

static void expect_dir(mode_t mode, int want_rc, const char *want_msg_part)
{
	struct sg_err err = { 0 };
	char dir[128];

	path_of(dir, sizeof(dir), "d");
	mkdir(dir, 0700);
	assert_int_equal(chmod(dir, mode), 0);
	if (sg_check_private_dir("paths.state_dir", dir, false, &err) != want_rc)
		print_message("# mode %04o: %s\n", (unsigned)mode, err.msg);
	assert_int_equal(sg_check_private_dir("paths.state_dir", dir, false, &err), want_rc);
	if (want_msg_part && !strstr(err.msg, want_msg_part))
		print_message("# got: %s\n# want: %s\n", err.msg, want_msg_part);
	if (want_msg_part)
		assert_non_null(strstr(err.msg, want_msg_part));
	rmdir(dir);
}

static void test_private_dir(void **state)
{
	char want[512], dir[128];

	(void)state;
	path_of(dir, sizeof(dir), "d");
	expect_dir(0700, 0, NULL);
	expect_dir(0750, 0, NULL);   /* the socket dir: the groups may enter */
	expect_dir(0755, 0, NULL);
	snprintf(want, sizeof(want), "paths.state_dir %s: is group- and world-writable (mode 0777), so "
		 "others could plant links where smtpgated writes as root; fix with: chmod go-w %s",
		 dir, dir);
	expect_dir(0777, -EPERM, want);
	expect_dir(01777, -EPERM, "is group- and world-writable (mode 1777)");
	expect_dir(0770, -EPERM, "is group-writable (mode 0770)");
	expect_dir(0757, -EPERM, "is world-writable (mode 0757)");
	expect_dir(0772, -EPERM, "is group- and world-writable (mode 0772)");
}

static void test_private_dir_owner(void **state)
{
	struct sg_err err = { 0 };
	char dir[128], want[512];

	(void)state;
	if (geteuid() != 0)
		skip();
	path_of(dir, sizeof(dir), "nobody");
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chown(dir, 65534, 65534), 0);
	assert_int_equal(sg_check_private_dir("paths.log_dir", dir, false, &err), -EPERM);
	snprintf(want, sizeof(want), "paths.log_dir %s: is owned by uid 65534, who could plant "
		 "links where smtpgated writes as root; fix with: chown root %s", dir, dir);
	assert_string_equal(err.msg, want);
	/* --test-mode: owners are not checked, modes still are. */
	assert_int_equal(sg_check_private_dir("paths.log_dir", dir, true, &err), 0);
	rmdir(dir);
}

static void test_private_dir_not_a_dir(void **state)
{
	struct sg_err err = { 0 };
	char file[128], want[256];

	(void)state;
	path_of(file, sizeof(file), "plain");
	write_file(file, "");
	assert_int_equal(sg_check_private_dir("paths.state_dir", file, false, &err), -ENOTDIR);
	snprintf(want, sizeof(want), "paths.state_dir %s: is not a directory", file);
	assert_string_equal(err.msg, want);
	unlink(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file_opened),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_fifo_and_hard_link_refused),
		cmocka_unit_test(test_private_dir),
		cmocka_unit_test(test_private_dir_owner),
		cmocka_unit_test(test_private_dir_not_a_dir),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
