// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Writing the approvals journal (approvals_journal.h): one open file
 * descriptor for the daemon's life, a line per change, and compaction
 * into approvals.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "approvals_journal.h"

#define COMPACT_MIN 1024

struct sg_journal {
	char json_path[PATH_MAX];
	char path[PATH_MAX];
	int fd;
	off_t size;             /* where the next line goes */
	size_t records;         /* lines since the last compaction */
};

int sg_approvals_journal_path(const char *approvals_path, char *buf, size_t len)
{
	size_t n = strlen(approvals_path);
	int w;

	if (n > 5 && !strcmp(approvals_path + n - 5, ".json"))
		n -= 5;
	w = snprintf(buf, len, "%.*s.journal", (int)n, approvals_path);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* The directory entry of a new journal must be durable before any line
 * in it is acknowledged. */
static int fsync_dir(const char *path, struct sg_err *err)
{
	char copy[PATH_MAX];
	int dfd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sg_errf(err, -errno, "%s: open its directory: %s", path, strerror(errno));
	if (fsync(dfd))
		rc = sg_errf(err, -errno, "%s: fsync of its directory: %s", path, strerror(errno));
	close(dfd);
	return rc;
}

/* Length of the file up to and including its last newline. */
static int complete_length(int fd, off_t size, off_t *out)
{
	char buf[4096];
	off_t end = size;

	while (end > 0) {
		size_t n = end < (off_t)sizeof(buf) ? (size_t)end : sizeof(buf);
		ssize_t r = pread(fd, buf, n, end - (off_t)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)n)
			return r < 0 ? -errno : -EIO;
		for (size_t i = n; i > 0; i--) {
			if (buf[i - 1] == '\n') {
				*out = end - (off_t)n + (off_t)i;
				return 0;
			}
		}
		end -= (off_t)n;
	}
	*out = 0;
	return 0;
}

static size_t count_lines(int fd, off_t size)
{
	char buf[65536];
	size_t lines = 0;
	off_t off = 0;

	while (off < size) {
		ssize_t r = pread(fd, buf, sizeof(buf), off);

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			lines += buf[i] == '\n';
		off += r;
	}
	return lines;
}

int sg_journal_open(struct sg_journal **out, const char *approvals_path, struct sg_err *err)
{
	struct sg_journal *j = calloc(1, sizeof(*j));
	struct stat st;
	off_t keep;
	bool created;
	int rc;

	*out = NULL;
	if (!j)
		return sg_errf(err, -ENOMEM, "out of memory");
	j->fd = -1;
	snprintf(j->json_path, sizeof(j->json_path), "%s", approvals_path);
	if (sg_approvals_journal_path(approvals_path, j->path, sizeof(j->path))) {
		rc = sg_errf(err, -ENAMETOOLONG, "%s: path too long", approvals_path);
		goto fail;
	}
	created = access(j->path, F_OK) != 0;
	j->fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->fd < 0) {
		rc = sg_errf(err, -errno, "%s: open: %s", j->path, strerror(errno));
		goto fail;
	}
	if (fstat(j->fd, &st) || !S_ISREG(st.st_mode)) {
		rc = sg_errf(err, -EINVAL, "%s: not a regular file", j->path);
		goto fail;
	}
	if ((rc = complete_length(j->fd, st.st_size, &keep))) {
		sg_errf(err, rc, "%s: read: %s", j->path, strerror(-rc));
		goto fail;
	}
	if (keep != st.st_size && (ftruncate(j->fd, keep) || fsync(j->fd))) {
		rc = sg_errf(err, -errno, "%s: cutting off an incomplete last line: %s", j->path,
			     strerror(errno));
		goto fail;
	}
	if (created && (fsync(j->fd) || (rc = fsync_dir(j->path, err)))) {
		if (!rc)
			rc = sg_errf(err, -errno, "%s: fsync: %s", j->path, strerror(errno));
		goto fail;
	}
	j->size = keep;
	j->records = count_lines(j->fd, keep);
	*out = j;
	return 0;
fail:
	sg_journal_close(j);
	return rc;
}

