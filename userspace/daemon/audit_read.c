// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `audit` (a read): the newest records of audit.jsonl, read from the end
 * of the file backwards, so that neither the memory nor the time it takes
 * depends on the size of the file: it stops at `limit` records, at the
 * first record older than `since` (records are appended in time order),
 * or when the reply would outgrow SGD_AUDIT_REPLY_BUDGET bytes (then the
 * reply says it was cut).  Lines that are not audit records are counted
 * and reported, never silently skipped.
 *
 * Reading is the loop's time: a peer that is not an admin may read
 * READ_BURST bytes of the file at once, then READ_PER_SEC a second (per
 * uid, uid_rate.h), so that readers cannot keep the loop from serving
 * the firewall team.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "control_cmd.h"
#include "log.h"
#include "uid_rate.h"

#define AUDIT_DEFAULT_LIMIT 10000
#define AUDIT_MAX_LIMIT 1000000
/* A line longer than this is not a record the daemon wrote. */
#define AUDIT_LINE_MAX (1 << 20)
#define CHUNK (64 * 1024)
#define READ_BURST (64 << 20)
#define READ_PER_SEC (2 << 20)

static struct sgd_uid_rate reads = { .burst = READ_BURST, .per_sec = READ_PER_SEC };

/* Lines of a file, last first, through a window of at most
 * AUDIT_LINE_MAX + CHUNK bytes. */
struct rev_lines {
	int fd;
	off_t fpos;             /* file offset of buf[lo] */
	char *buf;
	size_t cap, lo, hi;     /* unread data: buf[lo, hi) */
	size_t read;            /* bytes read from the file */
};

enum { LINE_EOF = 0, LINE_OK = 1, LINE_TOO_LONG = 2 };

static int read_before(struct rev_lines *r)
{
	size_t n = r->fpos < CHUNK ? (size_t)r->fpos : CHUNK, len = r->hi - r->lo;

	if (r->lo < n) {
		memmove(r->buf + r->cap - len, r->buf + r->lo, len);
		r->lo = r->cap - len;
		r->hi = r->cap;
	}
	if (pread(r->fd, r->buf + r->lo - n, n, r->fpos - (off_t)n) != (ssize_t)n)
		return -EIO;
	r->lo -= n;
	r->fpos -= (off_t)n;
	r->read += n;
	return 0;
}

/* The previous line (without its newline) in *line, *len. */
static int prev_line(struct rev_lines *r, const char **line, size_t *len)
{
	bool skipping = false;

	for (;;) {
		size_t end = r->hi > r->lo && r->buf[r->hi - 1] == '\n' ? r->hi - 1 : r->hi;
		char *nl = end > r->lo ? memrchr(r->buf + r->lo, '\n', end - r->lo) : NULL;

		if (r->hi == r->lo && r->fpos == 0)
			return LINE_EOF;
		if (nl || r->fpos == 0) {
			size_t start = nl ? (size_t)(nl - r->buf) + 1 : r->lo;

			*line = r->buf + start;
			*len = end - start;
			r->hi = start;
			return skipping ? LINE_TOO_LONG : LINE_OK;
		}
		if (r->hi - r->lo > AUDIT_LINE_MAX) {
			/* Keep only the newline-less tail's last byte: enough to
			 * go on looking for the line's start. */
			skipping = true;
			r->lo = r->hi - 1;
		}
		if (read_before(r))
			return -EIO;
	}
}

/* The records as read (their text, checked to be JSON objects), newest
 * first: kept as text, not as trees, to keep the memory near the reply's
 * size. */
struct collected {
	char **newest_first;
	size_t n, cap;
	size_t bytes;
	size_t malformed;
	size_t read;            /* bytes of the file read */
	bool cut;               /* stopped by the reply budget */
};

