/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The strings of a policy's policy.json entries, packed end to end in
 * large blocks instead of one malloc each (a 10-byte ticket took a
 * 32-byte chunk, and an entry has two to five strings), and the same
 * string given twice in a row kept once: an owner or a contact repeated
 * over thousands of entries costs one copy.  Freed all at once, with the
 * policy; nothing in it is freed alone.
 */
#ifndef SG_STRPOOL_H
#define SG_STRPOOL_H

#include <stddef.h>

struct sg_strpool;

struct sg_strpool *sg_strpool_new(void);
void sg_strpool_free(struct sg_strpool *sp);
/* A copy of s that lives as long as the pool (the same pointer for a
 * string it saw recently); NULL when out of memory. */
char *sg_strpool_add(struct sg_strpool *sp, const char *s);
/* size zeroed bytes aligned for any struct of pointers and 64-bit
 * integers (SG_STRPOOL_ALIGN), living as long as the pool: the rarely
 * present fields of a policy.json entry (policy.h), without a malloc
 * each.  NULL when out of memory. */
#define SG_STRPOOL_ALIGN 8
void *sg_strpool_alloc(struct sg_strpool *sp, size_t size);
/* dst takes src's strings (which stay where they are) and src is freed:
 * pools filled by several threads become one. */
void sg_strpool_adopt(struct sg_strpool *dst, struct sg_strpool *src);
/* Bytes the pool holds (its blocks). */
size_t sg_strpool_bytes(const struct sg_strpool *sp);

#endif
