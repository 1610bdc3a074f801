// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "strpool.h"

#define BLOCK (256u << 10)
#define RECENT 4096 /* a direct-mapped cache of strings seen: repeats are kept once */

struct block {
	struct block *next;
	size_t used, size;
	/* Aligned for sg_strpool_alloc (malloc's own alignment is at
	 * least 8). */
	_Alignas(SG_STRPOOL_ALIGN) char data[];
};

struct sg_strpool {
	struct block *head;
	size_t bytes;
	char *recent[RECENT];
};

struct sg_strpool *sg_strpool_new(void)
{
	return calloc(1, sizeof(struct sg_strpool));
}

void sg_strpool_free(struct sg_strpool *sp)
{
	struct block *b, *n;

	if (!sp)
		return;
	for (b = sp->head; b; b = n) {
		n = b->next;
		free(b);
	}
	free(sp);
}

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* len bytes at an offset that is a multiple of align (a power of two,
 * at most SG_STRPOOL_ALIGN, which a block's data is aligned to). */
static void *room(struct sg_strpool *sp, size_t len, size_t align)
{
	struct block *b = sp->head;
	size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;

	if (!b || at > b->size || b->size - at < len) {
		size_t size = len > BLOCK ? len : BLOCK;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->used = 0;
		b->size = size;
		at = 0;
		/* A block for one long string goes behind the current one,
		 * which may still have room for short ones. */
		if (size > BLOCK && sp->head) {
			b->next = sp->head->next;
			sp->head->next = b;
		} else {
			b->next = sp->head;
			sp->head = b;
		}
		sp->bytes += sizeof(*b) + size;
	}
	b->used = at + len;
	return b->data + at;
}

char *sg_strpool_add(struct sg_strpool *sp, const char *s)
{
	size_t len = strlen(s) + 1;
	uint32_t slot = hash(s, len) % RECENT;
	char *out;

	if (sp->recent[slot] && !strcmp(sp->recent[slot], s))
		return sp->recent[slot];
	out = room(sp, len, 1);
	if (!out)
		return NULL;
	memcpy(out, s, len);
	sp->recent[slot] = out;
	return out;
}

void *sg_strpool_alloc(struct sg_strpool *sp, size_t size)
{
	void *out = room(sp, size, SG_STRPOOL_ALIGN);

	if (out)
		memset(out, 0, size);
	return out;
}

void sg_strpool_adopt(struct sg_strpool *dst, struct sg_strpool *src)
{
	struct block *tail;

	if (!src)
		return;
	if (src->head) {
		/* Behind dst's current block, which keeps taking strings. */
		for (tail = src->head; tail->next; tail = tail->next)
			;
		if (dst->head) {
			tail->next = dst->head->next;
			dst->head->next = src->head;
		} else {
			dst->head = src->head;
		}
		dst->bytes += src->bytes;
	}
	free(src);
}

size_t sg_strpool_bytes(const struct sg_strpool *sp)
{
	return sp ? sp->bytes : 0;
}
