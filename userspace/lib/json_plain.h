/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A fast way into jansson for the common shape of a trusted[] element.
 *
 * json_loadb spends about 1.2 us on an element such as
 *   {"addr": "2001:db8:a::1", "relays": ["internal"], "ticket": "B-1", "owner": "ops"}
 * and four fifths of that in its lexer, which reads the text one byte at
 * a time through a stream and a growing buffer.  Building the same tree
 * with jansson's own constructors takes about 0.2 us.  A million-entry
 * policy is a million such elements, so the lexer alone was a third of
 * the CPU time of reading one.
 *
 * sg_json_plain_decode builds that tree only for "plain" text: objects,
 * arrays, null, true and false, and strings of printable ASCII without
 * escapes, nested at most SG_JPLAIN_DEPTH deep, no key twice in one
 * object, nothing after the value but whitespace.  For anything else
 * (numbers, escapes, UTF-8, a syntax error, a duplicate key) it returns
 * NULL and the caller asks json_loadb, which decodes everything and
 * words every error as before.  So the fast way never decides what is
 * valid: it only skips the lexer where the answer is certain.
 *
 * For a plain text both give equal trees with keys in the same order;
 * test_json_plain checks cases and fuzz_json_plain checks any bytes.
 */
#ifndef SG_JSON_PLAIN_H
#define SG_JSON_PLAIN_H

#include <jansson.h>
#include <stddef.h>

#define SG_JPLAIN_DEPTH 8

/* A new reference, or NULL: not plain (or out of memory). */
json_t *sg_json_plain_decode(const char *text, size_t len);

#endif
