// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The arguments of a control request: getters that check each one's
 * type, range and syntax and fail the request with a message that names
 * the argument at fault.  The checks are the policy loader's own
 * (load.h, addr.h), so an approval made here is valid by exactly the
 * rules of a policy.json entry.
 */
#include <string.h>
#include "control_cmd.h"

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* The value of key, or NULL (and -1 through *rc when required). */
static json_t *arg_get(struct sgd_req *r, const char *key, bool required, int *rc)
{
	json_t *v = json_object_get(r->args, key);

	*rc = 0;
	if (v && !json_is_null(v))
		return v;
	if (required)
		*rc = sgd_req_fail(r, SGD_E_INVALID, key, "is required");
	return NULL;
}

int sgd_arg_text(struct sgd_req *r, const char *key, bool required, size_t max,
		 const char **out)
{
	struct sg_err err = { 0 };
	json_t *v;
	int rc;

	if (!(v = arg_get(r, key, required, &rc)))
		return rc;
	if (!json_is_string(v))
		return sgd_req_fail(r, SGD_E_INVALID, key, "must be a string, not %s", type_name(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return sgd_req_fail(r, SGD_E_INVALID, key, "must not contain NUL characters");
	if (sg_check_text(json_string_value(v), max, &err))
		return sgd_req_fail(r, SGD_E_INVALID, key, "%s", err.msg);
	*out = json_string_value(v);
	return 1;
}

/* A string argument that must be one line of reasonable length before it
 * is handed to a parser (and echoed in the message). */
static int arg_token(struct sgd_req *r, const char *key, bool required, const char **out)
{
	return sgd_arg_text(r, key, required, 256, out);
}

int sgd_arg_int(struct sgd_req *r, const char *key, bool required, long long min,
		long long max, long long *out)
{
	json_t *v;
	int rc;

	if (!(v = arg_get(r, key, required, &rc)))
		return rc;
	if (!json_is_integer(v))
		return sgd_req_fail(r, SGD_E_INVALID, key, "must be an integer, not %s",
				    type_name(v));
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return sgd_req_fail(r, SGD_E_INVALID, key, "%lld is out of range (%lld to %lld)",
				    (long long)json_integer_value(v), min, max);
	*out = json_integer_value(v);
	return 1;
}

int sgd_arg_bool(struct sgd_req *r, const char *key, bool *out)
{
	json_t *v;
	int rc;

	if (!(v = arg_get(r, key, false, &rc)))
		return rc;
	if (!json_is_boolean(v))
		return sgd_req_fail(r, SGD_E_INVALID, key, "must be true or false, not %s",
				    type_name(v));
	*out = json_is_true(v);
	return 1;
}

int sgd_arg_prefix(struct sgd_req *r, const char *key, struct sg_prefix *out)
{
	struct sg_err err = { 0 };
	const char *s;
	int rc = arg_token(r, key, true, &s);

	if (rc <= 0)
		return rc;
	if (sg_prefix_parse(s, out, &err))
		return sgd_req_fail(r, SGD_E_INVALID, key, "%s", err.msg);
	return 1;
}

int sgd_arg_addr(struct sgd_req *r, const char *key, struct sg_addr *out)
{
	struct sg_err err = { 0 };
	const char *s;
	int rc = arg_token(r, key, true, &s);

	if (rc <= 0)
		return rc;
	if (strchr(s, '/'))
		return sgd_req_fail(r, SGD_E_INVALID, key, "\"%s\" is a prefix: give one address",
				    s);
	if (sg_addr_parse(s, out, &err))
		return sgd_req_fail(r, SGD_E_INVALID, key, "%s", err.msg);
	return 1;
}

int sgd_arg_time(struct sgd_req *r, const char *key, bool required, long long *out)
{
	const char *s;
	int rc = arg_token(r, key, required, &s);

	if (rc <= 0)
		return rc;
	if (sg_parse_rfc3339(s, out))
		return sgd_req_fail(r, SGD_E_INVALID, key, "\"%s\" is not an RFC 3339 time "
				    "(like 2027-06-30T00:00:00Z)", s);
	return 1;
}
