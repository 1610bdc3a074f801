// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The JSON cursor of the loaders: where we are (file and JSON path), what
 * is wrong there, and typed getters that report and carry on so a single
 * run lists every problem of a file.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "load_internal.h"

void sg_j_init(struct sg_jctx *c, const char *file, struct sg_diag *d)
{
	c->file = file;
	c->d = d;
	c->path[0] = '\0';
	c->len = 0;
}

static void path_append(struct sg_jctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void path_append(struct sg_jctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->len >= sizeof(c->path) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(c->path + c->len, sizeof(c->path) - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len = c->len + (size_t)n < sizeof(c->path) ? c->len + (size_t)n
							       : sizeof(c->path) - 1;
}

/* Keys that read unambiguously after a dot; others are written ["..."]. */
static bool plain_key(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
			return false;
	return true;
}

/* Appends n bytes of text (truncated at the path's end). */
static void path_put(struct sg_jctx *c, const char *text, size_t n)
{
	size_t room = sizeof(c->path) - 1 - c->len;

	if (n > room)
		n = room;
	memcpy(c->path + c->len, text, n);
	c->len += n;
	c->path[c->len] = '\0';
}

/* Keys and indexes are pushed for every element of a million-entry
 * policy and almost never read: they are copied, not printf'd. */
size_t sg_j_push_key(struct sg_jctx *c, const char *key)
{
	size_t saved = c->len;

	if (!plain_key(key)) {
		path_append(c, "[\"%.64s\"]", key);
		return saved;
	}
	if (c->len)
		path_put(c, ".", 1);
	path_put(c, key, strlen(key));
	return saved;
}

size_t sg_j_push_index(struct sg_jctx *c, size_t i)
{
	size_t saved = c->len;
	char digits[24], *d = digits + sizeof(digits);

	*--d = ']';
	do
		*--d = (char)('0' + i % 10);
	while (i /= 10);
	*--d = '[';
	path_put(c, d, (size_t)(digits + sizeof(digits) - d));
	return saved;
}

void sg_j_pop(struct sg_jctx *c, size_t saved)
{
	c->len = saved;
	c->path[saved] = '\0';
}

static void report(struct sg_jctx *c, bool is_error, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->len)
		sg_diag_add(c->d, is_error, "%s: %s: %s", c->file, c->path, msg);
	else
		sg_diag_add(c->d, is_error, "%s: %s", c->file, msg);
}

void sg_j_error(struct sg_jctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, true, fmt, ap);
	va_end(ap);
}

void sg_j_oom(struct sg_jctx *c)
{
	sg_j_error(c, "out of memory");
}

unsigned sg_j_port(struct sg_jctx *c, json_t *v)
{
	char buf[64];

	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 65535)
		return (unsigned)json_integer_value(v);
	sg_j_error(c, "must be a port number from 1 to 65535, not %s",
		   sg_j_describe(v, buf, sizeof(buf)));
	return 0;
}

void sg_j_warn(struct sg_jctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, false, fmt, ap);
	va_end(ap);
}

void sg_j_error_at(struct sg_jctx *c, const char *key, const char *fmt, ...)
{
	size_t saved = sg_j_push_key(c, key);
	va_list ap;

	va_start(ap, fmt);
	report(c, true, fmt, ap);
	va_end(ap);
	sg_j_pop(c, saved);
}

/* Levenshtein distance, bounded: only "is it a near miss" matters. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[33], cur[33];

	if (la > 32 || lb > 32)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

/* How far key is from a known key: an edit distance, except that a
 * longer or shorter spelling ("conn_per_second" for "conn_per_sec", "pin"
 * for "pin_dir") counts as a near miss too. */
static size_t key_distance(const char *key, const char *known)
{
	size_t lk = strlen(key), ln = strlen(known);

	if ((ln >= 4 && lk > ln && !strncmp(key, known, ln)) ||
	    (lk >= 3 && lk < ln && !strncmp(key, known, lk)))
		return 1;
	return edit_distance(key, known);
}

bool sg_j_check_keys(struct sg_jctx *c, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	bool ok = true;

	json_object_foreach(obj, key, v) {
		const char *best = NULL;
		size_t best_d = 3;
		bool known = false;

		/* Known keys first: the distances (dear, and a million
		 * entries ask) only for a key that is not one. */
		for (const char *const *a = allowed; *a && !known; a++)
			known = !strcmp(key, *a);
		if (known)
			continue;
		for (const char *const *a = allowed; *a; a++) {
			size_t dist = key_distance(key, *a);

			if (dist < best_d) {
				best_d = dist;
				best = *a;
			}
		}
		ok = false;
		if (best)
			sg_j_error(c, "unknown key \"%.64s\" (did you mean \"%s\"?)", key, best);
		else
			sg_j_error(c, "unknown key \"%.64s\"", key);
	}
	return ok;
}

