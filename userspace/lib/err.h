/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Errors carry a message for the operator, not just an errno: every
 * failing library call fills a struct sg_err with one line that names
 * what failed and why ("policy.json: trusted[3].addr: ...").
 *
 * The convention, everywhere in the tree:
 *  - A call that can fail in one way returns 0 or a negative errno and
 *    fills a struct sg_err (which may be NULL when the caller does not
 *    need the words).  Build the message where the fact is known, with
 *    sg_errf; callers above add where they were (sg_err_prefix) rather
 *    than writing a message of their own.
 *  - A call that validates a document (a policy, approvals, the host
 *    config) reports every problem, not the first: it fills a struct
 *    sg_diag (load.h) with one line per problem, errors and warnings,
 *    each with its JSON path, and returns -1 if there was an error.
 *  - Functions that own resources release them through one exit label
 *    (goto out), in reverse order of acquisition; early returns are for
 *    the time before anything is acquired.
 *  - The daemon logs (log.h) what it cannot hand back to a caller; what
 *    goes back in a reply is not logged again.
 */
#ifndef SG_ERR_H
#define SG_ERR_H

#include <stdarg.h>

#define SG_ERR_MAX 512

struct sg_err {
	int code;               /* negative errno, 0 = no error */
	char msg[SG_ERR_MAX];
};

/* Sets *err (if non-NULL) and returns code, so callers can
 * `return sg_errf(err, -EINVAL, "...")`. */
int sg_errf(struct sg_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with "fmt: ". */
void sg_err_prefix(struct sg_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
