// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the plain JSON decoder (json_plain.c), which builds
 * trusted[] elements without jansson's lexer.  Property: whatever it
 * decodes, json_loadb (as the policy reader calls it) decodes too, to
 * the same tree with the same keys in the same order (compared as
 * compact dumps, which keep jansson's insertion order).  When it
 * declines, nothing is checked: the reader then asks json_loadb itself.
 */
#include "fuzz_common.h"
#include "json_plain.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_t *fast = sg_json_plain_decode(text, size), *ref;
	json_error_t je;
	char *a, *b;

	if (!fast)
		return 0;
	ref = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	fz_check(ref != NULL, "decoded plain, but json_loadb refuses it: %s (line %d, column %d)",
		 je.text, je.line, je.column);
	a = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
	b = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
	fz_check(a && b && !strcmp(a, b), "plain gives %s, json_loadb %s", a ? a : "(null)",
		 b ? b : "(null)");
	fz_check(json_equal(fast, ref), "json_equal differs on %s", b ? b : "(null)");
	free(a);
	free(b);
	json_decref(fast);
	json_decref(ref);
	return 0;
}