const char *sg_j_describe(json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING:
		snprintf(buf, len, "\"%.40s\"%s", json_string_value(v),
			 json_string_length(v) > 40 ? "..." : "");
		return buf;
	case JSON_INTEGER:
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, len, "%g", json_real_value(v));
		return buf;
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "?";
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	default: return "a boolean";
	}
}

int sg_j_get(struct sg_jctx *c, json_t *obj, const char *key, json_type type, bool required,
	     json_t **out)
{
	json_t *v = json_object_get(obj, key);
	char buf[64];
	bool ok;

	if (!v) {
		if (required)
			sg_j_error_at(c, key, "missing (required)");
		return required ? -1 : 0;
	}
	/* A number may be written as an integer. */
	ok = json_typeof(v) == type || (type == JSON_REAL && json_is_integer(v));
	if (!ok) {
		sg_j_error_at(c, key, "must be %s, not %s", type_name(type),
			      sg_j_describe(v, buf, sizeof(buf)));
		return -1;
	}
	*out = v;
	return 1;
}

int sg_j_get_text(struct sg_jctx *c, json_t *obj, const char *key, bool required, size_t max,
		  const char **out)
{
	struct sg_err err = { 0 };
	json_t *v;
	int rc = sg_j_get(c, obj, key, JSON_STRING, required, &v);

	if (rc <= 0)
		return rc;
	/* jansson refuses \u0000 unless asked, so the C string is the value. */
	if (sg_check_text(json_string_value(v), max, &err)) {
		sg_j_error_at(c, key, "%s", err.msg);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

int sg_j_get_enum(struct sg_jctx *c, json_t *obj, const char *key, bool required,
		  const char *const *names, int *out)
{
	char list[256] = "";
	size_t off = 0;
	json_t *v;
	int rc = sg_j_get(c, obj, key, JSON_STRING, required, &v);

	if (rc <= 0)
		return rc;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(json_string_value(v), names[i])) {
			*out = i;
			return 1;
		}
		off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
					"%s%s", i ? ", " : "", names[i]);
	}
	sg_j_error_at(c, key, "\"%.64s\" is not one of %s", json_string_value(v), list);
	return -1;
}

int sg_j_get_int(struct sg_jctx *c, json_t *obj, const char *key, bool required, long long min,
		 long long max, long long *out)
{
	char buf[64];
	json_t *v = json_object_get(obj, key);
	long long n;

	if (!v) {
		if (required)
			sg_j_error_at(c, key, "missing (required)");
		return required ? -1 : 0;
	}
	if (!json_is_integer(v)) {
		sg_j_error_at(c, key, "must be an integer from %lld to %lld, not %s", min, max,
			      sg_j_describe(v, buf, sizeof(buf)));
		return -1;
	}
	n = (long long)json_integer_value(v);
	if (n < min || n > max) {
		sg_j_error_at(c, key, "must be an integer from %lld to %lld, not %lld", min, max,
			      n);
		return -1;
	}
	*out = n;
	return 1;
}

int sg_j_get_num(struct sg_jctx *c, json_t *obj, const char *key, bool required, double min,
		 bool min_exclusive, double max, double *out)
{
	json_t *v;
	double n;
	int rc = sg_j_get(c, obj, key, JSON_REAL, required, &v);

	if (rc <= 0)
		return rc;
	n = json_number_value(v);
	if (min_exclusive && n <= min) {
		sg_j_error_at(c, key, "must be greater than %.15g, not %.15g", min, n);
		return -1;
	}
	if (!min_exclusive && n < min) {
		sg_j_error_at(c, key, "%.15g is below the minimum of %.15g", n, min);
		return -1;
	}
	if (n > max) {
		sg_j_error_at(c, key, "%.15g is above the maximum of %.15g", n, max);
		return -1;
	}
	*out = n;
	return 1;
}

