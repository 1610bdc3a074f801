// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The soonest-expiring entries (expiry_pick.h): a max-heap of the best
 * max seen so far, keyed by (expires, index), whose top is the one to
 * drop when a sooner entry comes.
 */
#include <stdbool.h>
#include "expiry_pick.h"

static bool later(const struct sg_trusted_entry *t, uint32_t a, uint32_t b)
{
	if (t[a].expires != t[b].expires)
		return t[a].expires > t[b].expires;
	return a > b;
}

static void sift_down(const struct sg_trusted_entry *t, uint32_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, top = i;
		uint32_t tmp;

		if (l < n && later(t, h[l], h[top]))
			top = l;
		if (r < n && later(t, h[r], h[top]))
			top = r;
		if (top == i)
			return;
		tmp = h[i];
		h[i] = h[top];
		h[top] = tmp;
		i = top;
	}
}

static void sift_up(const struct sg_trusted_entry *t, uint32_t *h, size_t i)
{
	while (i && later(t, h[i], h[(i - 1) / 2])) {
		uint32_t tmp = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

size_t sg_expiry_pick(const struct sg_policy *p, size_t max, uint32_t *out, size_t *n_expiring)
{
	const struct sg_trusted_entry *t = p->trusted;
	size_t n = 0, expiring = 0;

	for (size_t i = 0; i < p->n_trusted; i++) {
		if (!t[i].expires)
			continue;
		expiring++;
		if (n < max) {
			out[n] = (uint32_t)i;
			sift_up(t, out, n++);
		} else if (n && later(t, out[0], (uint32_t)i)) {
			out[0] = (uint32_t)i;
			sift_down(t, out, n, 0);
		}
	}
	if (n_expiring)
		*n_expiring = expiring;
	return n;
}
