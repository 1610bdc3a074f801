// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"

static const unsigned char v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool sg_addr_is_v4(const struct sg_addr *a)
{
	return memcmp(a->b, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

void sg_addr_from_v4(struct sg_addr *a, unsigned int be_v4)
{
	memcpy(a->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	memcpy(a->b + 12, &be_v4, 4);
}

/* The address alone, in either family's notation; 0 or -EINVAL. */
static int parse_any(const char *text, struct sg_addr *out)
{
	struct in_addr v4;

	if (strchr(text, ':'))
		return inet_pton(AF_INET6, text, out->b) == 1 ? 0 : -EINVAL;
	if (inet_pton(AF_INET, text, &v4) != 1)
		return -EINVAL;
	sg_addr_from_v4(out, v4.s_addr);
	return 0;
}

int sg_addr_parse(const char *text, struct sg_addr *out, struct sg_err *err)
{
	char v4[INET_ADDRSTRLEN];

	if (!text || !*text)
		return sg_errf(err, -EINVAL, "empty address");
	if (parse_any(text, out))
		return sg_errf(err, -EINVAL, "\"%s\" is not an IP address", text);
	/* ::ffff:a.b.c.d is how IPv4 is kept: written as IPv6 it would be
	 * an IPv4 address in disguise, which nobody reading it expects. */
	if (strchr(text, ':') && sg_addr_is_v4(out)) {
		sg_addr_format(out, v4, sizeof(v4));
		return sg_errf(err, -EINVAL, "\"%s\" is an IPv4-mapped IPv6 address, which "
			       "smtpgate treats as the IPv4 address %s: write %s instead", text, v4,
			       v4);
	}
	return 0;
}

void sg_addr_mask(struct sg_addr *a, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;

		if (bits < 8)
			a->b[i] &= (unsigned char)(0xff00 >> bits);
	}
}

/* A prefix length: 1 to 3 decimal digits and nothing else (strtoul
 * would take " 8", "+8" or "0x8"), at most max. */
static int parse_len(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n = 0;

	for (; s[n] >= '0' && s[n] <= '9' && n < 4; n++)
		v = v * 10 + (unsigned)(s[n] - '0');
	if (!n || n > 3 || s[n] || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* IPv4 addresses live in ::ffff:0:0/96 (see addr.h), so an IPv6 prefix
 * that reaches into that range is not the IPv6 it looks like. */
static int check_v4_alias(const char *text, const struct sg_prefix *p, struct sg_err *err)
{
	struct sg_prefix mapped = { .len = 96 };
	char v4[SG_PREFIX_STRLEN];

	if (p->len >= 96) {
		if (!sg_addr_is_v4(&p->addr))
			return 0;
		sg_prefix_format(p, v4, sizeof(v4));
		return sg_errf(err, -EINVAL, "\"%s\" is an IPv4-mapped IPv6 %s, which smtpgate "
			       "treats as the IPv4 %s %s: write %s instead", text,
			       sg_prefix_is_host(p) ? "address" : "prefix",
			       sg_prefix_is_host(p) ? "address" : "prefix", v4, v4);
	}
	memcpy(mapped.addr.b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	sg_addr_mask(&mapped.addr, p->len);
	if (memcmp(&mapped.addr, &p->addr, sizeof(p->addr)))
		return 0;
	return sg_errf(err, -EINVAL, "\"%s\" contains ::ffff:0:0/96, where smtpgate keeps IPv4 "
		       "addresses, so it would match every IPv4 source as well: write IPv6 "
		       "prefixes that leave ::ffff:0:0/96 out (2000::/3 is all global unicast "
		       "IPv6) and IPv4 prefixes for IPv4 (0.0.0.0/0 is all of it)", text);
}

int sg_prefix_parse(const char *text, struct sg_prefix *out, struct sg_err *err)
{
	char buf[SG_PREFIX_STRLEN + 8];
	char *slash;
	struct sg_addr masked;
	unsigned len;
	bool v4, v6_text;

	if (!text || strlen(text) >= sizeof(buf))
		return sg_errf(err, -EINVAL, "\"%s\" is not an IP prefix", text ? text : "");
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (!*buf || parse_any(buf, &out->addr))
		return sg_errf(err, -EINVAL, "\"%s\" is not an IP prefix", text);
	v6_text = strchr(buf, ':') != NULL;
	v4 = !v6_text;
	if (!slash) {
		out->len = 128;
	} else {
		if (parse_len(slash + 1, v4 ? 32u : 128u, &len))
			return sg_errf(err, -EINVAL, "\"%s\": prefix length must be 0-%u", text,
				       v4 ? 32 : 128);
		out->len = v4 ? 96 + len : len;
		masked = out->addr;
		sg_addr_mask(&masked, out->len);
		if (memcmp(&masked, &out->addr, sizeof(masked)))
			return sg_errf(err, -EINVAL, "\"%s\" has host bits set (did you mean "
				       "%s/%u?)", text,
				       (sg_addr_format(&masked, buf, sizeof(buf)), buf), len);
	}
	return v6_text ? check_v4_alias(text, out, err) : 0;
}

void sg_addr_format(const struct sg_addr *a, char *buf, size_t len)
{
	if (sg_addr_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, buf, len);
	else
		inet_ntop(AF_INET6, a->b, buf, len);
}

bool sg_prefix_is_host(const struct sg_prefix *p)
{
	return p->len == 128;
}

void sg_prefix_format(const struct sg_prefix *p, char *buf, size_t len)
{
	size_t n;

	sg_addr_format(&p->addr, buf, len);
	if (sg_prefix_is_host(p))
		return;
	n = strlen(buf);
	snprintf(buf + n, len - n, "/%u", sg_addr_is_v4(&p->addr) ? p->len - 96 : p->len);
}

bool sg_prefix_contains(const struct sg_prefix *p, const struct sg_addr *a)
{
	struct sg_addr m = *a;

	sg_addr_mask(&m, p->len);
	return memcmp(&m, &p->addr, sizeof(m)) == 0;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t sg_prefix_hash(const struct sg_prefix *p)
{
	uint64_t lo, hi;

	memcpy(&lo, p->addr.b, 8);
	memcpy(&hi, p->addr.b + 8, 8);
	return mix(mix(lo ^ p->len) ^ hi);
}

bool sg_prefix_equal(const struct sg_prefix *a, const struct sg_prefix *b)
{
	return a->len == b->len && memcmp(&a->addr, &b->addr, sizeof(a->addr)) == 0;
}
