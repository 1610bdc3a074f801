// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Bloom filter of prefixes (prefix_filter.h): 16 bits a prefix and 8
 * bits set for each, at positions h1 + i * h2 of one 64-bit hash (double
 * hashing: as good as 8 independent hashes for a filter this size).  A
 * full filter's false "maybe" is (1 - e^(-8/16))^8, about 0.06 %.
 */
#include <stdint.h>
#include <stdlib.h>
#include "prefix_filter.h"

#define BITS_PER_PREFIX 16
#define HASHES 8
#define MIN_BITS 1024

struct sg_prefix_filter {
	uint64_t *words;
	uint64_t mask;          /* bits - 1: the bit count is a power of two */
	size_t room;
	size_t added;
};

struct sg_prefix_filter *sg_prefix_filter_new(size_t n)
{
	struct sg_prefix_filter *f = calloc(1, sizeof(*f));
	uint64_t bits = MIN_BITS;

	if (!f)
		return NULL;
	while (bits / BITS_PER_PREFIX < n)
		bits *= 2;
	f->words = calloc(bits / 64, sizeof(*f->words));
	if (!f->words) {
		free(f);
		return NULL;
	}
	f->mask = bits - 1;
	f->room = bits / BITS_PER_PREFIX;
	return f;
}

void sg_prefix_filter_free(struct sg_prefix_filter *f)
{
	if (!f)
		return;
	free(f->words);
	free(f);
}

/* The bits of a prefix: h1 + i * h2 of its hash's halves (h2 odd, so
 * that the 8 differ in a power-of-two table). */
struct probe {
	uint64_t h1, h2;
};

static struct probe probe_of(const struct sg_prefix *p)
{
	uint64_t h = sg_prefix_hash(p);

	return (struct probe){ .h1 = h & 0xffffffffu, .h2 = (h >> 32) | 1 };
}

static uint64_t nth_bit(const struct sg_prefix_filter *f, struct probe pr, unsigned i)
{
	return (pr.h1 + i * pr.h2) & f->mask;
}

void sg_prefix_filter_add(struct sg_prefix_filter *f, const struct sg_prefix *p)
{
	struct probe pr = probe_of(p);

	for (unsigned i = 0; i < HASHES; i++) {
		uint64_t b = nth_bit(f, pr, i);

		f->words[b / 64] |= 1ull << (b % 64);
	}
	f->added++;
}

bool sg_prefix_filter_may_have(const struct sg_prefix_filter *f, const struct sg_prefix *p)
{
	struct probe pr = probe_of(p);

	for (unsigned i = 0; i < HASHES; i++) {
		uint64_t b = nth_bit(f, pr, i);

		if (!(f->words[b / 64] & (1ull << (b % 64))))
			return false;
	}
	return true;
}

bool sg_prefix_filter_full(const struct sg_prefix_filter *f)
{
	return f->added > f->room;
}

size_t sg_prefix_filter_room(const struct sg_prefix_filter *f)
{
	return f->room;
}
