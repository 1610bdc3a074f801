// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Whole-line appends (append.h).  The file has one writer (the daemon,
 * one thread), so the length before a write is where the line starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "append.h"
#include "safe_path.h"

ssize_t (*sg_append_write_fn)(int fd, const void *buf, size_t len) = write;

/* Writes all of buf or fails with -errno: a write that makes no progress
 * without an error (it should not happen) counts as a full disk. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = sg_append_write_fn(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno ? -errno : -EIO;
		if (w == 0)
			return -ENOSPC;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Does the file end in the middle of a line? */
static bool ends_torn(int fd, off_t size)
{
	char last;

	return size > 0 && pread(fd, &last, 1, size - 1) == 1 && last != '\n';
}

int sg_append_fd(int fd, const char *buf, size_t len)
{
	struct stat st;
	int rc;

	if (fstat(fd, &st))
		return -errno;
	rc = write_all(fd, buf, len);
	if (rc && ftruncate(fd, st.st_size))
		return -EIO; /* a partial line stays: say so louder */
	return rc;
}

int sg_append_line(const char *path, const char *buf, size_t len, struct sg_append_mark *mark,
		   struct sg_err *err)
{
	struct stat st;
	int fd, rc;

	if (mark)
		mark->fd = -1;
	/* Never through a symbolic link, never into a file with other names. */
	fd = sg_open_own_file(path, O_RDWR | O_APPEND | O_CREAT, 0640, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		rc = sg_errf(err, -errno, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (ends_torn(fd, st.st_size)) {
		if ((rc = write_all(fd, "\n", 1)))
			goto fail;
		st.st_size++;
	}
	rc = write_all(fd, buf, len);
	if (!rc && fsync(fd))
		rc = -errno;
	if (rc)
		goto fail;
	if (mark) {
		mark->fd = fd;
		mark->off = st.st_size;
	} else {
		close(fd);
	}
	return 0;
fail:
	/* Nothing of the line may stay: the next one would be glued onto it. */
	if (ftruncate(fd, st.st_size) || fsync(fd))
		sg_errf(err, rc, "%s: %s, and cutting back the partial line failed: %s", path,
			strerror(-rc), strerror(errno ? errno : EIO));
	else
		sg_errf(err, rc, "%s: %s", path, strerror(-rc));
	close(fd);
	return rc;
}

int sg_append_retract(struct sg_append_mark *mark, struct sg_err *err)
{
	struct stat st;
	int rc = 0;

	if (mark->fd < 0)
		return 0;
	/* The descriptor follows the file through a rename (rotation); one
	 * cut meanwhile (copytruncate) no longer holds the line. */
	if (fstat(mark->fd, &st) || st.st_size < mark->off)
		goto out;
	if (ftruncate(mark->fd, mark->off) || fsync(mark->fd))
		rc = sg_errf(err, -errno, "cutting back the audit line: %s", strerror(errno));
out:
	close(mark->fd);
	mark->fd = -1;
	return rc;
}

void sg_append_done(struct sg_append_mark *mark)
{
	if (mark->fd >= 0)
		close(mark->fd);
	mark->fd = -1;
}
