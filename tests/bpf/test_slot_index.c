// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The data plane handle's slot index (prefix -> bucket slot), which a
 * reload updates in place (generation.c), against the kernel's active
 * tables: random policies applied one after another over a pool of
 * prefixes, single puts and deletes between them, and applies that fail
 * (a prefix listed twice, found among the entries that stay or among the
 * new ones) and must leave everything as it was.  After every step:
 *
 *   - the kernel holds exactly the prefixes of the current set;
 *   - the index maps each of them to the slot the kernel's entry has,
 *     and holds no other prefix (its size); no two entries share a slot;
 *   - an entry that stays keeps its slot (its rate state) across applies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "randpkt.h"
#include "tap.h"

/* Two series: many rounds over few keys, and a few over enough keys
 * that an apply places the entries that stay in two threads. */
#define SMALL_KEYS 400
#define SMALL_ROUNDS 80
#define LARGE_KEYS 20000
#define LARGE_ROUNDS 10
#define KEYS LARGE_KEYS /* arrays are sized for the larger */

static unsigned n_keys;

static struct rp_rng rng;

static uint64_t next_rand(void)
{
	return rp_u64(&rng);
}

/* IPv4 /32s and /24s, IPv6 /128s and /64s. */
static void key_text(unsigned k, char *buf, size_t len)
{
	switch (k % 4) {
	case 0: snprintf(buf, len, "198.18.%u.%u", 1 + k / 4 / 250, 1 + k / 4 % 250); break;
	case 1: snprintf(buf, len, "198.19.%u.%u/30", k / 4 / 64, k / 4 % 64 * 4); break;
	case 2: snprintf(buf, len, "2001:db8:5::%x", k + 1); break;
	default: snprintf(buf, len, "2001:db8:6:%x::/64", k); break;
	}
}

static struct sg_prefix key(unsigned k)
{
	struct sg_err err = { 0 };
	struct sg_prefix p;
	char text[64];

	key_text(k, text, sizeof(text));
	if (sg_prefix_parse(text, &p, &err))
		tap_bail("%s: %s", text, err.msg);
	return p;
}

/* in[k]: key k is trusted; slot[k]: its slot when it is. */
struct world {
	bool in[KEYS];
	long slot[KEYS];
};

static void make_policy(struct sg_policy *p, const bool *in, long dup)
{
	static const char *const relays[] = { "198.18.0.25", "2001:db8::25", NULL };
	char text[64];

	sg_policy_init(p);
	sg_policy_add_port(p, 25);
	h_group(p, "relays", relays);
	for (unsigned k = 0; k < n_keys; k++) {
		if (!in[k])
			continue;
		key_text(k, text, sizeof(text));
		h_trust(p, text, 1, SG_NO_CLASS, 0);
	}
	if (dup >= 0) {
		key_text((unsigned)dup, text, sizeof(text));
		h_trust(p, text, 1, SG_NO_CLASS, 0);
	}
}

/* Checks the kernel and the index against w and, given before, that
 * every key trusted before (before[k] >= 0) and still trusted kept its
 * slot.  Fills w->slot from the kernel. */
