// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "file_replace.h"

int sg_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -ENOSPC;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

struct save {
	const char *path;
	int dfd;                /* the directory */
	int fd;                 /* the new content */
	char base[NAME_MAX + 1];
	char tmp[NAME_MAX + 1]; /* its temporary name in the directory */
	bool named;             /* tmp exists and must go on failure */
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Opens the directory and an unnamed file in it (or, where the file
 * system has no O_TMPFILE, a named one). */
static int save_open(struct save *s, struct sg_err *err)
{
	const char *slash = strrchr(s->path, '/');
	char dir[PATH_MAX];

	if (slash == s->path)
		snprintf(dir, sizeof(dir), "/");
	else if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - s->path), s->path);
	else
		snprintf(dir, sizeof(dir), ".");
	if (strlen(base_name(s->path)) + sizeof(".tmp") + 1 > sizeof(s->tmp))
		return sg_errf(err, -ENAMETOOLONG, "%s: file name too long", s->path);
	snprintf(s->base, sizeof(s->base), "%s", base_name(s->path));
	if (snprintf(s->tmp, sizeof(s->tmp), ".%s.tmp", s->base) >= (int)sizeof(s->tmp))
		return sg_errf(err, -ENAMETOOLONG, "%s: file name too long", s->path);
	s->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0)
		return sg_errf(err, -errno, "%s: cannot open the directory: %s", dir,
			       strerror(errno));
	s->fd = openat(s->dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (s->fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		goto opened;
	/* A stale temporary from a crash mid-save is ours to replace (one
	 * daemon per state directory holds a lock). */
	unlinkat(s->dfd, s->tmp, 0);
	s->fd = openat(s->dfd, s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	s->named = s->fd >= 0;
opened:
	if (s->fd < 0)
		return sg_errf(err, -errno, "%s: cannot create a temporary file in %s: %s",
			       s->path, dir, strerror(errno));
	if (fchmod(s->fd, 0600))
		return sg_errf(err, -errno, "%s: chmod of the temporary file: %s", s->path,
			       strerror(errno));
	return 0;
}

/* Gives the unnamed file its temporary name. */
static int save_link(struct save *s, struct sg_err *err)
{
	char proc[64];

	if (s->named)
		return 0;
	unlinkat(s->dfd, s->tmp, 0);
	if (!linkat(s->fd, "", s->dfd, s->tmp, AT_EMPTY_PATH))
		goto linked;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
	if (linkat(AT_FDCWD, proc, s->dfd, s->tmp, AT_SYMLINK_FOLLOW))
		return sg_errf(err, -errno, "%s: cannot link the temporary file: %s", s->path,
			       strerror(errno));
linked:
	s->named = true;
	return 0;
}

/* The content is text, then newline when it is true. */
static int replace(const char *path, const char *text, size_t len, bool newline,
		   sg_before_rename_fn before_rename, void *ctx, struct sg_err *err)
{
	struct save s = { .path = path, .dfd = -1, .fd = -1 };
	int rc;

	rc = save_open(&s, err);
	if (rc)
		goto out;
	rc = sg_write_all(s.fd, text, len);
	if (!rc && newline)
		rc = sg_write_all(s.fd, "\n", 1);
	if (rc) {
		sg_errf(err, rc, "%s: write: %s", path, strerror(-rc));
		goto out;
	}
	if (fsync(s.fd)) {
		rc = sg_errf(err, -errno, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
	rc = before_rename ? before_rename(ctx, err) : 0;
	if (!rc)
		rc = save_link(&s, err);
	if (rc)
		goto out;
	if (renameat(s.dfd, s.tmp, s.dfd, s.base)) {
		rc = sg_errf(err, -errno, "%s: rename: %s", path, strerror(errno));
		goto out;
	}
	s.named = false;
	/* The rename is durable only once the directory is.  If that fsync
	 * fails the new content is already what every reader (a reload, a
	 * restart) sees, so the save happened: say that it may not survive
	 * a power loss, never that it failed (callers would undo a change
	 * the file keeps). */
	if (fsync(s.dfd))
		rc = sg_errf(err, SG_SAVED_NOT_DURABLE, "%s: the new content is in place, but the "
			     "fsync of its directory failed (%s), so a power loss may bring the "
			     "previous content back; check the disk", path, strerror(errno));
out:
	if (s.named)
		unlinkat(s.dfd, s.tmp, 0);
	if (s.fd >= 0)
		close(s.fd);
	if (s.dfd >= 0)
		close(s.dfd);
	return rc;
}

int sg_file_replace(const char *path, const char *text, size_t len,
		    sg_before_rename_fn before_rename, void *ctx, struct sg_err *err)
{
	return replace(path, text, len, false, before_rename, ctx, err);
}

int sg_file_replace_line(const char *path, const char *text, sg_before_rename_fn before_rename,
			 void *ctx, struct sg_err *err)
{
	return replace(path, text, strlen(text), true, before_rename, ctx, err);
}
