/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One trusted entry in memory (a policy.json trusted[] entry or an
 * approval).  A policy holds up to SG_MAX_TRUSTED of them, twice during
 * a reload, so the entry is kept at 64 bytes: the fields most entries
 * lack (contact, note, created, created_by) live in a separate struct
 * the entry points to, and the rate class is one byte.  Read those
 * through the accessors below, which give the same values the fields
 * had before (NULL, 0, SG_NO_CLASS).
 */
#ifndef SG_TRUSTED_ENTRY_H
#define SG_TRUSTED_ENTRY_H

#include <stddef.h>
#include <stdint.h>
#include "addr.h"

struct sg_strpool;

enum sg_trusted_origin {
	SG_ORIGIN_POLICY = 0,   /* policy.json trusted[] */
	SG_ORIGIN_APPROVAL = 1, /* approvals.json, via smtpgatectl */
};

/* Rarely present: most policy.json entries have none of it (the entry's
 * extra is then NULL); approvals have created and created_by. */
struct sg_trusted_extra {
	int64_t created;        /* unix seconds, 0 if unknown */
	char *contact;          /* may be NULL */
	char *note;             /* may be NULL */
	char *created_by;       /* may be NULL */
};

/* "No rate class" in the one-byte field; sg_entry_class() turns it into
 * SG_NO_CLASS, the value the data plane and everything else use. */
#define SG_ENTRY_NO_CLASS 0xffu
_Static_assert(SG_MAX_CLASSES <= SG_ENTRY_NO_CLASS, "a class index fits in rate_class");

/* rate_class for a class index (SG_NO_CLASS, or anything not a class
 * index, for none); also for initializers. */
#define SG_ENTRY_CLASS(c) \
	((uint8_t)((uint32_t)(c) < SG_MAX_CLASSES ? (uint32_t)(c) : SG_ENTRY_NO_CLASS))

/* Ordered for size (64 bytes on 64-bit, no holes). */
struct sg_trusted_entry {
	struct sg_prefix prefix;
	uint8_t rate_class;     /* SG_ENTRY_CLASS(); read with sg_entry_class() */
	uint8_t origin;         /* enum sg_trusted_origin */
	uint8_t pooled;         /* strings and extra live in the policy's pool (not malloc'd) */
	uint8_t expiry_reported; /* daemon: expiry of a policy.json entry logged */
	uint64_t groups;        /* bit per relay group */
	int64_t expires;        /* unix seconds; 0 = never */
	char *ticket;
	char *owner;
	/* NULL when all of it is absent.  An entry given to
	 * sg_policy_add_trusted(_pooled) may point to the caller's own
	 * (e.g. on the stack): the add copies it. */
	struct sg_trusted_extra *extra;
};

/* Index into the policy's classes, or SG_NO_CLASS for unlimited. */
static inline uint32_t sg_entry_class(const struct sg_trusted_entry *t)
{
	return t->rate_class == SG_ENTRY_NO_CLASS ? SG_NO_CLASS : t->rate_class;
}

static inline void sg_entry_set_class(struct sg_trusted_entry *t, uint32_t class_idx)
{
	t->rate_class = SG_ENTRY_CLASS(class_idx);
}

static inline const char *sg_entry_contact(const struct sg_trusted_entry *t)
{
	return t->extra ? t->extra->contact : NULL;
}

static inline const char *sg_entry_note(const struct sg_trusted_entry *t)
{
	return t->extra ? t->extra->note : NULL;
}

static inline const char *sg_entry_created_by(const struct sg_trusted_entry *t)
{
	return t->extra ? t->extra->created_by : NULL;
}

static inline int64_t sg_entry_created(const struct sg_trusted_entry *t)
{
	return t->extra ? t->extra->created : 0;
}

/* Frees what the entry owns (nothing when pooled) and clears its
 * pointers. */
void sg_trusted_entry_free(struct sg_trusted_entry *t);
/* *dst = a deep copy of *src owning malloc'd strings and extra (extra
 * NULL when src has none of it).  0, or -ENOMEM with nothing to free. */
int sg_trusted_entry_copy(struct sg_trusted_entry *dst, const struct sg_trusted_entry *src);
/* The same with everything in sp, marked pooled. */
int sg_trusted_entry_copy_pooled(struct sg_trusted_entry *dst, const struct sg_trusted_entry *src,
				 struct sg_strpool *sp);

#endif