void sg_journal_close(struct sg_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

/* Test hooks, so an end-to-end test can prove that a failed append
 * undoes the change and that a crash in the middle of one loses nothing
 * acknowledged (the unit test injects real faults instead). */
static int test_hook(struct sg_journal *j, const char *line, size_t len, struct sg_err *err)
{
	const char *fail = getenv("SG_TEST_FAIL_JOURNAL_WRITE");
	const char *crash = getenv("SG_TEST_CRASH_JOURNAL_WRITE");

	if (crash && !strcmp(crash, "1")) {
		/* Half a line, as a crash in the middle of the write leaves. */
		if (sg_write_all(j->fd, line, len / 2) == 0)
			fdatasync(j->fd);
		_exit(99);
	}
	if (fail && !strcmp(fail, "1"))
		return sg_errf(err, -EIO, "%s: injected failure before the write "
			       "(SG_TEST_FAIL_JOURNAL_WRITE)", j->path);
	return 0;
}

/* Appends lines (text ending in '\n', `lines` of them) whole and
 * durably, or not at all: one write and one fdatasync however many. */
static int append_lines(struct sg_journal *j, const char *line, size_t len, size_t lines,
			struct sg_err *err)
{
	int rc = test_hook(j, line, len, err);
	int e;

	if (rc)
		return rc;
	rc = sg_write_all(j->fd, line, len);

	if (!rc && !fdatasync(j->fd)) {
		j->size += (off_t)len;
		j->records += lines;
		return 0;
	}
	e = rc ? -rc : errno;
	sg_errf(err, -e, "%s: %s: %s", j->path, rc ? "write" : "fdatasync", strerror(e));
	/* Not acknowledged: take the line (or what of it was written) back,
	 * so the journal is as it was.  (Should the fdatasync of the cut
	 * fail too, the cut is still what every reader sees, and the next
	 * line's fdatasync makes it durable with that line.) */
	if (!ftruncate(j->fd, j->size)) {
		fdatasync(j->fd);
		return -e;
	}
	if (!rc) {
		/* The whole line is in the file and could not be taken back:
		 * it counts, as a rename would once done. */
		j->size += (off_t)len;
		j->records += lines;
		return SG_SAVED_NOT_DURABLE;
	}
	/* A partial line that stays has no newline: a reader ignores it and
	 * the next open cuts it off; the next append must not follow it. */
	j->size = lseek(j->fd, 0, SEEK_END);
	return -e;
}

static int append_json(struct sg_journal *j, json_t *rec, struct sg_err *err)
{
	char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	char *line;
	size_t n;
	int rc;

	json_decref(rec);
	if (!text)
		return sg_errf(err, -ENOMEM, "%s: out of memory", j->path);
	n = strlen(text);
	line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return sg_errf(err, -ENOMEM, "%s: out of memory", j->path);
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	rc = append_lines(j, line, n + 1, 1, err);
	free(line);
	return rc;
}

int sg_journal_add(struct sg_journal *j, const struct sg_policy *p,
		   const struct sg_trusted_entry *t, struct sg_err *err)
{
	json_t *a = sg_approval_json(p, t);

	if (!a)
		return sg_errf(err, -ENOMEM, "%s: out of memory", j->path);
	return append_json(j, json_pack("{s:s, s:o}", "op", "add", "approval", a), err);
}

int sg_journal_add_batch(struct sg_journal *j, const struct sg_policy *p,
			 const struct sg_trusted_entry *t, size_t n, struct sg_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = 0;

	if (!f)
		return sg_errf(err, -ENOMEM, "%s: out of memory", j->path);
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *a = sg_approval_json(p, &t[i]);
		json_t *rec = a ? json_pack("{s:s, s:o}", "op", "add", "approval", a) : NULL;
		char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

		json_decref(rec);
		if (!text || fprintf(f, "%s\n", text) < 0)
			rc = -ENOMEM;
		free(text);
	}
	if (fclose(f) || rc) {
		free(buf);
		return sg_errf(err, -ENOMEM, "%s: out of memory", j->path);
	}
	rc = n ? append_lines(j, buf, len, n, err) : 0;
	free(buf);
	return rc;
}

int sg_journal_del(struct sg_journal *j, const struct sg_prefix *prefix, struct sg_err *err)
{
	char text[SG_PREFIX_STRLEN];

	sg_prefix_format(prefix, text, sizeof(text));
	return append_json(j, json_pack("{s:s, s:s}", "op", "del", "addr", text), err);
}

size_t sg_journal_records(const struct sg_journal *j)
{
	return j->records;
}

bool sg_journal_wants_compaction(const struct sg_journal *j, const struct sg_policy *p)
{
	return j->records > COMPACT_MIN && j->records > p->n_approvals;
}

int sg_journal_compact(struct sg_journal *j, const struct sg_policy *p, struct sg_err *err)
{
	int rc = sg_approvals_save(j->json_path, p, err);

	if (rc)
		return rc; /* not durable: the journal stays, replaying it is harmless */
	if (ftruncate(j->fd, 0))
		return sg_errf(err, -errno, "%s: emptying it after compaction: %s (nothing is "
			       "lost: approvals.json holds its records too)", j->path,
			       strerror(errno));
	j->size = 0;
	j->records = 0;
	/* Should the emptying not reach the disk, the records come back
	 * after a power loss, and replaying them changes nothing. */
	if (fdatasync(j->fd))
		return sg_errf(err, -errno, "%s: fdatasync after compaction: %s (nothing is "
			       "lost: approvals.json holds its records too)", j->path,
			       strerror(errno));
	return 0;
}
