/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the libFuzzer targets share: a scratch directory on tmpfs (the
 * loaders read files, and fsync on tmpfs costs nothing), the input as a
 * file or as a NUL-terminated string, and a check that aborts with a
 * message (a broken property is a crash the fuzzer keeps).
 */
#ifndef SG_FUZZ_COMMON_H
#define SG_FUZZ_COMMON_H

#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fz_dir_path[64];

static inline int fz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static inline void fz_rm_dir(void)
{
	if (fz_dir_path[0])
		nftw(fz_dir_path, fz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A private directory under /dev/shm (else /tmp), made once per process
 * and removed at exit (a crash leaves it, with the files it needs). */
static inline const char *fz_dir(void)
{
	char *dir = fz_dir_path;

	if (!dir[0]) {
		snprintf(dir, sizeof(fz_dir_path), "/dev/shm/sg-fuzz.XXXXXX");
		if (!mkdtemp(dir)) {
			snprintf(dir, sizeof(fz_dir_path), "/tmp/sg-fuzz.XXXXXX");
			if (!mkdtemp(dir)) {
				perror("mkdtemp");
				abort();
			}
		}
		atexit(fz_rm_dir);
	}
	return dir;
}

/* dir/name into buf. */
static inline const char *fz_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", fz_dir(), name);
	return buf;
}

/* Writes data to path (mode 0600, replaced). */
static inline void fz_write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "we");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
		perror(path);
		abort();
	}
}

/* The input as a NUL-terminated string (malloc'd; may hold inner NULs). */
static inline char *fz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A property that must hold: prints why and aborts. */
__attribute__((format(printf, 2, 3))) static inline void fz_check(int cond, const char *fmt,
								   ...)
{
	va_list ap;

	if (cond)
		return;
	fprintf(stderr, "fuzz property broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* Library chatter (diagnostics printed by the code under test) goes to
 * /dev/null unless SG_FUZZ_VERBOSE is set; libFuzzer writes to stderr,
 * so only stdout is silenced. */
static inline void fz_quiet_stdout(void)
{
	if (!getenv("SG_FUZZ_VERBOSE") && !freopen("/dev/null", "w", stdout))
		abort();
}

#endif
