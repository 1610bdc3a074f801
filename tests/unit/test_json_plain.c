// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The plain JSON decoder (json_plain.h) against json_loadb, as the
 * policy reader calls it (duplicates refused, any value at the top):
 *   - every plain text decodes to json_loadb's tree, keys in its order;
 *   - everything outside the subset is declined (NULL), whether
 *     json_loadb accepts it (numbers, escapes, UTF-8, deep nesting) or
 *     refuses it (syntax errors, a key twice), so that json_loadb
 *     decides and words it;
 *   - a deterministic stream of random texts over JSON's structural
 *     characters: whatever is decoded is json_loadb's tree, and a fair
 *     share of them are decoded (the check is not vacuous).
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "json_plain.h"

static json_t *reference(const char *text, size_t len)
{
	json_error_t je;

	return json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
}

/* Same tree, keys in the same order: the compact dumps keep jansson's
 * insertion order. */
static void assert_same(json_t *fast, json_t *ref, const char *text)
{
	char *a = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
	char *b = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!a || !b || strcmp(a, b))
		fail_msg("%s: plain gives %s, json_loadb %s", text, a ? a : "-", b ? b : "-");
	assert_true(json_equal(fast, ref));
	free(a);
	free(b);
}

static void test_plain_texts_decode_as_jansson(void **state)
{
	static const char *const plain[] = {
		"{\"addr\": \"2001:db8:a::1\", \"relays\": [\"internal\"], \"ticket\": \"B-1\", "
		"\"owner\": \"bench\"}",
		"{\"addr\":\"198.18.0.0/24\",\"relays\":[\"a\",\"b\"],\"rate\":null,\"ticket\":\"C\","
		"\"owner\":\"o\",\"contact\":\"x@example.org\",\"expires\":\"2027-06-30T00:00:00Z\","
		"\"note\":\"~ all printable: !#$%&'()*+,-./:;<=>?@[]^_`{|}\"}",
		/* key order kept, not sorted */
		"{\"z\": \"1\", \"a\": \"2\", \"m\": \"3\"}",
		"{}", "[]", "\"\"", "null", "true", "false", "{\"\": \"\"}",
		" \t\r\n{ \"a\" \t:\r\n[ true , false , null , { } , [ ] ] } \n",
		/* as deep as the subset goes */
		"[[[[[[[[\"deep\"]]]]]]]]",
		"{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": {\"h\": null}}}}}}}}",
		/* the same key in different objects is not a duplicate */
		"[{\"k\": \"1\"}, {\"k\": \"2\"}]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t len = strlen(plain[i]);
		json_t *fast = sg_json_plain_decode(plain[i], len);
		json_t *ref = reference(plain[i], len);

		if (!fast)
			fail_msg("declined plain text %s", plain[i]);
		assert_non_null(ref);
		assert_same(fast, ref, plain[i]);
		json_decref(fast);
		json_decref(ref);
	}
}

struct declined {
	const char *text;
	size_t len;          /* 0: strlen */
	bool jansson_takes;  /* json_loadb decodes it: only the subset declines */
};

static void test_outside_the_subset_is_declined(void **state)
{
	static const struct declined cases[] = {
		/* valid JSON, left to jansson */
		{ "{\"rate\": 5}", 0, true },
		{ "-1.5e3", 0, true },
		{ "{\"note\": \"a \\\"quoted\\\" word\"}", 0, true },
		{ "\"\\u0041\"", 0, true },
		{ "\"back\\\\slash\"", 0, true },
		{ "{\"owner\": \"caf\xc3\xa9\"}", 0, true },
		{ "\"\x7f\"", 0, true },
		{ "[[[[[[[[[\"nine deep\"]]]]]]]]]", 0, true },
		{ "{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": {\"h\": {}}}}}}}}}", 0, true },
		/* refused by jansson too: it words the error */
		{ "{\"addr\": \"10.0.0.1\", \"addr\": \"10.0.0.2\"}", 0, false },
		{ "{\"a\": \"tab\there\"}", 0, false },
		{ "{\"a\": \"nul\0here\"}", 15, false },
		{ "{\"a\": \"b\",}", 0, false },
		{ "[\"a\",]", 0, false },
		{ "{\"a\" \"b\"}", 0, false },
		{ "{\"a\": }", 0, false },
		{ "{a: \"b\"}", 0, false },
		{ "{'a': 'b'}", 0, false },
		{ "{\"a\": \"b\"", 0, false },
		{ "[\"a\"", 0, false },
		{ "\"open", 0, false },
		{ "{} {}", 0, false },
		{ "{}x", 0, false },
		{ "nul", 0, false },
		{ "nulll", 0, false },
		{ "truex", 0, false },
		{ "False", 0, false },
		{ "", 0, false },
		{ "  \n", 0, false },
		{ "\xef\xbb\xbf{}", 0, false },
		{ "\v{}", 0, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct declined *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		json_t *fast = sg_json_plain_decode(c->text, len);
		json_t *ref = reference(c->text, len);

		if (fast)
			fail_msg("case %zu (%s): decoded, should be left to json_loadb", i, c->text);
		if (!ref != !c->jansson_takes)
			fail_msg("case %zu (%s): json_loadb %s it", i, c->text,
				 ref ? "takes" : "refuses");
		json_decref(ref);
	}
}

/* A small xorshift: the same texts on every run. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random_texts(void **state)
{
	static const char *const atoms[] = {
		"{", "}", "[", "]", ",", ":", " ", "\"", "\"k\"", "\"v\"", "\"k\":", "null", "true",
		"false", "1", "\\", "\"a\\\"b\"", "\t", "\n", "x", "{\"k\":\"v\"}", "[\"v\"]", "\"k\":\"v\"",
	};
	size_t n_atoms = sizeof(atoms) / sizeof(atoms[0]), decoded = 0, runs = 200000;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char text[256];

	(void)state;
	for (size_t r = 0; r < runs; r++) {
		size_t len = 0, parts = 1 + rnd(&seed) % 12;
		json_t *fast, *ref;

		for (size_t k = 0; k < parts; k++) {
			const char *a = atoms[rnd(&seed) % n_atoms];
			size_t l = strlen(a);

			memcpy(text + len, a, l);
			len += l;
		}
		text[len] = '\0';
		fast = sg_json_plain_decode(text, len);
		if (!fast)
			continue;
		decoded++;
		ref = reference(text, len);
		if (!ref)
			fail_msg("decoded %s, which json_loadb refuses", text);
		assert_same(fast, ref, text);
		json_decref(fast);
		json_decref(ref);
	}
	/* About 1 in 50 of these texts is plain JSON. */
	if (decoded < runs / 200)
		fail_msg("only %zu of %zu random texts decoded: the check proves little", decoded,
			 runs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_texts_decode_as_jansson),
		cmocka_unit_test(test_outside_the_subset_is_declined),
		cmocka_unit_test(test_random_texts),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
