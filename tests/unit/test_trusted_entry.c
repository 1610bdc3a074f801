// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The 64-byte trusted entry: the rarely present fields behind
 * sg_trusted_entry.extra and the one-byte rate class read back as the
 * fields did before (NULL, 0, SG_NO_CLASS), whichever way the entry was
 * added, and the add functions copy the caller's extra instead of
 * keeping a pointer to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"
#include "strpool.h"

typedef int (*add_fn)(struct sg_policy *, const struct sg_trusted_entry *);

static struct sg_trusted_entry entry(uint8_t host)
{
	struct sg_trusted_entry t = { .origin = SG_ORIGIN_POLICY, .ticket = "T-1",
				      .owner = "ops", .groups = 1 };

	t.prefix.addr.b[10] = t.prefix.addr.b[11] = 0xff;
	t.prefix.addr.b[15] = host;
	t.prefix.len = 128;
	return t;
}

static void class_round_trip(void **state)
{
	struct sg_trusted_entry t = entry(1);

	(void)state;
	for (uint32_t c = 0; c < SG_MAX_CLASSES; c++) {
		sg_entry_set_class(&t, c);
		assert_int_equal(sg_entry_class(&t), c);
	}
	sg_entry_set_class(&t, SG_NO_CLASS);
	assert_int_equal(sg_entry_class(&t), SG_NO_CLASS);
	/* Not a class index: unlimited, never another class. */
	sg_entry_set_class(&t, SG_MAX_CLASSES);
	assert_int_equal(sg_entry_class(&t), SG_NO_CLASS);
	t.rate_class = SG_ENTRY_CLASS(SG_NO_CLASS);
	assert_int_equal(sg_entry_class(&t), SG_NO_CLASS);
}

static void extra_copied(add_fn add)
{
	struct sg_trusted_extra x = { .created = 1767225600, .contact = "ops@example.org",
				      .note = "n", .created_by = "alice (uid 1000)" };
	struct sg_trusted_extra empty = { 0 };
	struct sg_trusted_entry a = entry(1), b = entry(2), c = entry(3);
	struct sg_policy p;

	sg_policy_init(&p);
	a.extra = &x;
	b.extra = &empty;
	sg_entry_set_class(&c, SG_NO_CLASS);
	assert_int_equal(add(&p, &a), 0);
	assert_int_equal(add(&p, &b), 0);
	assert_int_equal(add(&p, &c), 0);
	/* The caller's extra may go away: the policy has its own. */
	memset(&x, 0, sizeof(x));
	assert_non_null(p.trusted[0].extra);
	assert_ptr_not_equal(p.trusted[0].extra, &x);
	assert_string_equal(sg_entry_contact(&p.trusted[0]), "ops@example.org");
	assert_string_equal(sg_entry_note(&p.trusted[0]), "n");
	assert_string_equal(sg_entry_created_by(&p.trusted[0]), "alice (uid 1000)");
	assert_int_equal(sg_entry_created(&p.trusted[0]), 1767225600);
	assert_int_equal((uintptr_t)p.trusted[0].extra % _Alignof(struct sg_trusted_extra), 0);
	/* Nothing there: no extra at all. */
	for (size_t i = 1; i < 3; i++) {
		assert_null(p.trusted[i].extra);
		assert_null(sg_entry_contact(&p.trusted[i]));
		assert_null(sg_entry_note(&p.trusted[i]));
		assert_null(sg_entry_created_by(&p.trusted[i]));
		assert_int_equal(sg_entry_created(&p.trusted[i]), 0);
	}
	assert_int_equal(sg_entry_class(&p.trusted[0]), 0);
	assert_int_equal(sg_entry_class(&p.trusted[2]), SG_NO_CLASS);
	/* Removing one frees what it owns (none of it when pooled). */
	sg_policy_remove_trusted(&p, 0);
	assert_int_equal(p.n_trusted, 2);
	sg_policy_free(&p);
}

static void extra_malloced(void **state)
{
	(void)state;
	extra_copied(sg_policy_add_trusted);
}

static void extra_pooled(void **state)
{
	(void)state;
	extra_copied(sg_policy_add_trusted_pooled);
}

/* Aligned allocations between strings of every length stay aligned. */
static void pool_alloc_aligned(void **state)
{
	struct sg_strpool *sp = sg_strpool_new();
	char s[40];

	(void)state;
	assert_non_null(sp);
	for (int i = 0; i < 100000; i++) {
		int64_t *v;

		snprintf(s, sizeof(s), "%.*s%d", i % 23, "abcdefghijklmnopqrstuvw", i);
		assert_non_null(sg_strpool_add(sp, s));
		v = sg_strpool_alloc(sp, 3 * sizeof(*v));
		assert_non_null(v);
		assert_int_equal((uintptr_t)v % SG_STRPOOL_ALIGN, 0);
		assert_true(!v[0] && !v[1] && !v[2]);
		v[0] = v[1] = v[2] = -1;
	}
	sg_strpool_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(class_round_trip),
		cmocka_unit_test(extra_malloced),
		cmocka_unit_test(extra_pooled),
		cmocka_unit_test(pool_alloc_aligned),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
