// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl trust import FILE: many approvals in one trust.import
 * request, which smtpgated makes all or none.  FILE holds
 *     {"approvals": [{"prefix": ..., "relays": [...], "ticket": ..., "owner": ...}, ...]}
 * (or the array alone), each element with the fields `trust add` takes,
 * named as in the control protocol.  As for trust add, the daemon checks
 * the elements; this only reads the file and turns "+DURATION" expiries
 * into times.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctl.h"
#include "load.h"

/* "expires": "+30d" becomes the time it ends, as --expires does. */
static void expiries_to_times(json_t *arr)
{
	size_t i;
	json_t *el;

	json_array_foreach(arr, i, el) {
		const char *s = json_string_value(json_object_get(el, "expires"));
		long long d;
		char when[40];

		if (s && s[0] == '+' && !sg_parse_duration(s, &d)) {
			sg_format_rfc3339((long long)time(NULL) + d, when, sizeof(when));
			json_object_set_new(el, "expires", json_string(when));
		}
	}
}

static json_t *read_file(struct ctl *c, const char *path, int *rc)
{
	json_error_t jerr;
	json_t *doc, *arr;

	*rc = CTL_OK;
	doc = !strcmp(path, "-") ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
				 : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		*rc = ctl_fail(c, CTL_USAGE, "%s: line %d, column %d: %s", path, jerr.line,
			       jerr.column, jerr.text);
		return NULL;
	}
	arr = json_is_array(doc) ? json_incref(doc) : json_incref(json_object_get(doc, "approvals"));
	if (!json_is_array(arr) || (json_is_object(doc) && json_object_size(doc) != 1)) {
		json_decref(arr);
		json_decref(doc);
		*rc = ctl_fail(c, CTL_USAGE, "%s: expected {\"approvals\": [...]} or an array of "
			       "approvals", path);
		return NULL;
	}
	json_decref(doc);
	return arr;
}

int ctl_trust_import(struct ctl *c)
{
	json_t *arr, *result;
	int rc;

	if (!ctl_parse(c, &rc) || !(arr = read_file(c, c->args.operand, &rc)))
		return rc;
	expiries_to_times(arr);
	rc = ctl_call(c, SG_CTL_TRUST_IMPORT, json_pack("{s:o}", "approvals", arr), &result);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(result);
	else
		printf("imported %lld approvals (%lld already in force, unchanged)\n",
		       (long long)json_integer_value(json_object_get(result, "imported")),
		       (long long)json_integer_value(json_object_get(result, "unchanged")));
	json_decref(result);
	return CTL_OK;
}
