// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A trusted file (trusted_file.c's rules) opened as a json_stream source,
 * for the loaders that read policy.json and approvals.json through a
 * window.  A file of its own: smtpgatectl's thin client uses
 * trusted_file.c but never a stream, and must not link json_stream's
 * sha256 (libnettle) for it.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include "json_stream.h"
#include "load_internal.h"

int sg_open_trusted_stream(const char *path, const struct sg_load_opts *o, bool sha256,
			   struct sg_jsrc *src, struct sg_diag *d)
{
	struct sg_err err = { 0 };
	struct stat st;
	int fd;

	fd = sg_open_trusted_file(path, o, &err);
	if (fd == -ENOENT)
		return fd;
	if (fd < 0) {
		sg_diag_add(d, true, "%s", err.msg);
		return -1;
	}
	if (fstat(fd, &st) || (unsigned long long)st.st_size > SG_MAX_FILE_BYTES) {
		sg_diag_add(d, true, "%s: is %lld bytes, larger than the limit of %u MiB", path,
			    (long long)st.st_size, SG_MAX_FILE_BYTES >> 20);
		close(fd);
		return -1;
	}
	if (sg_jsrc_init_fd(src, fd, SG_MAX_FILE_BYTES, sha256)) {
		sg_diag_add(d, true, "%s: out of memory reading the file", path);
		close(fd);
		return -1;
	}
	return 0;
}

void sg_close_trusted_stream(struct sg_jsrc *src)
{
	int fd = src->fd;

	sg_jsrc_free(src);
	close(fd);
}
