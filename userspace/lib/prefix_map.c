// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Linear probing with backward-shift deletion over a table of any size
 * (a hash is reduced to it by multiplication, not by a mask), so that
 * 1,000,000 prefixes take 1.33 million slots rather than the next power
 * of two, 2 million.  The prefix length and
 * the value share one word: lengths are 0..128, values below 2^24.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "prefault.h"
#include "prefix_map.h"

struct slot {
	struct sg_addr addr;
	uint32_t tag;           /* (len + 1) << 24 | value; 0: empty slot */
};

struct sg_prefix_map {
	struct slot *slots;
	size_t cap;
	size_t used;
};

static size_t home_of(const struct sg_prefix_map *m, const struct sg_addr *a, unsigned len)
{
	uint64_t h = sg_prefix_hash(&(struct sg_prefix){ .addr = *a, .len = len });

	return (size_t)(((h >> 32) * (uint64_t)m->cap) >> 32);
}

static unsigned len_of(uint32_t tag)
{
	return (tag >> 24) - 1;
}

/* The table for n prefixes: at most 3/4 full. */
static size_t slots_for(size_t n)
{
	return n + n / 3 + 16;
}

static int alloc_slots(struct sg_prefix_map *m, size_t n)
{
	size_t cap = slots_for(n);

	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	/* Probed at random: every page is touched soon. */
	sg_prefault(m->slots, cap * sizeof(*m->slots));
	m->cap = cap;
	m->used = 0;
	return 0;
}

struct sg_prefix_map *sg_prefix_map_new(size_t n)
{
	struct sg_prefix_map *m = calloc(1, sizeof(*m));

	if (m && alloc_slots(m, n)) {
		free(m);
		return NULL;
	}
	return m;
}

void sg_prefix_map_free(struct sg_prefix_map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

/* The slot holding (a, len), or the empty slot where it would go. */
static size_t probe(const struct sg_prefix_map *m, const struct sg_addr *a, unsigned len)
{
	size_t i = home_of(m, a, len);

	while (m->slots[i].tag &&
	       !(len_of(m->slots[i].tag) == len && !memcmp(&m->slots[i].addr, a, sizeof(*a))))
		i = i + 1 == m->cap ? 0 : i + 1;
	return i;
}

void sg_prefix_map_prefetch(const struct sg_prefix_map *m, const struct sg_prefix *p)
{
	if (m && m->cap)
		__builtin_prefetch(&m->slots[home_of(m, &p->addr, p->len)]);
}

/* Moves every prefix into a table sized for n (at least the ones there). */
static int resize(struct sg_prefix_map *m, size_t n)
{
	struct sg_prefix_map other;

	if (alloc_slots(&other, n > m->used ? n : m->used))
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		const struct slot *o = &m->slots[i];

		if (o->tag)
			other.slots[probe(&other, &o->addr, len_of(o->tag))] = *o;
	}
	other.used = m->used;
	free(m->slots);
	*m = other;
	return 0;
}

static bool fits(const struct sg_prefix_map *m, size_t n)
{
	return n <= m->cap - m->cap / 4;
}

int sg_prefix_map_reserve(struct sg_prefix_map *m, size_t n)
{
	return fits(m, m->used + n) ? 0 : resize(m, m->used + n);
}

/* A table grown by doubling may be up to twice the size it needs. */
void sg_prefix_map_fit(struct sg_prefix_map *m)
{
	size_t snug = slots_for(m->used);

	if (m->cap > snug + snug / 2)
		resize(m, m->used); /* out of memory: it stays as large */
}

void sg_prefix_map_shrink(struct sg_prefix_map *m)
{
	if (m->cap > slots_for(m->used))
		resize(m, m->used); /* out of memory: it stays as large */
}