static void check(struct sg_dp *dp, struct world *w, const long *before, const char *when)
{
	static bool taken[SG_MAX_TRUSTED];
	char what[160] = "";
	long n = 0;

	memset(taken, 0, sizeof(taken));
	for (unsigned k = 0; k < n_keys && !what[0]; k++) {
		struct sg_prefix p = key(k), back;
		struct sg_trusted v;
		int peek = sg_dp_trust_peek(dp, &p, &v);

		if (!w->in[k]) {
			if (!peek)
				snprintf(what, sizeof(what), "key %u: in the kernel, not in the set", k);
			else if (!sg_dp_trust_get(dp, &p, &v))
				snprintf(what, sizeof(what), "key %u: in the index, not in the set", k);
			w->slot[k] = -1;
			continue;
		}
		n++;
		if (peek)
			snprintf(what, sizeof(what), "key %u: missing from the kernel (%d)", k, peek);
		else if (v.slot >= SG_MAX_TRUSTED || taken[v.slot])
			snprintf(what, sizeof(what), "key %u: slot %u shared or out of range", k, v.slot);
		else if (sg_dp_slot_prefix(dp, v.slot, &back) || !sg_prefix_equal(&back, &p))
			snprintf(what, sizeof(what), "key %u: the index does not map it to slot %u", k,
				 v.slot);
		else if (before && before[k] >= 0 && before[k] != (long)v.slot)
			snprintf(what, sizeof(what), "key %u: stayed but moved from slot %ld to %u", k,
				 before[k], v.slot);
		else
			taken[v.slot] = true;
		w->slot[k] = peek ? -1 : (long)v.slot;
	}
	if (!what[0] && (sg_dp_trust_count(dp) != n || sg_dp_index_size(dp) != n))
		snprintf(what, sizeof(what), "trust_count %ld, index %ld, the set has %ld",
			 sg_dp_trust_count(dp), sg_dp_index_size(dp), n);
	tap_check(!what[0], when, "%s", what);
}

/* A random set, each key in with a probability that changes per round,
 * so that rounds add many, remove many, or change little. */
static void random_set(bool *in)
{
	unsigned pct = (unsigned)(next_rand() % 100);

	for (unsigned k = 0; k < n_keys; k++)
		in[k] = next_rand() % 100 < pct;
}

static void round_apply(struct sg_dp *dp, struct world *w, int r)
{
	struct world next = *w;
	struct sg_err err = { 0 };
	struct sg_policy p;
	long before[KEYS], dup = -1;
	unsigned n_in = 0, kind = (unsigned)(next_rand() % 5);
	char name[128];
	int rc;

	random_set(next.in);
	for (unsigned k = 0; k < n_keys; k++)
		n_in += next.in[k];
	/* One round in five lists a prefix twice: either one that stays
	 * (it was trusted before) or one that is new. */
	if (kind == 0 && n_in) {
		for (unsigned k = (unsigned)(next_rand() % n_keys);; k = (k + 1) % n_keys)
			if (next.in[k]) {
				dup = k;
				break;
			}
	}
	make_policy(&p, next.in, dup);
	rc = sg_dp_apply(dp, &p, &err);
	sg_policy_free(&p);
	if (dup >= 0) {
		snprintf(name, sizeof(name), "round %d: a prefix listed twice (%s) is refused", r,
			 w->in[dup] ? "one that stays" : "a new one");
		tap_check(rc == -EEXIST, name, "rc %d (%s)", rc, err.msg);
		snprintf(name, sizeof(name), "round %d: after the refusal, kernel and index as before", r);
		check(dp, w, w->slot, name);
		return;
	}
	if (rc)
		tap_bail("round %d: apply: %s", r, err.msg);
	memcpy(before, w->slot, sizeof(before));
	*w = next;
	snprintf(name, sizeof(name), "round %d: %u entries applied; index = kernel, kept slots kept",
		 r, n_in);
	check(dp, w, before, name);
}

/* A few single changes, as approvals make them between reloads. */
static void round_changes(struct sg_dp *dp, struct world *w, int r)
{
	struct sg_err err = { 0 };
	long before[KEYS];
	char name[128];

	/* A key deleted and put again here gets a new slot: not "kept". */
	memcpy(before, w->slot, sizeof(before));
	for (int i = 0; i < 8; i++) {
		unsigned k = (unsigned)(next_rand() % n_keys);
		struct sg_prefix p = key(k);

		before[k] = -1;
		if (w->in[k]) {
			if (sg_dp_trust_del(dp, &p, &err))
				tap_bail("round %d: del key %u: %s", r, k, err.msg);
			w->in[k] = false;
		} else {
			struct sg_trusted_entry t = { .prefix = p, .groups = 1,
						      .rate_class = SG_ENTRY_NO_CLASS, .ticket = "T-1",
						      .owner = "tests" };

			if (sg_dp_trust_put(dp, &t, &err))
				tap_bail("round %d: put key %u: %s", r, k, err.msg);
			w->in[k] = true;
		}
	}
	snprintf(name, sizeof(name), "round %d: after single puts and deletes, index = kernel", r);
	check(dp, w, before, name);
}

