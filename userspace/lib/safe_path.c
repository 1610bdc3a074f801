// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "safe_path.h"

int sg_check_private_dir(const char *what, const char *path, bool allow_any_owner,
			 struct sg_err *err)
{
	struct stat st;
	bool gw, ow;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sg_errf(err, -errno, "%s %s: %s", what, path,
			       errno == ENOTDIR ? "is not a directory" : strerror(errno));
	if (fstat(fd, &st)) {
		rc = sg_errf(err, -errno, "%s %s: cannot stat: %s", what, path, strerror(errno));
		close(fd);
		return rc;
	}
	close(fd);
	gw = st.st_mode & S_IWGRP;
	ow = st.st_mode & S_IWOTH;
	if (gw || ow)
		return sg_errf(err, -EPERM, "%s %s: is %s (mode %04o), so others could plant links "
			       "where smtpgated writes as root; fix with: chmod go-w %s", what, path,
			       gw && ow ? "group- and world-writable" :
			       gw ? "group-writable" : "world-writable",
			       (unsigned)(st.st_mode & 07777), path);
	if (st.st_uid != 0 && st.st_uid != geteuid() && !allow_any_owner)
		return sg_errf(err, -EPERM, "%s %s: is owned by uid %u, who could plant links where "
			       "smtpgated writes as root; fix with: chown root %s", what, path,
			       (unsigned)st.st_uid, path);
	return 0;
}

int sg_open_own_file(const char *path, int flags, mode_t mode, struct sg_err *err)
{
	struct stat st;
	int fd, e;

	fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP)
			return sg_errf(err, -ELOOP, "%s: is a symbolic link; refusing to follow it "
				       "(remove it: smtpgated creates the file itself)", path);
		if (e == ENXIO)
			return sg_errf(err, -ENXIO, "%s: is a FIFO or socket, not a file; remove it",
				       path);
		return sg_errf(err, -e, "%s: %s", path, strerror(e));
	}
	if (fstat(fd, &st)) {
		e = errno;
		close(fd);
		return sg_errf(err, -e, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		if (!S_ISREG(st.st_mode))
			return sg_errf(err, -EINVAL, "%s: is not a regular file; remove it", path);
		return sg_errf(err, -EMLINK, "%s: has %u hard links, so writing it would change "
			       "another file too; remove it", path, (unsigned)st.st_nlink);
	}
	return fd;
}
