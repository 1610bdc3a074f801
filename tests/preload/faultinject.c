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
 *              renameat, renameat2), write (write), truncate (ftruncate)
 *              or bpf (the bpf(2) system call as libbpf makes it, through
 *              syscall(3))
 * SG_FI_PATH   fnmatch(3) pattern (no FNM_PATHNAME: * matches /) for the
 *              path the call is about: the file or directory of the fd
 *              (as /proc/self/fd shows it, so an O_TMPFILE file is
 *              "DIR/#N (deleted)"), the destination of a rename, or for
 *              bpf the command's name (BPF_MAP_DELETE_ELEM, ...).
 *              Default "*".
 * SG_FI_ERRNO  the error: EIO, ENOSPC, EDQUOT, EROFS, EPERM, EACCES,
 *              ENOMEM or a number.  Default EIO.
 * SG_FI_NTH    the first matching call that fails, counting from 1
 *              (default 1): earlier ones go through.
 * SG_FI_COUNT  how many matching calls fail from there (default 1; 0:
 *              every one).
 * SG_FI2_CALL, SG_FI2_PATH, ...  a second rule, counted on its own (a
 *              rollback that fails after the save that failed).
 * SG_FI_ARMED  a file: the rules apply (and count) only while it exists,
 *              so a test can let a process start and then arm them.
 * SG_FI_LOG    a file to which each injected failure appends a line
 *              "CALL PATH ERRNO", so a test can tell the fault was hit.
 * SG_FI_ACTION what a fault does: fail (the default: see below), crash
 *              (the process ends with _exit(86) instead of making the
 *              call, as a crash just before it would), or torn (for
 *              write: half of the bytes are written, then _exit(86), as
 *              a crash in the middle of the write; for other calls the
 *              same as crash).  For the first rule only.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum fi_call { FI_NONE, FI_FSYNC, FI_RENAME, FI_WRITE, FI_TRUNCATE, FI_BPF };
enum fi_action { FI_FAIL, FI_CRASH, FI_TORN };

#define FI_CRASH_STATUS 86

struct fi_rule {
	enum fi_call call;
	const char *pattern;
	int err;
	long nth, count;
	long seen;              /* matching calls so far */
};

static struct {
	int ready;
	struct fi_rule rule[2];
	const char *armed;
	const char *log;
	enum fi_action action;
} fi;

static int errno_named(const char *s)
{
	static const struct { const char *name; int value; } names[] = {
		{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
		{ "EROFS", EROFS }, { "EPERM", EPERM }, { "EACCES", EACCES },
		{ "ENOMEM", ENOMEM },
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
	case ENOMEM: return "ENOMEM";
	default: return "errno";
	}
}

static const char *env(const char *prefix, const char *name)
{
	char key[64];

	snprintf(key, sizeof(key), "%s_%s", prefix, name);
	return getenv(key);
}

static long env_long(const char *prefix, const char *name, long dflt)
{
	const char *v = env(prefix, name);

	return v && *v ? strtol(v, NULL, 10) : dflt;
}

static void rule_init(struct fi_rule *r, const char *prefix)
{
	const char *c = env(prefix, "CALL");

	r->call = !c ? FI_NONE : !strcmp(c, "fsync") ? FI_FSYNC : !strcmp(c, "rename") ? FI_RENAME
		: !strcmp(c, "write") ? FI_WRITE : !strcmp(c, "truncate") ? FI_TRUNCATE
		: !strcmp(c, "bpf") ? FI_BPF : FI_NONE;
	r->pattern = env(prefix, "PATH") ? env(prefix, "PATH") : "*";
	r->err = env(prefix, "ERRNO") ? errno_named(env(prefix, "ERRNO")) : EIO;
	r->nth = env_long(prefix, "NTH", 1);
	r->count = env_long(prefix, "COUNT", 1);
}

/* Reads the environment once; racing first calls read the same values. */
static void fi_init(void)
{
	if (__atomic_load_n(&fi.ready, __ATOMIC_ACQUIRE))
		return;
	rule_init(&fi.rule[0], "SG_FI");
	rule_init(&fi.rule[1], "SG_FI2");
	fi.armed = getenv("SG_FI_ARMED");
	fi.log = getenv("SG_FI_LOG");
	if (getenv("SG_FI_ACTION"))
		fi.action = !strcmp(getenv("SG_FI_ACTION"), "crash") ? FI_CRASH
			  : !strcmp(getenv("SG_FI_ACTION"), "torn") ? FI_TORN : FI_FAIL;
	__atomic_store_n(&fi.ready, 1, __ATOMIC_RELEASE);
}

/* Is any rule about this kind of call? (Cheap: no path yet.) */
static int fi_wants(enum fi_call call)
{
	fi_init();
	return fi.rule[0].call == call || fi.rule[1].call == call;
}

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		/* Nothing sensible to forward to: say so and stop. */
		fprintf(stderr, "faultinject: %s: no such function to forward to\n", name);
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

static void log_fault(const char *name, const char *path, int err)
{
	char line[PATH_MAX + 64];
	int fd, len;

	if (!fi.log)
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, fi.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  0644);
	if (fd < 0)
		return;
	len = snprintf(line, sizeof(line), "%s %s %s\n", name, path, errno_name(err));
	if (len > 0 && (size_t)len < sizeof(line))
		syscall(SYS_write, fd, line, (size_t)len);
	close(fd);
}

