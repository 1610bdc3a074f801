/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Replacing a file's content so that a crash at any instant leaves the
 * old content or the new, never a mix: a new file in the same directory
 * (unnamed where the file system allows), written and fsync'd, renamed
 * over the old one, then the directory fsync'd.  One implementation for
 * approvals.json, the fleet store's cache and the record of audited
 * expiries.
 */
#ifndef SG_FILE_REPLACE_H
#define SG_FILE_REPLACE_H

#include <stddef.h>
#include "err.h"

/* The new content is in place (every reader sees it), but the fsync of
 * its directory failed, so a power loss may bring the old one back. */
#define SG_SAVED_NOT_DURABLE 1

/* Writes all of buf to fd, restarting after signals: 0 or -errno
 * (-ENOSPC for a write that makes no progress). */
int sg_write_all(int fd, const void *buf, size_t len);

/* Runs between the new content's fsync and the rename; nonzero (a
 * -errno, with the reason in err) stops the save with path unchanged. */
typedef int (*sg_before_rename_fn)(void *ctx, struct sg_err *err);

/* Replaces path's content with len bytes of text, mode 0600.  Returns 0
 * (done, durable); -errno with the reason in err (path is as it was); or
 * SG_SAVED_NOT_DURABLE with the reason in err (done; see above).
 * before_rename may be NULL. */
int sg_file_replace(const char *path, const char *text, size_t len,
		    sg_before_rename_fn before_rename, void *ctx, struct sg_err *err);

/* The same with the string text and a final newline (a JSON document
 * as one text line). */
int sg_file_replace_line(const char *path, const char *text, sg_before_rename_fn before_rename,
			 void *ctx, struct sg_err *err);

#endif
