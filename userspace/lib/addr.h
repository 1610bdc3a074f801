/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv4 and IPv6 addresses and prefixes in the data plane's one shape:
 * 16 bytes, IPv4 as IPv4-mapped IPv6, prefix lengths over 128 bits.
 * Text is always the family's own notation ("10.0.0.0/8", "2001:db8::/32").
 */
#ifndef SG_ADDR_H
#define SG_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include "smtpgate/abi.h"
#include "err.h"

/* Longest text form: an IPv6 address, '/', three digits, NUL. */
#define SG_PREFIX_STRLEN 50

struct sg_prefix {
	struct sg_addr addr;
	unsigned len;           /* 0..128 over the mapped address */
};

bool sg_addr_is_v4(const struct sg_addr *a);
/* Parses an address (no prefix length).  IPv4 written in IPv4-mapped
 * IPv6 form (::ffff:a.b.c.d) is refused, naming the IPv4 to write. */
int sg_addr_parse(const char *text, struct sg_addr *out, struct sg_err *err);
/* Parses "ADDR" (a host: /32 or /128) or "ADDR/LEN", LEN decimal digits
 * only.  Host bits set under the mask are an error, never silently
 * cleared.  An IPv6 prefix that contains ::ffff:0:0/96 (it would match
 * every IPv4 source) or lies inside it (IPv4 in disguise) is refused. */
int sg_prefix_parse(const char *text, struct sg_prefix *out, struct sg_err *err);
void sg_addr_format(const struct sg_addr *a, char *buf, size_t len);
/* Hosts print without a length, like they are usually written. */
void sg_prefix_format(const struct sg_prefix *p, char *buf, size_t len);
bool sg_prefix_is_host(const struct sg_prefix *p);
bool sg_prefix_contains(const struct sg_prefix *p, const struct sg_addr *a);
bool sg_prefix_equal(const struct sg_prefix *a, const struct sg_prefix *b);
/* A 64-bit hash of address and length, every bit of it mixed: for the
 * hash tables and filters of prefixes. */
uint64_t sg_prefix_hash(const struct sg_prefix *p);
/* Mask an address down to its first len bits. */
void sg_addr_mask(struct sg_addr *a, unsigned len);
void sg_addr_from_v4(struct sg_addr *a, unsigned int be_v4);

#endif
