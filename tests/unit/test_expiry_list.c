// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The metrics' list of expiries (expiry_list.c), kept up to date one
 * change at a time: on random policies with random appends and removals,
 * few distinct expiries (so ties are common) and duplicate prefixes, the
 * list after each change (applied, or built anew where the change says
 * so) equals the one a pass over the policy builds: the same items and
 * the same count of expiring entries.  Each way a change can go is
 * taken many times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "expiry_list.h"
#include "policy.h"
#include "randpkt.h"

static struct rp_rng rng;

static uint64_t next_rand(void)
{
	return rp_u64(&rng);
}

/* One of 64 IPv4 /32s of 198.18.0.0/24: duplicates are common. */
static struct sg_prefix random_prefix(void)
{
	struct sg_prefix p = { .len = 128 };

	p.addr.b[10] = p.addr.b[11] = 0xff;
	p.addr.b[12] = 198;
	p.addr.b[13] = 18;
	p.addr.b[15] = (uint8_t)(next_rand() % 64);
	return p;
}

/* Appends an entry: an expiry of 0 (none) or one of five values. */
static void append_random(struct sg_policy *p, unsigned serial)
{
	char ticket[32];
	struct sg_trusted_entry t = {
		.prefix = random_prefix(),
		.origin = next_rand() % 2 ? SG_ORIGIN_APPROVAL : SG_ORIGIN_POLICY,
		.rate_class = SG_ENTRY_NO_CLASS,
		.ticket = ticket,
	};
	uint64_t r = next_rand() % 6;

	t.expires = r ? 1800000000 + (int64_t)r * 60 : 0;
	snprintf(ticket, sizeof(ticket), "T-%u", serial);
	assert_int_equal(sg_policy_add_trusted(p, &t), 0);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "expires ticket/prefix" lines of l's items, sorted: comparable. */
static char *items_text(const struct sg_expiry_list *l)
{
	char **lines = calloc(l->n + 1, sizeof(*lines));
	size_t cap = 64 * (l->n + 1), len = 0;
	char *out = malloc(cap);

	assert_non_null(lines);
	assert_non_null(out);
	for (size_t k = 0; k < l->n; k++) {
		lines[k] = malloc(64);
		assert_non_null(lines[k]);
		snprintf(lines[k], 64, "%lld %s/%u.%u\n", (long long)l->items[k].expires,
			 l->text + l->items[k].ticket, l->items[k].prefix.addr.b[15],
			 l->items[k].prefix.len);
	}
	qsort(lines, l->n, sizeof(*lines), by_text);
	out[0] = '\0';
	for (size_t k = 0; k < l->n; k++) {
		size_t n = strlen(lines[k]);

		memcpy(out + len, lines[k], n + 1);
		len += n;
		free(lines[k]);
	}
	free(lines);
	return out;
}

static void assert_same(const struct sg_expiry_list *a, const struct sg_expiry_list *b)
{
	char *ta = items_text(a), *tb = items_text(b);

	assert_int_equal(a->n_expiring, b->n_expiring);
	assert_int_equal(a->n, b->n);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
}

struct tally {
	unsigned applied, kept, rebuilt;
};

/* cur becomes the list after a change whose outcome is rc (out set on
 * 0), built anew on SG_EXPIRY_REBUILD. */
static void take(struct sg_expiry_list *cur, struct sg_expiry_list *out, int rc, int delta,
		 const struct sg_policy *p, size_t max, struct tally *tl)
{
	assert_true(rc == 0 || rc == SG_EXPIRY_KEEP || rc == SG_EXPIRY_REBUILD);
	if (rc == 0) {
		sg_expiry_list_free(cur);
		*cur = *out;
		tl->applied++;
	} else if (rc == SG_EXPIRY_KEEP) {
		cur->n_expiring += (size_t)delta;
		tl->kept++;
	} else {
		sg_expiry_list_free(cur);
		assert_int_equal(sg_expiry_list_build(cur, p, max), 0);
		tl->rebuilt++;
	}
}

static void run(size_t max, size_t start, unsigned steps, struct tally *tl)
{
	struct sg_expiry_list cur, out, want;
	struct sg_policy p;
	unsigned serial = 0;

	sg_policy_init(&p);
	for (size_t i = 0; i < start; i++)
		append_random(&p, serial++);
	assert_int_equal(sg_expiry_list_build(&cur, &p, max), 0);
	for (unsigned s = 0; s < steps; s++) {
		int rc;

		if (next_rand() % 2 || !p.n_trusted) {
			append_random(&p, serial++);
			if (!p.trusted[p.n_trusted - 1].expires)
				continue;
			rc = sg_expiry_list_appended(&out, &cur, &p.trusted[p.n_trusted - 1], max);
			take(&cur, &out, rc, 1, &p, max, tl);
		} else {
			size_t i = next_rand() % p.n_trusted;
			struct sg_prefix prefix = p.trusted[i].prefix;
			int64_t expires = p.trusted[i].expires;

			sg_policy_remove_trusted(&p, i);
			if (!expires)
				continue;
			rc = sg_expiry_list_removed(&out, &cur, &prefix, expires);
			take(&cur, &out, rc, -1, &p, max, tl);
		}
		assert_int_equal(sg_expiry_list_build(&want, &p, max), 0);
		assert_same(&cur, &want);
		sg_expiry_list_free(&want);
	}
	sg_expiry_list_free(&cur);
	sg_policy_free(&p);
}

static void test_random_changes(void **state)
{
	static const size_t maxes[] = { 0, 1, 3, 8, 40, 1000 };
	struct tally tl = { 0 };

	(void)state;
	for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++)
		for (unsigned round = 0; round < 20; round++)
			run(maxes[m], next_rand() % 60, 300, &tl);
	/* Every way a change can go, many times. */
	assert_true(tl.applied > 500);
	assert_true(tl.kept > 500);
	assert_true(tl.rebuilt > 100);
}

