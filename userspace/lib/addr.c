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

int sg_addr_parse(const char *text, struct sg_addr *out, struct sg_err *err)
{
	struct in_addr v4;

	if (!text || !*text)
		return sg_errf(err, -EINVAL, "empty address");
	if (strchr(text, ':')) {
		if (inet_pton(AF_INET6, text, out->b) == 1)
			return 0;
	} else if (inet_pton(AF_INET, text, &v4) == 1) {
		sg_addr_from_v4(out, v4.s_addr);
		return 0;
	}
	return sg_errf(err, -EINVAL, "\"%s\" is not an IP address", text);
}

void sg_addr_mask(struct sg_addr *a, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;

		if (bits < 8)
			a->b[i] &= (unsigned char)(0xff00 >> bits);
	}
}

int sg_prefix_parse(const char *text, struct sg_prefix *out, struct sg_err *err)
{
	char buf[SG_PREFIX_STRLEN + 8];
	char *slash, *end;
	struct sg_addr masked;
	unsigned long len;
	bool v4;

	if (!text || strlen(text) >= sizeof(buf))
		return sg_errf(err, -EINVAL, "\"%s\" is not an IP prefix", text ? text : "");
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (sg_addr_parse(buf, &out->addr, NULL))
		return sg_errf(err, -EINVAL, "\"%s\" is not an IP prefix", text);
	v4 = sg_addr_is_v4(&out->addr) && !strchr(buf, ':');
	if (!slash) {
		out->len = 128;
		return 0;
	}
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || slash[1] == '-' || slash[1] == '+' ||
	    len > (v4 ? 32u : 128u))
		return sg_errf(err, -EINVAL, "\"%s\": prefix length must be 0-%u", text,
			       v4 ? 32 : 128);
	out->len = v4 ? 96 + (unsigned)len : (unsigned)len;
	masked = out->addr;
	sg_addr_mask(&masked, out->len);
	if (memcmp(&masked, &out->addr, sizeof(masked)))
		return sg_errf(err, -EINVAL, "\"%s\" has host bits set (did you mean %s/%lu?)",
			       text, (sg_addr_format(&masked, buf, sizeof(buf)), buf), len);
	return 0;
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

bool sg_prefix_equal(const struct sg_prefix *a, const struct sg_prefix *b)
{
	return a->len == b->len && memcmp(&a->addr, &b->addr, sizeof(a->addr)) == 0;
}
