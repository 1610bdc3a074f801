// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * faultinject.so: an LD_PRELOAD shim that makes chosen file-system calls
 * fail, so tests can prove what a process does when a disk fails at one
 * precise step (a directory fsync after a rename, a rename, a write with
 * ENOSPC), which no real disk can be made to do on cue.
 *
 *   LD_PRELOAD=build/tests/preload/faultinject.so \
 *   SG_FI_CALL=fsync SG_FI_PATH=/var/lib/smtpgate SG_FI_ERRNO=EIO smtpgated ...
 *
 * SG_FI_CALL   which call: fsync (fsync, fdatasync), rename (rename,
 *              renameat, renameat2) or write (write)
 * SG_FI_PATH   fnmatch(3) pattern (no FNM_PATHNAME: * matches /) for the
 *              path the call is about: the file or directory of the fd
 *              (as /proc/self/fd shows it, so an O_TMPFILE file is
 *              "DIR/#N (deleted)"), or the destination of a rename.
 *              Default "*".
 * SG_FI_ERRNO  the error: EIO, ENOSPC, EDQUOT, EROFS, EPERM, EACCES or a
 *              number.  Default EIO.
 * SG_FI_NTH    the first matching call that fails, counting from 1
 *              (default 1): earlier ones go through.
 * SG_FI_COUNT  how many matching calls fail from there (default 1; 0:
 *              every one).
 * SG_FI_LOG    a file to which each injected failure appends a line
 *              "CALL PATH ERRNO", so a test can tell the fault was hit.
 *
 * A failing call does nothing and returns -1 with errno set, as the
 * kernel would if it refused at once.  Without SG_FI_CALL the shim only
 * forwards.  Test-only: never installed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum fi_call { FI_NONE, FI_FSYNC, FI_RENAME, FI_WRITE };

static struct {
	int ready;
	enum fi_call call;
	const char *pattern;
	int err;
	long nth, count;
	const char *log;
	long seen;              /* matching calls so far */
} fi;

static int errno_named(const char *s)
{
	static const struct { const char *name; int value; } names[] = {
		{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
		{ "EROFS", EROFS }, { "EPERM", EPERM }, { "EACCES", EACCES },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].value;
	return atoi(s) > 0 ? atoi(s) : EIO;
}

static const char *errno_name(int e)
{
	switch (e) {
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	case EDQUOT: return "EDQUOT";
	case EROFS: return "EROFS";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	default: return "errno";
	}
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* Reads the environment once; racing first calls read the same values. */
static void fi_init(void)
{
	const char *c;

	if (__atomic_load_n(&fi.ready, __ATOMIC_ACQUIRE))
		return;
	c = getenv("SG_FI_CALL");
	fi.call = !c ? FI_NONE : !strcmp(c, "fsync") ? FI_FSYNC : !strcmp(c, "rename") ? FI_RENAME
		: !strcmp(c, "write") ? FI_WRITE : FI_NONE;
	fi.pattern = getenv("SG_FI_PATH") ? getenv("SG_FI_PATH") : "*";
	fi.err = getenv("SG_FI_ERRNO") ? errno_named(getenv("SG_FI_ERRNO")) : EIO;
	fi.nth = env_long("SG_FI_NTH", 1);
	fi.count = env_long("SG_FI_COUNT", 1);
	fi.log = getenv("SG_FI_LOG");
	__atomic_store_n(&fi.ready, 1, __ATOMIC_RELEASE);
}

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		/* Nothing sensible to forward to: say so and stop. */
		static const char msg[] = "faultinject: a libc function is missing\n";

		syscall(SYS_write, 2, msg, sizeof(msg) - 1);
		abort();
	}
	return f;
}

