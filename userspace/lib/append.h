/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Appending whole lines to a log that must stay parseable line by line
 * (audit.jsonl): a line is either entirely in the file, durably, or not
 * at all.  A short write (a full disk) is retried, and if the file still
 * cannot take the whole line it is cut back to where it was, so no torn
 * line is left for the next one to be glued onto.
 */
#ifndef SG_APPEND_H
#define SG_APPEND_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"

/* Where a line went: lets the caller take it back (sg_append_retract)
 * when what it records did not happen after all. */
struct sg_append_mark {
	int fd;                 /* the file, open; -1: none */
	off_t off;              /* its length before the line */
};

/* Appends buf[0..len) (one line, ending in '\n') to path (created 0640,
 * never through a symlink; opened read-write to see its last byte), then fsyncs it.  A file whose last line has
 * no newline (a crash mid-write by an older version) gets one first, so
 * the new line starts a line.  On success *mark (if not NULL) holds the
 * file open for sg_append_retract or sg_append_done; on failure the file
 * is as it was and err says why.  Returns 0 or -errno. */
int sg_append_line(const char *path, const char *buf, size_t len, struct sg_append_mark *mark,
		   struct sg_err *err);

/* Cuts the file back to its length before the marked line (only if it
 * is still the same file and no shorter), fsyncs, and closes the mark.
 * Returns 0 or -errno. */
int sg_append_retract(struct sg_append_mark *mark, struct sg_err *err);

/* Closes the mark: the line stays. */
void sg_append_done(struct sg_append_mark *mark);

/* Appends buf[0..len) to fd, a file opened with O_APPEND, whole or not
 * at all (a line that cannot be completed is cut back), without fsync:
 * for logs whose lines need not be durable one by one (events.jsonl).
 * Returns 0 or -errno (-EIO: not even the cut-back worked). */
int sg_append_fd(int fd, const char *buf, size_t len);

/* For tests: the write(2) the appender uses, so a short write or a full
 * disk can be simulated. */
extern ssize_t (*sg_append_write_fn)(int fd, const void *buf, size_t len);

#endif
