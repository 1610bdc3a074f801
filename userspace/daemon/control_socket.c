// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control socket in the file system: its directory made and
 * checked, a stale socket replaced (never a live daemon's), the
 * socket bound with its mode, group and ACL in place before anyone can
 * connect.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include "control_conn.h"
#include "log.h"
#include "safe_path.h"

#define ACL_ENTRY(tag, perm, id) \
	{ htole16(tag), htole16((uint16_t)(perm)), htole32((uint32_t)(id)) }

/* A POSIX ACL (system.posix_acl_access) that adds group `gid` with perm
 * to the owner/group/other bits of mode.  On fd when it is >= 0, else on
 * path. */
static int set_group_acl(int fd, const char *path, mode_t mode, gid_t gid, unsigned perm)
{
	struct {
		struct posix_acl_xattr_header h;
		struct posix_acl_xattr_entry e[5];
	} __attribute__((packed)) acl = {
		.h.a_version = htole32(POSIX_ACL_XATTR_VERSION),
		.e = {
			ACL_ENTRY(ACL_USER_OBJ, (mode >> 6) & 7, ACL_UNDEFINED_ID),
			ACL_ENTRY(ACL_GROUP_OBJ, (mode >> 3) & 7, ACL_UNDEFINED_ID),
			ACL_ENTRY(ACL_GROUP, perm, gid),
			ACL_ENTRY(ACL_MASK, ((mode >> 3) & 7) | perm, ACL_UNDEFINED_ID),
			ACL_ENTRY(ACL_OTHER, mode & 7, ACL_UNDEFINED_ID),
		},
	};

	/* f-/l-: never through a link planted in place of the socket or dir. */
	if (fd >= 0)
		return fsetxattr(fd, "system.posix_acl_access", &acl, sizeof(acl), 0) ? -errno : 0;
	return lsetxattr(path, "system.posix_acl_access", &acl, sizeof(acl), 0) ? -errno : 0;
}

/* Group admin_group (when it exists) and an ACL for read_group, on fd
 * when it is >= 0, else on path (named in messages either way). */
static void set_access(struct sgd *d, int fd, const char *path, mode_t mode, unsigned read_perm)
{
	gid_t admin, reader;
	bool have_admin = sgd_group_gid(d->cfg.admin_group, &admin);
	int rc;

	if (have_admin && (fd >= 0 ? fchown(fd, (uid_t)-1, admin) : lchown(path, (uid_t)-1, admin)))
		sgd_warn("control: chgrp %s %s: %s", d->cfg.admin_group, path, strerror(errno));
	if (!sgd_group_gid(d->cfg.read_group, &reader)) {
		sgd_info("control: no group \"%s\" (control.read_group): only root%s%s%s may use %s",
			 d->cfg.read_group, have_admin ? " and members of \"" : "",
			 have_admin ? d->cfg.admin_group : "", have_admin ? "\"" : "", path);
		return;
	}
	if (have_admin && admin == reader)
		return;
	rc = set_group_acl(fd, path, mode, reader, read_perm);
	if (rc)
		sgd_warn("control: cannot give group \"%s\" access to %s with an ACL (%s): its "
			 "members cannot connect", d->cfg.read_group, path, strerror(-rc));
}

/* True if directory fd holds nothing but (maybe) an entry named sock. */
static bool only_socket_in(int fd, const char *sock)
{
	struct dirent *e;
	bool only = true;
	DIR *dir;
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (dup_fd < 0)
		return false;
	dir = fdopendir(dup_fd);
	if (!dir) {
		close(dup_fd);
		return false;
	}
	while (only && (e = readdir(dir)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, sock))
			only = false;
	closedir(dir);
	return only;
}

/* The socket's directory gets mode 0750, group admin_group and an ACL
 * for read_group, whoever made it: systemd (RuntimeDirectory=) or
 * tmpfiles make /run/smtpgate before the daemon starts, as root:root
 * 0750, which would lock both groups out.  Only a directory that is the
 * daemon's own (owned by its uid, holding nothing but the socket) is
 * changed, so a socket configured in a shared directory such as /run
 * never changes that directory: there a warning says why the groups may
 * not reach the socket.  Through a descriptor (O_NOFOLLOW): a symlink
 * is not followed. */
static int own_socket_dir(struct sgd *d, const char *dir, const char *sock)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (st.st_uid != geteuid() || !only_socket_in(fd, sock)) {
		if ((st.st_mode & 05) != 05)
			sgd_warn("control: %s is not smtpgated's own directory (owner uid %u, "
				 "other entries than %s): its mode and group stay as they are, so "
				 "members of \"%s\" and \"%s\" may not reach the socket; "
				 "configure control.socket in a directory of its own",
				 dir, (unsigned)st.st_uid, sock, d->cfg.admin_group, d->cfg.read_group);
		goto out;
	}
	if (fchmod(fd, 0750)) {
		rc = -errno;
		goto out;
	}
	set_access(d, fd, dir, 0750, ACL_READ | ACL_EXECUTE);
out:
	close(fd);
	return rc;
}

