/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy.json read without holding it: a million trusted entries are
 * about 100 MB of text and, as one jansson tree, over 600 MB more.  The
 * file is read twice through a small window:
 *
 *   1. split: every byte is hashed (the policy's sha256) and scanned for
 *      its structure only; the top-level object's members are copied
 *      into a small text, except the elements of "trusted", which are
 *      counted and fingerprinted instead ("trusted": [] stays in their
 *      place, so jansson still sees every key, in order);
 *   2. each: the elements of "trusted", handed to jansson one at a time.
 *
 * The scanner checks only what it needs to find where values end; every
 * byte is still parsed by jansson, in the small text or as an element.
 * Anything it does not expect (a syntax error, most likely) makes the
 * caller parse the whole file the plain way, whose message for the error
 * is the one a user has always seen.  The fingerprint of the elements is
 * compared between the passes: a file written over in place meanwhile is
 * refused, not half read.
 */
#ifndef SG_JSON_STREAM_H
#define SG_JSON_STREAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returned when the scanner met something it does not expect: parse the
 * whole text instead. */
#define SG_JS_FALLBACK 1

struct sg_jsrc {
	int fd;                 /* -1: the text is mem[0, mem_len) */
	const char *mem;
	size_t mem_len;
	size_t limit;           /* a file longer than this is refused */
	char *buf;              /* window: file bytes [base, base + len) */
	size_t cap, base, len;
	size_t keep;            /* bytes from here on stay in the window */
	void *sha;              /* Nettle sha256_ctx hashing every byte once, pass 1 */
	size_t hashed;
	int err;                /* -errno of a failed read, -EFBIG */
};

struct sg_jsplit {
	char *rest;             /* the file without trusted[]'s elements (malloc'd) */
	size_t rest_len;
	bool has_trusted;       /* a "trusted" array was found and taken out */
	size_t trusted_at;      /* offset of its first byte after '[' */
	size_t count;           /* its elements */
	uint64_t fingerprint;   /* of the elements' bytes */
	size_t file_len;
};

/* A source over a text in memory, or over an open file (limit: refuse
 * longer).  sha256: hash the bytes read in pass 1 (file sources only). */
int sg_jsrc_init_mem(struct sg_jsrc *s, const char *text, size_t len);
int sg_jsrc_init_fd(struct sg_jsrc *s, int fd, size_t limit, bool sha256);
/* The sha256 of every byte read, as 64 hex digits; 0 or -EIO. */
int sg_jsrc_sha256(struct sg_jsrc *s, char out[65]);
void sg_jsrc_free(struct sg_jsrc *s);

/* Pass 1.  0, SG_JS_FALLBACK, or -errno (read error, -EFBIG; s->err). */
int sg_jsplit(struct sg_jsrc *s, struct sg_jsplit *out);
void sg_jsplit_free(struct sg_jsplit *sp);

/* Pass 2: cb gets each element of trusted[] parsed (owned by the caller
 * of json_decref, i.e. by this function: do not keep it) and its index.
 * 0; SG_JS_FALLBACK (an element jansson refuses); -ESTALE (the elements
 * are not those pass 1 saw); or -errno. */
int sg_jsplit_each(struct sg_jsrc *s, const struct sg_jsplit *sp,
		   void (*cb)(json_t *elem, size_t index, void *ctx), void *ctx);

#endif
