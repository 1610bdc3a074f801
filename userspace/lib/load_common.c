// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Small rules every loader shares: names, texts, the default rate class,
 * the clock the loaders judge expiry by.  Diagnostics are diag.c, files
 * trusted_file.c, hashes sha256.c, times and durations timefmt.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "load_internal.h"

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