/* The socket's directory may be the admin and read groups' to enter
 * (r-x), but root's alone to write: whoever may write it could swap the
 * socket for a link between bind() and the ownership changes below. */
static int check_socket_dir(struct sgd *d, const char *sock_path)
{
	struct sg_err err = { 0 };
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", sock_path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (sg_check_private_dir("the directory of control.socket", dir,
				 d->load_opts.allow_any_owner, &err)) {
		sgd_err("control: %s", err.msg);
		return -EPERM;
	}
	return 0;
}

static int make_socket_dir(struct sgd *d, const char *sock_path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", sock_path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	/* Checked before it is made ours: a directory others could write
	 * may already hold what they planted, so it is refused, not fixed. */
	if (check_socket_dir(d, sock_path))
		return -EPERM;
	return own_socket_dir(d, dir, slash + 1);
}

/* An existing socket at path: refuse if a daemon answers on it, remove
 * it if it is stale. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		sgd_err("control: %s exists and is not a socket; refusing to replace it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (!rc || rc == -EAGAIN) {
		sgd_err("control: another smtpgated answers on %s; give this one its own "
			"control.socket", path);
		return -EADDRINUSE;
	}
	if (rc != -ECONNREFUSED) {
		sgd_err("control: cannot tell whether %s is in use: %s", path, strerror(-rc));
		return rc;
	}
	sgd_info("control: removing the stale socket %s", path);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int sgd_control_open_socket(struct sgd_control *ctl)
{
	struct sgd *d = ctl->d;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_mask;
	int rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl->path);
	rc = make_socket_dir(d, ctl->path);
	if (rc == -EPERM)
		return rc; /* check_socket_dir said why */
	if (rc) {
		sgd_err("control: cannot create the directory of %s: %s", ctl->path, strerror(-rc));
		return rc;
	}
	rc = clear_stale(ctl->path, &sa);
	if (rc)
		return rc;
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->listen_fd < 0) {
		rc = -errno;
		sgd_err("control: socket: %s", strerror(-rc));
		return rc;
	}
	/* The mode comes from the umask at bind(), not from a chmod of the
	 * path afterwards (which would follow whatever is there by then).
	 * No other thread runs yet to see the umask changed. */
	old_mask = umask(0117);
	rc = bind(ctl->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old_mask);
	if (rc) {
		sgd_err("control: bind %s: %s", ctl->path, strerror(-rc));
		return rc;
	}
	/* Nobody can connect before listen(): the group and ACL are in
	 * place first. */
	if (lstat(ctl->path, &st) || !S_ISSOCK(st.st_mode)) {
		sgd_err("control: %s is not the socket just bound", ctl->path);
		return -EEXIST;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	set_access(d, -1, ctl->path, 0660, ACL_READ | ACL_WRITE);
	if (listen(ctl->listen_fd, SOMAXCONN)) {
		rc = -errno;
		sgd_err("control: listen %s: %s", ctl->path, strerror(errno));
		return rc;
	}
	return 0;
}