static struct world world;

static void series(struct sg_dp *dp, unsigned keys, int rounds)
{
	n_keys = keys;
	for (int r = 0; r < rounds; r++) {
		round_apply(dp, &world, r);
		if (r % 3 == 2)
			round_changes(dp, &world, r);
	}
}

/* The same prefix in both halves of a large policy (the first key that
 * stays, listed again at the end): the two threads find the same slot,
 * and exactly one of them may claim it. */
static void refuse_across_halves(struct sg_dp *dp, struct world *w)
{
	struct sg_err err = { 0 };
	struct sg_policy p;
	long first = -1;
	int rc;

	for (unsigned k = 0; k < n_keys && first < 0; k++)
		if (w->in[k])
			first = k;
	make_policy(&p, w->in, first);
	rc = sg_dp_apply(dp, &p, &err);
	sg_policy_free(&p);
	tap_check(rc == -EEXIST, "a prefix in both halves of a large policy is refused",
		  "rc %d (%s)", rc, err.msg);
	check(dp, w, w->slot, "after that refusal, kernel and index as before");
}

/* Every key applied twice on a fresh data plane: first all new (step 3
 * places them, in two threads), then all kept (step 1, in two threads):
 * one two-thread step each time. */
static void full_twice(struct sg_dp *dp, struct world *w)
{
	for (int round = 0; round < 2; round++) {
		unsigned long before = sg_dp_two_thread_applies();
		struct sg_err err = { 0 };
		struct sg_policy p;
		long kept[KEYS];
		char name[160];

		for (unsigned k = 0; k < n_keys; k++)
			w->in[k] = true;
		memcpy(kept, w->slot, sizeof(kept));
		make_policy(&p, w->in, -1);
		if (sg_dp_apply(dp, &p, &err))
			tap_bail("all %u keys: %s", n_keys, err.msg);
		sg_policy_free(&p);
		snprintf(name, sizeof(name), "all %u keys %s: one step in two threads", n_keys,
			 round ? "kept" : "new");
		tap_check(sg_dp_two_thread_applies() == before + 1, name, "%lu",
			  sg_dp_two_thread_applies() - before);
		snprintf(name, sizeof(name), "all %u keys %s: index = kernel%s", n_keys,
			 round ? "kept" : "new", round ? ", every slot kept" : "");
		check(dp, w, round ? kept : NULL, name);
	}
}

int main(void)
{
	struct sg_dp *dp = h_open();
	unsigned long before;

	rp_seed(&rng, 0x13198a2e03707344ull);
	for (unsigned k = 0; k < KEYS; k++)
		world.slot[k] = -1; /* no key is trusted yet */
	before = sg_dp_two_thread_applies();
	series(dp, SMALL_KEYS, SMALL_ROUNDS);
	tap_check(sg_dp_two_thread_applies() == before, "small policies are placed by one thread",
		  "%lu applies in two threads", sg_dp_two_thread_applies() - before);
	sg_dp_close(dp);
	/* A fresh data plane: the large series starts from nothing. */
	dp = h_open();
	for (unsigned k = 0; k < KEYS; k++) {
		world.in[k] = false;
		world.slot[k] = -1;
	}
	n_keys = LARGE_KEYS;
	full_twice(dp, &world);
	series(dp, LARGE_KEYS, LARGE_ROUNDS);
	refuse_across_halves(dp, &world);
	tap_check(sg_dp_two_thread_applies() > before, "large policies are placed by two threads",
		  "none was");
	sg_dp_close(dp);
	return tap_done();
}
