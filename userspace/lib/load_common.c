// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What every loader needs around the JSON: the list of problems found
 * (struct sg_diag), opening a file that decides what the firewall lets
 * through without trusting anything about it, its sha256, and the time
 * and duration syntax shared with smtpgatectl.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "load_internal.h"

/* ---- diagnostics ---------------------------------------------------- */

void sg_diag_add(struct sg_diag *d, bool is_error, const char *fmt, ...)
{
	char **lines;
	bool *flags;
	char *line;
	va_list ap;
	int n;

	if (!d)
		return;
	/* Count first: losing a message to ENOMEM must not lose the error. */
	if (is_error)
		d->n_errors++;
	else
		d->n_warnings++;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	lines = realloc(d->lines, (d->n + 1) * sizeof(*lines));
	if (!lines) {
		free(line);
		return;
	}
	d->lines = lines;
	flags = realloc(d->is_error, (d->n + 1) * sizeof(*flags));
	if (!flags) {
		free(line);
		return;
	}
	d->is_error = flags;
	d->lines[d->n] = line;
	d->is_error[d->n] = is_error;
	d->n++;
}

void sg_diag_free(struct sg_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	free(d->is_error);
	memset(d, 0, sizeof(*d));
}

void sg_diag_print(const struct sg_diag *d, void *file)
{
	FILE *f = file;

	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s: %s\n", d->is_error[i] ? "error" : "warning", d->lines[i]);
}

/* ---- small shared helpers ------------------------------------------- */

const char *sg_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

long long sg_now(const struct sg_load_opts *o)
{
	return o && o->now_unix ? o->now_unix : (long long)time(NULL);
}

bool sg_name_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

bool sg_valid_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n < SG_NAME_MAX && sg_name_chars_ok(s);
}

uint32_t sg_default_class(const struct sg_policy *p)
{
	int i = sg_policy_class_index(p, "default");

	return i < 0 ? SG_NO_CLASS : (uint32_t)i;
}

int sg_check_text(const char *s, size_t max, struct sg_err *err)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t chars = 0;

	if (!*u)
		return sg_errf(err, -EINVAL, "must not be empty");
	for (; *u; u++) {
		/* C0 controls, DEL, and C1 controls (U+0080-U+009F, which
		 * UTF-8 writes as 0xC2 0x80-0x9F): a newline in a ticket
		 * would forge lines in logs and audit trails. */
		if (*u < 0x20 || *u == 0x7f || (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f))
			return sg_errf(err, -EINVAL, "must not contain control characters");
		if ((*u & 0xc0) != 0x80)
			chars++;
	}
	if (chars > max)
		return sg_errf(err, -EINVAL, "is %zu characters long, at most %zu", chars, max);
	return 0;
}

/* ---- files ------------------------------------------------------------ */

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

int sg_sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) || n != 32)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- times and durations -------------------------------------------- */

/* Exactly n decimal digits at s. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* RFC 3339 section 5.6 date-time: full-date "T" full-time, where the
 * offset is "Z" or +hh:mm/-hh:mm; "t" and "z" are allowed (section 5.6
 * note).  Fractional seconds are accepted and dropped. */
int sg_parse_rfc3339(const char *s, long long *unix_sec)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p;
	struct tm tm;
	time_t t;

	if (!s || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60 || oh > 23 || om > 59)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;        /* a leap second (60) rolls over to :00 */
	t = timegm(&tm);
	*unix_sec = (long long)t - sign * (oh * 3600LL + om * 60LL);
	return 0;
}

void sg_format_rfc3339(long long unix_sec, char *buf, size_t len)
{
	time_t t = (time_t)unix_sec;
	struct tm tm;

	if (!len)
		return;
	buf[0] = '\0';
	/* Four digits of year, always: strftime's %Y writes 226 for the
	 * year 0226, which the parser (rightly) refuses, so a time it had
	 * accepted would not read back (found by fuzz_approvals). */
	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return;
	if (snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) >= (int)len)
		buf[0] = '\0'; /* never a cut-off time */
}

/* Longer durations are surely typos (and now + d must not overflow). */
#define SG_DURATION_MAX (100LL * 366 * 86400)

int sg_parse_duration(const char *s, long long *seconds)
{
	long long v = 0, unit;
	const char *p = s;

	if (!p)
		return -EINVAL;
	if (*p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LLONG_MAX - (*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (*p - '0');
	}
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -EINVAL;
	}
	if (p[1])
		return -EINVAL;
	if (!v)
		return -EINVAL;
	if (v > SG_DURATION_MAX / unit)
		return -ERANGE;
	*seconds = v * unit;
	return 0;
}