/* A list with room takes an appended entry without a pass, and one
 * listed entry leaving a list that held them all leaves without one. */
static void test_room_needs_no_pass(void **state)
{
	struct sg_expiry_list cur, out;
	struct sg_policy p;
	struct sg_trusted_entry t = { .origin = SG_ORIGIN_APPROVAL, .ticket = (char *)"A-1",
				      .expires = 1800000000, .rate_class = SG_ENTRY_NO_CLASS };

	(void)state;
	sg_policy_init(&p);
	assert_int_equal(sg_expiry_list_build(&cur, &p, 10), 0);
	t.prefix = random_prefix();
	assert_int_equal(sg_policy_add_trusted(&p, &t), 0);
	assert_int_equal(sg_expiry_list_appended(&out, &cur, &p.trusted[0], 10), 0);
	sg_expiry_list_free(&cur);
	cur = out;
	assert_int_equal(cur.n, 1);
	assert_int_equal(cur.n_expiring, 1);
	assert_string_equal(cur.text + cur.items[0].ticket, "A-1");
	sg_policy_remove_trusted(&p, 0);
	assert_int_equal(sg_expiry_list_removed(&out, &cur, &t.prefix, t.expires), 0);
	sg_expiry_list_free(&cur);
	cur = out;
	assert_int_equal(cur.n, 0);
	assert_int_equal(cur.n_expiring, 0);
	sg_expiry_list_free(&cur);
	sg_policy_free(&p);
}

/* A list that is not built from the policy (zeroed, or its build ran
 * out of memory) takes no change: a pass must mend it. */
static void test_invalid_list_takes_no_change(void **state)
{
	struct sg_expiry_list cur = { 0 }, out;
	struct sg_trusted_entry t = { .origin = SG_ORIGIN_APPROVAL, .ticket = (char *)"A-2",
				      .expires = 1800000000, .rate_class = SG_ENTRY_NO_CLASS };

	(void)state;
	t.prefix = random_prefix();
	assert_int_equal(sg_expiry_list_appended(&out, &cur, &t, 10), SG_EXPIRY_REBUILD);
	cur.n_expiring = 1;
	assert_int_equal(sg_expiry_list_removed(&out, &cur, &t.prefix, t.expires),
			 SG_EXPIRY_REBUILD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_changes),
		cmocka_unit_test(test_room_needs_no_pass),
		cmocka_unit_test(test_invalid_list_takes_no_change),
	};

	rp_seed(&rng, 0x2545f4914f6cdd1dull);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
