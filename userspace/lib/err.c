// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "err.h"

int sg_errf(struct sg_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void sg_err_prefix(struct sg_err *err, const char *fmt, ...)
{
	char old[SG_ERR_MAX];
	va_list ap;
	int n;

	if (!err)
		return;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* "prefix: old", truncated to fit: truncation is fine for a message. */
	for (const char *src = ": "; n >= 0 && (size_t)n + 1 < sizeof(err->msg) && *src;)
		err->msg[n++] = *src++;
	for (const char *src = old; n >= 0 && (size_t)n + 1 < sizeof(err->msg) && *src;)
		err->msg[n++] = *src++;
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		err->msg[n] = '\0';
}