/* Reads records backwards into c until limit, since or the budget. */
static int collect(int fd, off_t size, long long since, size_t limit, struct collected *c)
{
	struct rev_lines r = { .fd = fd, .fpos = size, .cap = AUDIT_LINE_MAX + CHUNK + 1 };
	const char *line;
	size_t len;
	int rc = 0;

	r.buf = malloc(r.cap);
	if (!r.buf)
		return -ENOMEM;
	r.lo = r.hi = r.cap;
	while (c->n < limit &&
	       (rc = prev_line(&r, &line, &len)) > LINE_EOF) {
		json_t *rec;
		const char *when;
		long long t;

		if (rc == LINE_TOO_LONG) {
			c->malformed++;
			continue;
		}
		if (!len)
			continue;
		rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
		when = json_string_value(json_object_get(rec, "time"));
		if (!json_is_object(rec) || !when || sg_parse_rfc3339(when, &t)) {
			json_decref(rec);
			c->malformed++;
			continue;
		}
		json_decref(rec);
		if (t < since)
			break;
		if (c->bytes + len + 1 > SGD_AUDIT_REPLY_BUDGET) {
			c->cut = true;
			break;
		}
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 256;
			char **nl = realloc(c->newest_first, cap * sizeof(*nl));

			if (!nl) {
				rc = -ENOMEM;
				break;
			}
			c->newest_first = nl;
			c->cap = cap;
		}
		if (!(c->newest_first[c->n] = strndup(line, len))) {
			rc = -ENOMEM;
			break;
		}
		c->n++;
		c->bytes += len + 1;
	}
	free(r.buf);
	c->read = r.read;
	return rc < 0 ? rc : 0;
}

/* "[oldest,...,newest]", freeing the lines. */
static char *join_oldest_first(struct collected *c)
{
	char *text = malloc(c->bytes + 3), *p = text;

	if (text)
		*p++ = '[';
	for (size_t i = c->n; i > 0; i--) {
		char *line = c->newest_first[i - 1];

		if (text) {
			size_t len = strlen(line);

			if (i != c->n)
				*p++ = ',';
			memcpy(p, line, len);
			p += len;
		}
		free(line);
	}
	if (text) {
		*p++ = ']';
		*p = '\0';
	}
	free(c->newest_first);
	c->newest_first = NULL;
	return text;
}

int sgd_cmd_audit(struct sgd_req *r)
{
	long long since = 0, limit = AUDIT_DEFAULT_LIMIT;
	struct collected c = { 0 };
	const char *path = r->d->audit_path;
	bool limited = r->peer->role != SGD_ROLE_ADMIN;
	int64_t wait_s = 0;
	struct stat st;
	char *text;
	int fd, rc = 0;

	if (sgd_arg_int(r, "since", false, 0, 253402300799LL, &since) < 0 ||
	    sgd_arg_int(r, "limit", false, 1, AUDIT_MAX_LIMIT, &limit) < 0)
		return -1;
	if (limited && !sgd_uid_rate_ready(&reads, (unsigned)r->peer->uid, &wait_s))
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "smtpgated is busy: %s (uid %u) has read "
				    "more than %d MiB of the audit log, at most %d MiB a second "
				    "after that; try again in %lld s", r->peer->user,
				    (unsigned)r->peer->uid, READ_BURST >> 20, READ_PER_SEC >> 20,
				    (long long)wait_s);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		rc = -errno;
	else if (fd >= 0 && fstat(fd, &st))
		rc = -errno;
	else if (fd >= 0)
		rc = collect(fd, st.st_size, since, (size_t)limit, &c);
	if (fd >= 0)
		close(fd);
	if (limited)
		sgd_uid_rate_charge(&reads, (unsigned)r->peer->uid, (int64_t)c.read);
	text = join_oldest_first(&c);
	if (rc || !text) {
		free(text);
		return sgd_req_fail(r, SGD_E_FAILED, NULL, "%s: %s", path,
				    strerror(rc ? -rc : ENOMEM));
	}
	if (c.malformed) {
		sgd_warn("audit: %s: %zu line(s) that are not audit records were skipped", path,
			 c.malformed);
		sgd_req_warn(r, "%s: %zu line(s) among those read are not audit records (torn or "
			     "damaged) and were skipped", path, c.malformed);
	}
	if (c.cut) {
		r->truncated = true;
		sgd_req_warn(r, "the reply is cut at %d MiB: only the newest %zu records are shown; "
			     "ask for fewer (--limit) or newer ones (--since)",
			     SGD_AUDIT_REPLY_BUDGET >> 20, c.n);
	}
	return sgd_req_ok_raw(r, text);
}
