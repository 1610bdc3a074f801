// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "json_plain.h"
#include "json_stream.h"
#include "load.h"

#define WINDOW (1u << 20) /* a window's first size; it grows for a longer value */

int sg_jsrc_init_mem(struct sg_jsrc *s, const char *text, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->mem = text;
	s->mem_len = len;
	return 0;
}

int sg_jsrc_init_fd(struct sg_jsrc *s, int fd, size_t limit, bool sha256)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->limit = limit;
	s->cap = WINDOW;
	s->buf = malloc(s->cap);
	if (!s->buf)
		return -ENOMEM;
	if (sha256) {
		s->sha = malloc(sizeof(struct sha256_ctx));
		if (!s->sha) {
			sg_jsrc_free(s);
			return -ENOMEM;
		}
		sha256_init(s->sha);
	}
	return 0;
}

int sg_jsrc_dup(const struct sg_jsrc *s, struct sg_jsrc *out)
{
	if (s->fd < 0)
		return sg_jsrc_init_mem(out, s->mem, s->mem_len);
	return sg_jsrc_init_fd(out, s->fd, s->limit, false);
}

void sg_jsrc_free(struct sg_jsrc *s)
{
	free(s->buf);
	s->buf = NULL;
	free(s->sha);
	s->sha = NULL;
}

int sg_jsrc_sha256(struct sg_jsrc *s, char out[65])
{
	uint8_t md[SHA256_DIGEST_SIZE];

	out[0] = '\0';
	if (!s->sha)
		return -EIO;
	sha256_digest(s->sha, sizeof(md), md);
	sg_sha256_hex_digest(md, out);
	return 0;
}

/* Makes byte off available (reading on from the end of the window,
 * dropping what lies before keep).  0, or -1 at the end of the file or
 * on an error (then s->err). */
static int fill(struct sg_jsrc *s, size_t off)
{
	size_t drop = s->keep > s->base ? s->keep - s->base : 0;

	if (off < s->base)
		return -1; /* never asked: the scanner only goes forward */
	if (drop > s->len)
		drop = s->len;
	memmove(s->buf, s->buf + drop, s->len - drop);
	s->base += drop;
	s->len -= drop;
	while (off >= s->base + s->len) {
		ssize_t r;

		if (s->len == s->cap) {
			char *nb = realloc(s->buf, 2 * s->cap);

			if (!nb) {
				s->err = -ENOMEM;
				return -1;
			}
			s->buf = nb;
			s->cap *= 2;
		}
		r = pread(s->fd, s->buf + s->len, s->cap - s->len, (off_t)(s->base + s->len));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			s->err = -errno;
			return -1;
		}
		if (r == 0)
			return -1;
		if (s->sha && s->base + s->len == s->hashed) {
			sha256_update(s->sha, (size_t)r, (const uint8_t *)s->buf + s->len);
			s->hashed += (size_t)r;
		}
		s->len += (size_t)r;
		if (s->base + s->len > s->limit) {
			s->err = -EFBIG;
			return -1;
		}
	}
	return 0;
}

/* The bytes available from off on, contiguous: how many (0 at the end). */
static size_t avail(struct sg_jsrc *s, size_t off, const char **p)
{
	if (s->fd < 0) {
		if (off >= s->mem_len)
			return 0;
		*p = s->mem + off;
		return s->mem_len - off;
	}
	if (!(off >= s->base && off - s->base < s->len) && fill(s, off))
		return 0;
	*p = s->buf + (off - s->base);
	return s->len - (off - s->base);
}

static int peek(struct sg_jsrc *s, size_t off)
{
	const char *p;

	return avail(s, off, &p) ? (unsigned char)*p : -1;
}

