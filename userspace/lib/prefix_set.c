// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Linear probing over a power-of-two table, at most 3/4 full, with
 * backward-shift deletion (no tombstones, so lookups stay short however
 * many removals there were).  24 bytes a slot: about 32-64 bytes a
 * prefix, a small part of what the policy holds per entry anyway.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "prefix_set.h"

struct slot {
	struct sg_addr addr;
	uint32_t len_plus1;     /* 0: empty slot */
	uint32_t count;
};

struct sg_prefix_set {
	struct slot *slots;
	size_t mask;            /* capacity - 1 */
	size_t used;
};

/* Policies are often runs of consecutive addresses: a full 64-bit mix
 * (the splitmix64 finaliser) keeps those from clustering. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t hash(const struct sg_addr *a, unsigned len)
{
	uint64_t lo, hi;

	memcpy(&lo, a->b, 8);
	memcpy(&hi, a->b + 8, 8);
	return (size_t)mix(mix(lo ^ len) ^ hi);
}

static bool same(const struct slot *s, const struct sg_prefix *p)
{
	return s->len_plus1 == p->len + 1 && !memcmp(&s->addr, &p->addr, sizeof(s->addr));
}

static int alloc_slots(struct sg_prefix_set *s, size_t n)
{
	size_t cap = 16;

	while (cap - cap / 4 < n + 1)
		cap *= 2;
	s->slots = calloc(cap, sizeof(*s->slots));
	if (!s->slots)
		return -ENOMEM;
	s->mask = cap - 1;
	s->used = 0;
	return 0;
}

struct sg_prefix_set *sg_prefix_set_new(size_t n)
{
	struct sg_prefix_set *s = calloc(1, sizeof(*s));

	if (s && alloc_slots(s, n)) {
		free(s);
		return NULL;
	}
	return s;
}

void sg_prefix_set_free(struct sg_prefix_set *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s);
}

/* The slot holding p, or the empty slot where it would go. */
static size_t probe(const struct sg_prefix_set *s, const struct sg_addr *a, unsigned len)
{
	size_t i = hash(a, len) & s->mask;

	while (s->slots[i].len_plus1 &&
	       !(s->slots[i].len_plus1 == len + 1 && !memcmp(&s->slots[i].addr, a, sizeof(*a))))
		i = (i + 1) & s->mask;
	return i;
}

static int grow(struct sg_prefix_set *s)
{
	struct sg_prefix_set bigger;
	size_t cap = s->mask + 1;

	if (alloc_slots(&bigger, cap))  /* sized for cap entries: twice as large */
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++) {
		const struct slot *o = &s->slots[i];

		if (o->len_plus1)
			bigger.slots[probe(&bigger, &o->addr, o->len_plus1 - 1)] = *o;
	}
	bigger.used = s->used;
	free(s->slots);
	*s = bigger;
	return 0;
}

int sg_prefix_set_add(struct sg_prefix_set *s, const struct sg_prefix *p)
{
	size_t i = probe(s, &p->addr, p->len);

	if (s->slots[i].len_plus1) {
		s->slots[i].count++;
		return 0;
	}
	if (s->used + 1 > (s->mask + 1) - (s->mask + 1) / 4) {
		if (grow(s))
			return -ENOMEM;
		i = probe(s, &p->addr, p->len);
	}
	s->slots[i].addr = p->addr;
	s->slots[i].len_plus1 = p->len + 1;
	s->slots[i].count = 1;
	s->used++;
	return 0;
}

void sg_prefix_set_del(struct sg_prefix_set *s, const struct sg_prefix *p)
{
	size_t i = probe(s, &p->addr, p->len), j;

	if (!s->slots[i].len_plus1 || --s->slots[i].count)
		return;
	/* Backward shift: move up each later entry of the run that may sit
	 * in the hole, so no lookup ever stops early at it. */
	for (j = (i + 1) & s->mask; s->slots[j].len_plus1; j = (j + 1) & s->mask) {
		size_t home = hash(&s->slots[j].addr, s->slots[j].len_plus1 - 1) & s->mask;

		/* j may move to i unless its home lies cyclically in (i, j]. */
		if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
			s->slots[i] = s->slots[j];
			i = j;
		}
	}
	memset(&s->slots[i], 0, sizeof(s->slots[i]));
	s->used--;
}

bool sg_prefix_set_has(const struct sg_prefix_set *s, const struct sg_prefix *p)
{
	return same(&s->slots[probe(s, &p->addr, p->len)], p);
}

size_t sg_prefix_set_size(const struct sg_prefix_set *s)
{
	return s->used;
}
