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
 *   2. each: the elements of "trusted", handed to jansson one at a time
 *      (built by json_plain.h where the text allows, else json_loadb).
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

/* Where pass 1 saw an element of trusted[] begin: a place pass 2 can
 * start reading from (a second thread reads the array's second half). */
struct sg_jmark {
	size_t at;              /* offset of the element's first byte */
	size_t index;           /* its index in trusted[] */
	uint64_t fingerprint;   /* of the elements before it */
};

#define SG_JS_MARKS 64

struct sg_jsplit {
	char *rest;             /* the file without trusted[]'s elements (malloc'd) */
	size_t rest_len;
	bool has_trusted;       /* a "trusted" array was found and taken out */
	size_t trusted_at;      /* offset of its first byte after '[' */
	size_t count;           /* its elements */
	uint64_t fingerprint;   /* of the elements' bytes */
	size_t file_len;
	/* Marks at every mark_every-th element (doubled whenever the
	 * array of marks fills), so that one lies within 1/32 of the
	 * middle of any count. */
	struct sg_jmark marks[SG_JS_MARKS];
	size_t n_marks, mark_every;
};

/* A stretch of trusted[]'s elements that pass 2 reads on its own. */
struct sg_jpart {
	size_t at;              /* offset of its first element */
	size_t first, count;    /* index of its first element; how many */
	uint64_t fp_before;     /* fingerprint of the elements before it */
	uint64_t fp_after;      /* ... and of those up to its end */
	bool last;              /* it ends at the array's ']' */
};

/* A source over a text in memory, or over an open file (limit: refuse
 * longer).  sha256: hash the bytes read in pass 1 (file sources only). */
int sg_jsrc_init_mem(struct sg_jsrc *s, const char *text, size_t len);
int sg_jsrc_init_fd(struct sg_jsrc *s, int fd, size_t limit, bool sha256);
/* The sha256 of every byte read, as 64 hex digits; 0 or -EIO. */
int sg_jsrc_sha256(struct sg_jsrc *s, char out[65]);
void sg_jsrc_free(struct sg_jsrc *s);
/* A second source over the same text or file, with a window of its own
 * and no hashing: for another thread's part of pass 2.  0 or -ENOMEM. */
int sg_jsrc_dup(const struct sg_jsrc *s, struct sg_jsrc *out);

/* Pass 1.  0, SG_JS_FALLBACK, or -errno (read error, -EFBIG; s->err). */
int sg_jsplit(struct sg_jsrc *s, struct sg_jsplit *out);
/* The same for another top-level array than "trusted" (approvals.json's
 * "approvals"): everything said here of trusted[] is then said of it. */
int sg_jsplit_array(struct sg_jsrc *s, const char *key, struct sg_jsplit *out);
void sg_jsplit_free(struct sg_jsplit *sp);

/* Pass 2: cb gets each element of trusted[] parsed (owned by the caller
 * of json_decref, i.e. by this function: do not keep it) and its index.
 * 0; SG_JS_FALLBACK (an element jansson refuses); -ESTALE (the elements
 * are not those pass 1 saw); or -errno. */
int sg_jsplit_each(struct sg_jsrc *s, const struct sg_jsplit *sp,
		   void (*cb)(json_t *elem, size_t index, void *ctx), void *ctx);

/* The elements cut into two stretches of about the same count, at a
 * mark; false when there are too few to be worth two threads (fewer
 * than min). */
bool sg_jsplit_halves(const struct sg_jsplit *sp, size_t min, struct sg_jpart part[2]);
/* Pass 2 over one stretch, as sg_jsplit_each (the same returns; cb gets
 * indexes in the whole array).  Parts may be read at the same time, each
 * through a source of its own (sg_jsrc_dup). */
int sg_jsplit_each_part(struct sg_jsrc *s, const struct sg_jpart *part,
			void (*cb)(json_t *elem, size_t index, void *ctx), void *ctx);

#endif
