/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Errors carry a message for the operator, not just an errno: every
 * failing library call fills a struct sg_err with one line that names
 * what failed and why ("policy.json: trusted[3].addr: ...").
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
