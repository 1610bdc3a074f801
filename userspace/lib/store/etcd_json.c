// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The gateway's JSON conventions: bytes as base64 strings, 64-bit
 * integers as decimal strings, zero values left out.  Every read checks
 * type and bounds: the reply is untrusted input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base64.h"
#include "etcd.h"

json_t *sg_etcd_b64(const void *data, size_t len)
{
	char *text = malloc(sg_b64_encoded_size(len));
	json_t *j;

	if (!text)
		return NULL;
	sg_b64_encode(data, len, text);
	j = json_string(text);
	free(text);
	return j;
}

json_t *sg_etcd_prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *end = strdup(prefix);
	json_t *j;

	if (!end)
		return NULL;
	/* Prefixes are ASCII text ending in '/', so the last byte never
	 * overflows. */
	end[n - 1] = (char)(end[n - 1] + 1);
	j = sg_etcd_b64(end, n);
	free(end);
	return j;
}

int sg_etcd_get_bytes(json_t *obj, const char *key, size_t max, char **out, size_t *len)
{
	json_t *v = json_object_get(obj, key);
	size_t n;
	long got;

	*out = NULL;
	*len = 0;
	if (!v) {
		*out = strdup("");
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_string(v))
		return -EPROTO;
	n = json_string_length(v);
	/* Refuse before decoding: base64 is 4/3 of the bytes. */
	if (n / 4 * 3 > max + 2)
		return -EMSGSIZE;
	*out = malloc(n / 4 * 3 + 1);
	if (!*out)
		return -ENOMEM;
	got = sg_b64_decode(json_string_value(v), n, (unsigned char *)*out);
	if (got < 0 || (size_t)got > max) {
		free(*out);
		*out = NULL;
		return got < 0 ? -EPROTO : -EMSGSIZE;
	}
	*len = (size_t)got;
	return 0;
}

int sg_etcd_get_i64(json_t *obj, const char *key, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return *out < 0 ? -EPROTO : 0;
	}
	if (!json_is_string(v))
		return -EPROTO;
	s = json_string_value(v);
	if (*s < '0' || *s > '9')
		return -EPROTO;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end)
		return -EPROTO;
	*out = n;
	return 0;
}