/* Bytes [off, off + n) that are in the window (from keep on). */
static const char *bytes(struct sg_jsrc *s, size_t off)
{
	return s->fd < 0 ? s->mem + off : s->buf + (off - s->base);
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(struct sg_jsrc *s, size_t off)
{
	const char *p;
	size_t n;

	while ((n = avail(s, off, &p))) {
		for (size_t i = 0; i < n; i++)
			if (!is_ws((unsigned char)p[i]))
				return off + i;
		off += n;
	}
	return off;
}

/* The end of the value at off (a string, an object or array, or a bare
 * word), without checking it beyond that; false at the end of the file. */
static bool skip_value(struct sg_jsrc *s, size_t off, size_t *end)
{
	bool in_str = false, esc = false, word;
	int c = peek(s, off);
	unsigned depth = 0;
	const char *p;
	size_t n;

	if (c < 0)
		return false;
	word = c != '"' && c != '{' && c != '[';
	while ((n = avail(s, off, &p))) {
		for (size_t i = 0; i < n; i++) {
			char ch = p[i];

			if (word) {
				if (ch == ',' || ch == '}' || ch == ']' || is_ws((unsigned char)ch)) {
					*end = off + i;
					return true;
				}
			} else if (in_str) {
				if (esc)
					esc = false;
				else if (ch == '\\')
					esc = true;
				else if (ch == '"') {
					in_str = false;
					if (!depth) {
						*end = off + i + 1;
						return true;
					}
				}
			} else if (ch == '"') {
				in_str = true;
			} else if (ch == '{' || ch == '[') {
				depth++;
			} else if (ch == '}' || ch == ']') {
				if (!depth)
					return false;
				if (!--depth) {
					*end = off + i + 1;
					return true;
				}
			}
		}
		off += n;
	}
	if (word) {
		*end = off;
		return true;
	}
	return false;
}

static uint64_t fingerprint(uint64_t h, const char *p, size_t n)
{
	uint64_t w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	w = n;
	memcpy(&w, p, n); /* the tail; its length is in the mix below */
	h = (h ^ w ^ ((uint64_t)n << 56)) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

struct elements {
	size_t count;           /* elements walked */
	size_t first;           /* index of the first in trusted[] */
	size_t limit;           /* stop after this many (SIZE_MAX: at ']') */
	uint64_t fingerprint;
	void (*cb)(json_t *elem, size_t index, void *ctx); /* NULL in pass 1 */
	void *ctx;
	struct sg_jsplit *marks; /* pass 1: where to record the marks */
};

/* Pass 1, at the start of element el->count: keeps a mark every
 * mark_every elements, thinning them out (and doubling the step) when
 * the array is full. */
static void mark(struct elements *el, size_t at)
{
	struct sg_jsplit *sp = el->marks;

	if (!sp || !el->count || el->count % sp->mark_every)
		return;
	if (sp->n_marks == SG_JS_MARKS) {
		size_t k = 0;

		sp->mark_every *= 2;
		for (size_t i = 0; i < sp->n_marks; i++)
			if (!(sp->marks[i].index % sp->mark_every))
				sp->marks[k++] = sp->marks[i];
		sp->n_marks = k;
		if (el->count % sp->mark_every)
			return;
	}
	sp->marks[sp->n_marks++] = (struct sg_jmark){
		.at = at, .index = el->count, .fingerprint = el->fingerprint };
}

/* The elements of an array from just after its '[': *end is the offset
 * of its ']'.  0, SG_JS_FALLBACK, or -errno. */
static int walk_elements(struct sg_jsrc *s, size_t off, struct elements *el, size_t *end)
{
	off = skip_ws(s, off);
	if (peek(s, off) == ']') {
		*end = off;
		return 0;
	}
	for (;;) {
		size_t es = off, ee;
		int c;

		s->keep = es; /* the element stays in the window whole */
		mark(el, es);
		if (!skip_value(s, es, &ee))
			return s->err ? s->err : SG_JS_FALLBACK;
		el->fingerprint = fingerprint(el->fingerprint, bytes(s, es), ee - es);
		if (el->cb) {
			json_error_t je;
			/* Most elements are plain (json_plain.h); the rest,
			 * and every error, are jansson's own. */
			json_t *v = sg_json_plain_decode(bytes(s, es), ee - es);

			if (!v)
				v = json_loadb(bytes(s, es), ee - es,
					       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);

			if (!v)
				return SG_JS_FALLBACK;
			el->cb(v, el->first + el->count, el->ctx);
			json_decref(v);
		}
		if (++el->count == el->limit) {
			*end = ee;
			return s->err;
		}
		off = skip_ws(s, ee);
		c = peek(s, off);
		if (c == ']') {
			*end = off;
			return 0;
		}
		if (c != ',')
			return s->err ? s->err : SG_JS_FALLBACK;
		off = skip_ws(s, off + 1);
		if (peek(s, off) == ']')
			return SG_JS_FALLBACK; /* a trailing comma */
	}
}

static int rest_append(struct sg_jsplit *sp, size_t *cap, const char *p, size_t n)
{
	if (sp->rest_len + n + 1 > *cap) {
		size_t c = (sp->rest_len + n + 1) * 2;
		char *r = realloc(sp->rest, c);

		if (!r)
			return -ENOMEM;
		sp->rest = r;
		*cap = c;
	}
	memcpy(sp->rest + sp->rest_len, p, n);
	sp->rest_len += n;
	sp->rest[sp->rest_len] = '\0';
	return 0;
}

/* Is the key text [ks, ke) (quotes included) "key", written plainly? */
static bool is_array_key(struct sg_jsrc *s, size_t ks, size_t ke, const char *key)
{
	size_t n = strlen(key);

	return ke - ks == n + 2 && *bytes(s, ks) == '"' && !memcmp(bytes(s, ks + 1), key, n) &&
	       *bytes(s, ks + n + 1) == '"';
}

static int split(struct sg_jsrc *s, const char *key, struct sg_jsplit *sp)
{
	size_t off, copy_from = 0, cap = 0, end;
	int c, rc;

	s->keep = 0;
	off = skip_ws(s, 0);
	if (peek(s, off) != '{')
		return SG_JS_FALLBACK;
	off = skip_ws(s, off + 1);
	c = peek(s, off);
	while (c != '}') {
		size_t ks = off, ke;

		if (c != '"' || !skip_value(s, ks, &ke))
			return SG_JS_FALLBACK;
		off = skip_ws(s, ke);
		if (peek(s, off) != ':')
			return SG_JS_FALLBACK;
		off = skip_ws(s, off + 1);
		if (is_array_key(s, ks, ke, key) && !sp->has_trusted && peek(s, off) == '[') {
			struct elements el = { .limit = SIZE_MAX, .marks = sp };

			if ((rc = rest_append(sp, &cap, bytes(s, copy_from), off + 1 - copy_from)))
				return rc;
			sp->has_trusted = true;
			sp->trusted_at = off + 1;
			rc = walk_elements(s, off + 1, &el, &end);
			if (rc)
				return rc;
			sp->count = el.count;
			sp->fingerprint = el.fingerprint;
			copy_from = s->keep = end;
			off = end + 1;
		} else if (!skip_value(s, off, &off)) {
			return SG_JS_FALLBACK;
		}
		off = skip_ws(s, off);
		c = peek(s, off);
		if (c == ',') {
			off = skip_ws(s, off + 1);
			c = peek(s, off);
			if (c == '}')
				return SG_JS_FALLBACK; /* a trailing comma */
		} else if (c != '}') {
			return SG_JS_FALLBACK;
		}
	}
	off = skip_ws(s, off + 1);
	if (peek(s, off) >= 0)
		return SG_JS_FALLBACK; /* something after the object */
	if (s->err)
		return s->err;
	sp->file_len = off;
	return rest_append(sp, &cap, bytes(s, copy_from), off - copy_from);
}

int sg_jsplit(struct sg_jsrc *s, struct sg_jsplit *out)
{
	return sg_jsplit_array(s, "trusted", out);
}

int sg_jsplit_array(struct sg_jsrc *s, const char *key, struct sg_jsplit *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->mark_every = 1;
	rc = split(s, key, out);
	if (!rc && s->err)
		rc = s->err;
	if (rc)
		sg_jsplit_free(out);
	return rc;
}

void sg_jsplit_free(struct sg_jsplit *sp)
{
	free(sp->rest);
	sp->rest = NULL;
	sp->rest_len = 0;
}

int sg_jsplit_each_part(struct sg_jsrc *s, const struct sg_jpart *part,
			void (*cb)(json_t *elem, size_t index, void *ctx), void *ctx)
{
	struct elements el = {
		.first = part->first, .limit = part->last ? SIZE_MAX : part->count,
		.fingerprint = part->fp_before, .cb = cb, .ctx = ctx,
	};
	size_t end;
	int rc;

	if (!part->count && !part->last)
		return 0;
	if (s->fd >= 0) {
		/* Pass 2 reads the array again: every byte was hashed in pass
		 * 1, and bytes appended since must not be. */
		s->base = s->keep = part->at;
		s->len = 0;
		s->hashed = SIZE_MAX;
	}
	rc = walk_elements(s, part->at, &el, &end);
	if (!rc && (el.count != part->count || el.fingerprint != part->fp_after))
		rc = -ESTALE;
	return rc;
}

int sg_jsplit_each(struct sg_jsrc *s, const struct sg_jsplit *sp,
		   void (*cb)(json_t *elem, size_t index, void *ctx), void *ctx)
{
	struct sg_jpart all = {
		.at = sp->trusted_at, .count = sp->count, .fp_after = sp->fingerprint,
		.last = true,
	};

	if (!sp->has_trusted)
		return 0;
	return sg_jsplit_each_part(s, &all, cb, ctx);
}

static size_t distance(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

bool sg_jsplit_halves(const struct sg_jsplit *sp, size_t min, struct sg_jpart part[2])
{
	const struct sg_jmark *best = NULL;
	size_t half = sp->count / 2;

	if (!sp->has_trusted || sp->count < min || sp->count < 2)
		return false;
	for (size_t i = 0; i < sp->n_marks; i++) {
		const struct sg_jmark *m = &sp->marks[i];

		if (!best || distance(m->index, half) < distance(best->index, half))
			best = m;
	}
	if (!best)
		return false;
	part[0] = (struct sg_jpart){
		.at = sp->trusted_at, .count = best->index, .fp_after = best->fingerprint,
	};
	part[1] = (struct sg_jpart){
		.at = best->at, .first = best->index, .count = sp->count - best->index,
		.fp_before = best->fingerprint, .fp_after = sp->fingerprint, .last = true,
	};
	return true;
}