/* Does this call fail?  0, or the errno to fail with.  Each rule that
 * matches counts the call. */
static int should_fail(enum fi_call call, const char *name, const char *path)
{
	int fail = 0;

	if (fi.armed && syscall(SYS_faccessat, AT_FDCWD, fi.armed, F_OK, 0))
		return 0;
	for (int i = 0; i < 2; i++) {
		struct fi_rule *r = &fi.rule[i];
		long n;

		if (r->call != call || fnmatch(r->pattern, path, 0))
			continue;
		n = __atomic_add_fetch(&r->seen, 1, __ATOMIC_RELAXED);
		if (fail || n < r->nth || (r->count > 0 && n >= r->nth + r->count))
			continue;
		fail = r->err;
		log_fault(name, path, fail);
		if (i == 0 && (fi.action == FI_CRASH || (fi.action == FI_TORN && call != FI_WRITE)))
			_exit(FI_CRASH_STATUS);
		if (i == 0 && fi.action == FI_TORN)
			return -1; /* write() tears the call */
	}
	return fail;
}

static int fail_fd(enum fi_call call, const char *name, int fd)
{
	char path[PATH_MAX];

	if (!fi_wants(call))
		return 0;
	fd_path(fd, path, sizeof(path));
	return should_fail(call, name, path);
}

int fsync(int fd)
{
	static int (*next)(int);

	int e = fail_fd(FI_FSYNC, "fsync", fd);

	if (e) {
		errno = e;
		return -1;
	}
	if (!next)
		next = (int (*)(int))real("fsync");
	return next(fd);
}

int fdatasync(int fd)
{
	static int (*next)(int);

	int e = fail_fd(FI_FSYNC, "fdatasync", fd);

	if (e) {
		errno = e;
		return -1;
	}
	if (!next)
		next = (int (*)(int))real("fdatasync");
	return next(fd);
}

ssize_t write(int fd, const void *buf, size_t count)
{
	static ssize_t (*next)(int, const void *, size_t);

	int e = fail_fd(FI_WRITE, "write", fd);

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t))real("write");
	if (e < 0) {
		/* Torn: what a crash in the middle of the write leaves. */
		if (count > 1)
			next(fd, buf, count / 2);
		_exit(FI_CRASH_STATUS);
	}
	if (e) {
		errno = e;
		return -1;
	}
	return next(fd, buf, count);
}

int ftruncate(int fd, off_t length)
{
	static int (*next)(int, off_t);

	int e = fail_fd(FI_TRUNCATE, "ftruncate", fd);

	if (e) {
		errno = e;
		return -1;
	}
	if (!next)
		next = (int (*)(int, off_t))real("ftruncate");
	return next(fd, length);
}

static int fail_rename(const char *name, int newdirfd, const char *newpath)
{
	char path[PATH_MAX];

	if (!fi_wants(FI_RENAME))
		return 0;
	at_path(newdirfd, newpath, path, sizeof(path));
	return should_fail(FI_RENAME, name, path);
}

int rename(const char *oldpath, const char *newpath)
{
	static int (*next)(const char *, const char *);

	int e = fail_rename("rename", AT_FDCWD, newpath);

	if (e) {
		errno = e;
		return -1;
	}
	if (!next)
		next = (int (*)(const char *, const char *))real("rename");
	return next(oldpath, newpath);
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	static int (*next)(int, const char *, int, const char *);

	int e = fail_rename("renameat", newdirfd, newpath);

	if (e) {
		errno = e;
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

	int e = fail_rename("renameat2", newdirfd, newpath);

	if (e) {
		errno = e;
		return -1;
	}
	if (!next)
		next = (int (*)(int, const char *, int, const char *, unsigned int))
			real("renameat2");
	return next(olddirfd, oldpath, newdirfd, newpath, flags);
}

/* libbpf makes every bpf(2) call through syscall(3).  Six arguments are
 * read and passed on whatever the call: the x86-64 and arm64 ABIs make
 * that harmless for calls that take fewer. */
static const char *bpf_cmd_name(long cmd)
{
	switch (cmd) {
	case 0: return "BPF_MAP_CREATE";
	case 1: return "BPF_MAP_LOOKUP_ELEM";
	case 2: return "BPF_MAP_UPDATE_ELEM";
	case 3: return "BPF_MAP_DELETE_ELEM";
	case 4: return "BPF_MAP_GET_NEXT_KEY";
	case 5: return "BPF_PROG_LOAD";
	case 6: return "BPF_OBJ_PIN";
	case 7: return "BPF_OBJ_GET";
	default: return "BPF_OTHER";
	}
}

long syscall(long number, ...)
{
	static long (*next)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_bpf && fi_wants(FI_BPF)) {
		int e = should_fail(FI_BPF, "bpf", bpf_cmd_name(a[0]));

		if (e) {
			errno = e;
			return -1;
		}
	}
	if (!next)
		next = (long (*)(long, ...))real("syscall");
	return next(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
