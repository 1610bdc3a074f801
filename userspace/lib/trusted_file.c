// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Opening a file that decides what the firewall lets through without
 * trusting anything about it: owner, mode, type and size are checked on
 * the open descriptor, not on a path that could change underneath.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "load_internal.h"

static int open_failed(const char *path, int e, struct sg_err *err)
{
	struct stat st;

	if (e == ELOOP && !lstat(path, &st) && S_ISLNK(st.st_mode))
		return sg_errf(err, -ELOOP, "%s: is a symbolic link; refusing to follow it "
			       "(name the file itself)", path);
	if (e == ENOENT)
		return sg_errf(err, -ENOENT, "%s: no such file", path);
	return sg_errf(err, -e, "%s: cannot open: %s", path, strerror(e));
}

/* The checks on an open file: what it is, who may write it. */
static int check_trusted_stat(const char *path, const struct stat *st,
			      const struct sg_load_opts *o, struct sg_err *err)
{
	bool gw = st->st_mode & S_IWGRP, ow = st->st_mode & S_IWOTH;

	if (S_ISDIR(st->st_mode))
		return sg_errf(err, -EISDIR, "%s: is a directory, not a file", path);
	if (!S_ISREG(st->st_mode))
		return sg_errf(err, -EINVAL, "%s: is not a regular file", path);
	if (gw || ow)
		return sg_errf(err, -EPERM, "%s: is %s (mode %04o), so others could change "
			       "what it allows; fix with: chmod go-w %s", path,
			       gw && ow ? "group- and world-writable" :
			       gw ? "group-writable" : "world-writable",
			       (unsigned)(st->st_mode & 07777), path);
	if (st->st_uid != 0 && !(o && o->allow_any_owner))
		return sg_errf(err, -EPERM, "%s: is owned by uid %u, not root; fix with: "
			       "chown root %s", path, (unsigned)st->st_uid, path);
	return 0;
}

int sg_open_trusted_file(const char *path, const struct sg_load_opts *o, struct sg_err *err)
{
	struct stat st;
	int fd, rc;

	/* O_NONBLOCK: a FIFO planted in place of the file must not hang us
	 * before fstat can refuse it.  Harmless for regular files. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return open_failed(path, errno, err);
	if (fstat(fd, &st)) {
		rc = sg_errf(err, -errno, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	rc = check_trusted_stat(path, &st, o, err);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int sg_read_trusted_file(const char *path, const struct sg_load_opts *o, char **buf,
			 size_t *len, struct sg_diag *d)
{
	struct sg_err err = { 0 };
	size_t have = 0, cap;
	struct stat st;
	char *b;
	int fd;

	fd = sg_open_trusted_file(path, o, &err);
	if (fd == -ENOENT)
		return -ENOENT;
	if (fd < 0) {
		sg_diag_add(d, true, "%s", err.msg);
		return fd;
	}
	if (fstat(fd, &st) || (unsigned long long)st.st_size > SG_MAX_FILE_BYTES) {
		sg_diag_add(d, true, "%s: is %lld bytes, larger than the limit of %u MiB", path,
			    (long long)st.st_size, SG_MAX_FILE_BYTES >> 20);
		close(fd);
		return -EFBIG;
	}
	/* Read to EOF, not to st_size: the file may change under us, and
	 * the hash must be of exactly the bytes that are parsed. */
	cap = (size_t)st.st_size + 1;
	b = malloc(cap + 1);
	while (b) {
		ssize_t r;

		if (have == cap) {
			char *nb;

			if (cap > SG_MAX_FILE_BYTES)
				break;
			cap *= 2;
			nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
		}
		r = read(fd, b + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			sg_diag_add(d, true, "%s: read error: %s", path, strerror(errno));
			free(b);
			close(fd);
			return -EIO;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	close(fd);
	if (!b) {
		sg_diag_add(d, true, "%s: out of memory reading the file", path);
		return -ENOMEM;
	}
	if (have > SG_MAX_FILE_BYTES) {
		sg_diag_add(d, true, "%s: grew beyond the limit of %u MiB while being read",
			    path, SG_MAX_FILE_BYTES >> 20);
		free(b);
		return -EFBIG;
	}
	b[have] = '\0';
	*buf = b;
	*len = have;
	return 0;
}
