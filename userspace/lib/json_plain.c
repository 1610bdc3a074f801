// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The plain subset of JSON straight into jansson values (json_plain.h).
 * Recursive descent over [p, end); every function returns NULL and
 * builds nothing when the text leaves the subset.
 */
#include <stdbool.h>
#include <string.h>
#include "json_plain.h"

struct cursor {
	const char *p, *end;
};

/* The whitespace JSON allows (RFC 8259), as jansson skips it. */
static void skip_ws(struct cursor *c)
{
	while (c->p < c->end &&
	       (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
		c->p++;
}

static bool take(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* From just after the opening quote: [*s, *s + *len) is the text,
 * which needs no decoding (no escape, no byte outside printable ASCII,
 * so no UTF-8 to validate). */
static bool plain_string(struct cursor *c, const char **s, size_t *len)
{
	const char *q = c->p;

	while (q < c->end && *q != '"') {
		unsigned char b = (unsigned char)*q;

		if (b < 0x20 || b > 0x7e || b == '\\')
			return false;
		q++;
	}
	if (q == c->end)
		return false;
	*s = c->p;
	*len = (size_t)(q - c->p);
	c->p = q + 1;
	return true;
}

static bool literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n))
		return false;
	c->p += n;
	return true;
}

static json_t *value(struct cursor *c, int depth);

static json_t *array(struct cursor *c, int depth)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	skip_ws(c);
	if (take(c, ']'))
		return a;
	for (;;) {
		json_t *v = value(c, depth);

		if (!v || json_array_append_new(a, v))
			break;
		skip_ws(c);
		if (take(c, ']'))
			return a;
		if (!take(c, ','))
			break;
		skip_ws(c);
	}
	json_decref(a);
	return NULL;
}

static json_t *object(struct cursor *c, int depth)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	skip_ws(c);
	if (take(c, '}'))
		return o;
	for (;;) {
		const char *key;
		size_t key_len, before = json_object_size(o);
		json_t *v;

		if (!take(c, '"') || !plain_string(c, &key, &key_len))
			break;
		skip_ws(c);
		if (!take(c, ':'))
			break;
		skip_ws(c);
		v = value(c, depth);
		/* setn_new takes v even when it fails; a key seen before
		 * replaces its value, which json_loadb (as smtpgate calls
		 * it) refuses instead: leave that to it. */
		if (!v || json_object_setn_new_nocheck(o, key, key_len, v) ||
		    json_object_size(o) == before)
			break;
		skip_ws(c);
		if (take(c, '}'))
			return o;
		if (!take(c, ','))
			break;
		skip_ws(c);
	}
	json_decref(o);
	return NULL;
}

static json_t *value(struct cursor *c, int depth)
{
	const char *s;
	size_t len;

	if (c->p == c->end)
		return NULL;
	switch (*c->p++) {
	case '"':
		return plain_string(c, &s, &len) ? json_stringn_nocheck(s, len) : NULL;
	case '{':
		return depth < SG_JPLAIN_DEPTH ? object(c, depth + 1) : NULL;
	case '[':
		return depth < SG_JPLAIN_DEPTH ? array(c, depth + 1) : NULL;
	case 'n':
		return literal(c, "ull") ? json_null() : NULL;
	case 't':
		return literal(c, "rue") ? json_true() : NULL;
	case 'f':
		return literal(c, "alse") ? json_false() : NULL;
	default:
		return NULL; /* numbers, and anything that is not JSON */
	}
}

json_t *sg_json_plain_decode(const char *text, size_t len)
{
	struct cursor c = { text, text + len };
	json_t *v;

	skip_ws(&c);
	v = value(&c, 0);
	if (!v)
		return NULL;
	skip_ws(&c);
	if (c.p != c.end) {
		json_decref(v);
		return NULL;
	}
	return v;
}