int sg_prefix_map_add(struct sg_prefix_map *m, const struct sg_prefix *p, uint32_t value)
{
	size_t i;

	if (value > SG_PREFIX_MAP_VALUE_MAX || p->len > 128)
		return -ERANGE;
	i = probe(m, &p->addr, p->len);
	if (m->slots[i].tag)
		return -EEXIST;
	if (!fits(m, m->used + 1)) {
		if (resize(m, 2 * m->used + 16))
			return -ENOMEM;
		i = probe(m, &p->addr, p->len);
	}
	m->slots[i].addr = p->addr;
	m->slots[i].tag = (uint32_t)(p->len + 1) << 24 | value;
	m->used++;
	return 0;
}

int sg_prefix_map_set(struct sg_prefix_map *m, const struct sg_prefix *p, uint32_t value)
{
	struct slot *s;

	if (value > SG_PREFIX_MAP_VALUE_MAX || p->len > 128)
		return -ERANGE;
	s = &m->slots[probe(m, &p->addr, p->len)];
	if (!s->tag)
		return -ENOENT;
	s->tag = (s->tag & ~SG_PREFIX_MAP_VALUE_MAX) | value;
	return 0;
}

long sg_prefix_map_get(const struct sg_prefix_map *m, const struct sg_prefix *p)
{
	const struct slot *s;

	if (p->len > 128)
		return -1;
	s = &m->slots[probe(m, &p->addr, p->len)];
	return s->tag ? (long)(s->tag & SG_PREFIX_MAP_VALUE_MAX) : -1;
}

/* Empties slot i, which holds a prefix.  Backward shift: moves up each
 * later entry of the run that may sit in the hole, so no lookup ever
 * stops early at it.  Only entries of the run after i move, and only
 * towards i. */
static void delete_at(struct sg_prefix_map *m, size_t i)
{
	for (size_t j = i + 1 == m->cap ? 0 : i + 1; m->slots[j].tag; j = j + 1 == m->cap ? 0 : j + 1) {
		size_t home = home_of(m, &m->slots[j].addr, len_of(m->slots[j].tag));
		size_t from_home = (j + m->cap - home) % m->cap, from_hole = (j + m->cap - i) % m->cap;

		/* j may move to i unless its home lies cyclically in (i, j]. */
		if (from_home >= from_hole) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	memset(&m->slots[i], 0, sizeof(m->slots[i]));
	m->used--;
}

void sg_prefix_map_del(struct sg_prefix_map *m, const struct sg_prefix *p)
{
	size_t i;

	if (p->len > 128)
		return;
	i = probe(m, &p->addr, p->len);
	if (m->slots[i].tag)
		delete_at(m, i);
}

/* One pass: a deletion may move a later entry into slot i, which is then
 * looked at again; one moved from the start of the table (its run wraps
 * around the end) has been kept already and is merely kept again. */
size_t sg_prefix_map_retain(struct sg_prefix_map *m, bool (*keep)(uint32_t value, void *ctx),
			    void *ctx)
{
	size_t gone = 0;

	for (size_t i = 0; i < m->cap;) {
		uint32_t tag = m->slots[i].tag;

		if (tag && !keep(tag & SG_PREFIX_MAP_VALUE_MAX, ctx)) {
			delete_at(m, i);
			gone++;
			continue;
		}
		i++;
	}
	return gone;
}

size_t sg_prefix_map_size(const struct sg_prefix_map *m)
{
	return m->used;
}

int sg_prefix_map_foreach(const struct sg_prefix_map *m,
			  int (*cb)(const struct sg_prefix *p, uint32_t value, void *ctx),
			  void *ctx)
{
	for (size_t i = 0; i < m->cap; i++) {
		const struct slot *s = &m->slots[i];
		struct sg_prefix p;
		int rc;

		if (!s->tag)
			continue;
		p.addr = s->addr;
		p.len = len_of(s->tag);
		if ((rc = cb(&p, s->tag & SG_PREFIX_MAP_VALUE_MAX, ctx)))
			return rc;
	}
	return 0;
}