static void fd_path(int fd, char *buf, size_t len)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* The path a rename moves to, made absolute through its directory fd. */
static void at_path(int dirfd, const char *path, char *buf, size_t len)
{
	char dir[PATH_MAX];

	int n;

	if (path[0] == '/')
		n = snprintf(buf, len, "%s", path);
	else if (dirfd == AT_FDCWD)
		n = snprintf(buf, len, "%s/%s", getcwd(dir, sizeof(dir)) ? dir : ".", path);
	else {
		fd_path(dirfd, dir, sizeof(dir));
		n = snprintf(buf, len, "%s/%s", dir, path);
	}
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';         /* too long to be one a test names */
}

/* Does this call fail?  Counts it if it matches. */
static int should_fail(enum fi_call call, const char *name, const char *path)
{
	long n;
	char line[PATH_MAX + 64];
	int fd, len;

	if (fi.call != call || fnmatch(fi.pattern, path, 0))
		return 0;
	n = __atomic_add_fetch(&fi.seen, 1, __ATOMIC_RELAXED);
	if (n < fi.nth || (fi.count > 0 && n >= fi.nth + fi.count))
		return 0;
	if (fi.log) {
		fd = (int)syscall(SYS_openat, AT_FDCWD, fi.log, O_WRONLY | O_APPEND | O_CREAT |
				  O_CLOEXEC, 0644);
		if (fd >= 0) {
			len = snprintf(line, sizeof(line), "%s %s %s\n", name, path,
				       errno_name(fi.err));
			if (len > 0 && (size_t)len < sizeof(line))
				syscall(SYS_write, fd, line, (size_t)len);
			close(fd);
		}
	}
	return 1;
}

static int fail_fd(enum fi_call call, const char *name, int fd)
{
	char path[PATH_MAX];

	fi_init();
	if (fi.call != call)
		return 0;
	fd_path(fd, path, sizeof(path));
	return should_fail(call, name, path);
}

int fsync(int fd)
{
	static int (*next)(int);

	if (fail_fd(FI_FSYNC, "fsync", fd)) {
		errno = fi.err;
		return -1;
	}
	if (!next)
		next = (int (*)(int))real("fsync");
	return next(fd);
}

int fdatasync(int fd)
{
	static int (*next)(int);

	if (fail_fd(FI_FSYNC, "fdatasync", fd)) {
		errno = fi.err;
		return -1;
	}
	if (!next)
		next = (int (*)(int))real("fdatasync");
	return next(fd);
}

ssize_t write(int fd, const void *buf, size_t count)
{
	static ssize_t (*next)(int, const void *, size_t);

	if (fail_fd(FI_WRITE, "write", fd)) {
		errno = fi.err;
		return -1;
	}
	if (!next)
		next = (ssize_t (*)(int, const void *, size_t))real("write");
	return next(fd, buf, count);
}

static int fail_rename(const char *name, int newdirfd, const char *newpath)
{
	char path[PATH_MAX];

	fi_init();
	if (fi.call != FI_RENAME)
		return 0;
	at_path(newdirfd, newpath, path, sizeof(path));
	return should_fail(FI_RENAME, name, path);
}

int rename(const char *oldpath, const char *newpath)
{
	static int (*next)(const char *, const char *);

	if (fail_rename("rename", AT_FDCWD, newpath)) {
		errno = fi.err;
		return -1;
	}
	if (!next)
		next = (int (*)(const char *, const char *))real("rename");
	return next(oldpath, newpath);
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	static int (*next)(int, const char *, int, const char *);

	if (fail_rename("renameat", newdirfd, newpath)) {
		errno = fi.err;
		return -1;
	}
	if (!next)
		next = (int (*)(int, const char *, int, const char *))real("renameat");
	return next(olddirfd, oldpath, newdirfd, newpath);
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
	      unsigned int flags)
{
	static int (*next)(int, const char *, int, const char *, unsigned int);

	if (fail_rename("renameat2", newdirfd, newpath)) {
		errno = fi.err;
		return -1;
	}
	if (!next)
		next = (int (*)(int, const char *, int, const char *, unsigned int))
			real("renameat2");
	return next(olddirfd, oldpath, newdirfd, newpath, flags);
}
