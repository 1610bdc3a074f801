/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers the userspace unit tests share: scratch directories and files. */
#ifndef SG_TEST_UNIT_H
#define SG_TEST_UNIT_H

#include <stddef.h>
#include <sys/types.h>

/* Makes /tmp/sgt-<tag>.XXXXXX into dir (len >= 64); 0 or -1. */
int ut_make_tmpdir(char *dir, size_t len, const char *tag);
/* Removes dir and everything in it; 0 or -1. */
int ut_remove_tmpdir(const char *dir);
/* cmocka: writes dir/name with json, every ' turned into " (JSON reads
 * better in C strings with single quotes), mode applied; the path, in a
 * buffer the next call reuses. */
const char *ut_write_json(const char *dir, const char *name, const char *json, mode_t mode);
/* The whole file as a NUL-terminated string (malloc'd), or NULL. */
char *ut_read_text(const char *path);

struct sg_diag;
/* cmocka: the diagnostics must be exactly want[] ("error: ..." /
 * "warning: ...", NULL-terminated); on a count mismatch both are printed. */
void ut_check_diag(const struct sg_diag *d, const char *const *want);

/* Appends printf output to the string in buf (cap bytes), truncating. */
void ut_appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
