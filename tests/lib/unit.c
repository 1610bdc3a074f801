// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "load.h"
#include "unit.h"

int ut_make_tmpdir(char *dir, size_t len, const char *tag)
{
	snprintf(dir, len, "/tmp/sgt-%s.XXXXXX", tag);
	return mkdtemp(dir) ? 0 : -1;
}

int ut_remove_tmpdir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

const char *ut_write_json(const char *dir, const char *name, const char *json, mode_t mode)
{
	static char path[256];
	size_t len = strlen(json);
	char *s = strdup(json);
	int fd;

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(s);
	return path;
}

char *ut_read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

void ut_check_diag(const struct sg_diag *d, const char *const *want)
{
	size_t n = 0;

	while (want[n])
		n++;
	if (d->n != n) {
		for (size_t i = 0; i < d->n; i++)
			print_message("# got: %s: %s\n", d->is_error[i] ? "error" : "warning",
				      d->lines[i]);
		for (size_t i = 0; i < n; i++)
			print_message("# want: %s\n", want[i]);
	}
	assert_int_equal(d->n, n);
	for (size_t i = 0; i < n; i++) {
		char line[2048];

		snprintf(line, sizeof(line), "%s: %s", d->is_error[i] ? "error" : "warning",
			 d->lines[i]);
		assert_string_equal(line, want[i]);
	}
}

void ut_appendf(char *buf, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}
