// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the small text parsers every file and request goes
 * through: addresses, prefixes, durations, RFC 3339 times and the
 * metrics listen address.  The input (up to its first NUL) is given to
 * each.  Properties: what parses formats back to text that parses to
 * the same value; a prefix never keeps host bits; durations are
 * positive and bounded; a time formats back to the same instant.
 */
#include <sys/socket.h>
#include "fuzz_common.h"
#include "addr.h"
#include "config.h"
#include "load.h"

#define DURATION_MAX (100LL * 366 * 86400)
/* 1000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years %Y prints
 * with four digits. */
#define T_MIN (-30610224000LL)
#define T_MAX 253402300799LL

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void addr_round_trip(const char *s)
{
	struct sg_err err = { 0 };
	struct sg_addr a, b;
	char text[SG_PREFIX_STRLEN];

	if (sg_addr_parse(s, &a, &err))
		return;
	sg_addr_format(&a, text, sizeof(text));
	fz_check(!sg_addr_parse(text, &b, &err), "address \"%s\" formats as \"%s\", which is "
		 "refused: %s", s, text, err.msg);
	fz_check(!memcmp(&a, &b, sizeof(a)), "address \"%s\" -> \"%s\" -> another address", s,
		 text);
}

static void prefix_round_trip(const char *s)
{
	struct sg_err err = { 0 };
	struct sg_prefix p, q;
	struct sg_addr masked;
	char text[SG_PREFIX_STRLEN];

	if (sg_prefix_parse(s, &p, &err))
		return;
	fz_check(p.len <= 128, "prefix \"%s\" has length %u", s, p.len);
	fz_check(!sg_addr_is_v4(&p.addr) || p.len >= 96 || p.len == 0,
		 "IPv4 prefix \"%s\" has length %u over the mapped address", s, p.len);
	masked = p.addr;
	sg_addr_mask(&masked, p.len);
	fz_check(!memcmp(&masked, &p.addr, sizeof(masked)), "prefix \"%s\" keeps host bits", s);
	fz_check(sg_prefix_contains(&p, &p.addr), "prefix \"%s\" does not contain itself", s);
	sg_prefix_format(&p, text, sizeof(text));
	fz_check(!sg_prefix_parse(text, &q, &err), "prefix \"%s\" formats as \"%s\", which is "
		 "refused: %s", s, text, err.msg);
	fz_check(sg_prefix_equal(&p, &q), "prefix \"%s\" -> \"%s\" -> another prefix", s, text);
}

static void time_round_trip(const char *s)
{
	long long t, u;
	char text[64];

	if (sg_parse_rfc3339(s, &t))
		return;
	if (t < T_MIN || t > T_MAX)
		return;
	sg_format_rfc3339(t, text, sizeof(text));
	fz_check(!sg_parse_rfc3339(text, &u) && u == t, "time \"%s\" = %lld formats as \"%s\", "
		 "which does not parse back", s, t, text);
}

static void duration(const char *s)
{
	long long d;

	if (sg_parse_duration(s, &d))
		return;
	fz_check(d > 0 && d <= DURATION_MAX, "duration \"%s\" = %lld", s, d);
}

static void listen_addr(const char *s)
{
	struct sockaddr_storage ss;
	struct sg_err err = { 0 };
	unsigned len = 0;

	if (sg_parse_listen(s, &ss, &len, &err))
		return;
	fz_check(len > 0 && len <= sizeof(ss), "listen \"%s\" length %u", s, len);
	fz_check(ss.ss_family == AF_INET || ss.ss_family == AF_INET6, "listen \"%s\" family %d",
		 s, ss.ss_family);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_str(data, size);

	addr_round_trip(s);
	prefix_round_trip(s);
	time_round_trip(s);
	duration(s);
	listen_addr(s);
	free(s);
	return 0;
}
