// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The time and duration syntax of policy files, approvals and
 * smtpgatectl: RFC 3339 (UTC, "Z" or an offset) and durations like 90m,
 * 12h, 30d, 2w.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "load_internal.h"

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