int sg_j_get_path(struct sg_jctx *c, json_t *obj, const char *key, bool required,
		  const char **out)
{
	json_t *v;
	const char *s;
	int rc = sg_j_get(c, obj, key, JSON_STRING, required, &v);

	if (rc <= 0)
		return rc;
	s = json_string_value(v);
	if (s[0] != '/') {
		sg_j_error_at(c, key, "\"%.128s\" must be an absolute path", s);
		return -1;
	}
	if (strlen(s) >= PATH_MAX) {
		sg_j_error_at(c, key, "is longer than %d characters", PATH_MAX - 1);
		return -1;
	}
	*out = s;
	return 1;
}

int sg_j_get_time(struct sg_jctx *c, json_t *obj, const char *key, bool required,
		  long long *out)
{
	json_t *v;
	int rc = sg_j_get(c, obj, key, JSON_STRING, required, &v);

	if (rc <= 0)
		return rc;
	if (sg_parse_rfc3339(json_string_value(v), out)) {
		sg_j_error_at(c, key, "\"%.64s\" is not an RFC 3339 time "
			      "(like 2027-06-30T00:00:00Z)", json_string_value(v));
		return -1;
	}
	return 1;
}

json_t *sg_j_parse(const char *file, const char *text, size_t len, struct sg_diag *d)
{
	json_error_t je;
	json_t *root;

	/* Duplicate keys are refused: with two "mode"s, which one wins is
	 * an accident of the parser, not what the operator meant. */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		sg_diag_add(d, true, "%s: line %d, column %d: %s", file, je.line, je.column,
			    je.text);
	return root;
}

static void list_names(const char *(*name)(const struct sg_policy *, size_t),
		       const struct sg_policy *p, size_t n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		if (i == 8) {
			snprintf(buf + off, len - off, ", ...");
			break;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", name(p, i));
	}
}

static const char *group_name(const struct sg_policy *p, size_t i)
{
	return p->groups[i].name;
}

static const char *class_name(const struct sg_policy *p, size_t i)
{
	return p->classes[i].name;
}

void sg_j_list_groups(const struct sg_policy *p, char *buf, size_t len)
{
	list_names(group_name, p, p->n_groups, buf, len);
}

void sg_j_list_classes(const struct sg_policy *p, char *buf, size_t len)
{
	list_names(class_name, p, p->n_classes, buf, len);
}

static int prefix_at_cmp(const void *a, const void *b)
{
	const struct sg_prefix_at *x = a, *y = b;
	int c = memcmp(&x->prefix.addr, &y->prefix.addr, sizeof(x->prefix.addr));

	if (c)
		return c;
	if (x->prefix.len != y->prefix.len)
		return x->prefix.len < y->prefix.len ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

struct dup_pair {
	size_t first, second;
	struct sg_prefix prefix;
};

static int dup_pair_cmp(const void *a, const void *b)
{
	const struct dup_pair *x = a, *y = b;

	return x->second < y->second ? -1 : x->second > y->second;
}

void sg_j_prefix_duplicates(struct sg_jctx *c, const char *array, const char *field,
			    struct sg_prefix_at *v, size_t n)
{
	struct dup_pair *pairs;
	size_t n_pairs = 0, first = 0;

	if (n < 2)
		return;
	/* Sorting makes this O(n log n): policies may hold 262144 entries. */
	qsort(v, n, sizeof(*v), prefix_at_cmp);
	pairs = calloc(n, sizeof(*pairs));
	if (!pairs) {
		sg_j_error(c, "out of memory");
		return;
	}
	for (size_t i = 1; i < n; i++) {
		if (!sg_prefix_equal(&v[i].prefix, &v[first].prefix)) {
			first = i;
			continue;
		}
		pairs[n_pairs].first = v[first].index;
		pairs[n_pairs].second = v[i].index;
		pairs[n_pairs].prefix = v[i].prefix;
		n_pairs++;
	}
	/* Report in file order, not address order. */
	qsort(pairs, n_pairs, sizeof(*pairs), dup_pair_cmp);
	for (size_t i = 0; i < n_pairs; i++) {
		char text[SG_PREFIX_STRLEN];
		size_t s0 = sg_j_push_key(c, array);

		sg_j_push_index(c, pairs[i].second);
		if (field)
			sg_j_push_key(c, field);
		sg_prefix_format(&pairs[i].prefix, text, sizeof(text));
		sg_j_error(c, "%s is listed twice (%s[%zu] and %s[%zu])", text, array,
			   pairs[i].first, array, pairs[i].second);
		sg_j_pop(c, s0);
	}
	free(pairs);
}
