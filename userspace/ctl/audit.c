// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* smtpgatectl audit: the audit trail of changes and refused changes. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

/* Long details are cut for the table (--json has them whole). */
#define DETAILS_MAX 160

static void details(json_t *rec, char *buf, size_t len)
{
	const char *error = ctl_str(json_object_get(rec, "error"), NULL);
	json_t *args = json_object_get(rec, "args");
	char *text = NULL;

	if (error)
		snprintf(buf, len, "%s", error);
	else if (args && (text = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS)))
		snprintf(buf, len, "%s", text);
	else
		snprintf(buf, len, "-");
	free(text);
	if (strlen(buf) > DETAILS_MAX)
		strcpy(buf + DETAILS_MAX - 3, "...");
}

static void print_audit(json_t *arr)
{
	static const char *const headers[] = {
		"TIME", "GATEWAY", "USER", "UID", "COMMAND", "TICKET", "RESULT", "DETAILS"
	};
	struct ctl_table *t;
	size_t i;
	json_t *rec;

	if (!json_array_size(arr)) {
		printf("no audit records\n");
		return;
	}
	t = ctl_table_new(8, headers);
	ctl_table_right(t, 3);
	json_array_foreach(arr, i, rec) {
		char uid[32], more[DETAILS_MAX + 1];
		const char *row[8] = {
			ctl_str(json_object_get(rec, "time"), "?"),
			ctl_str(json_object_get(rec, "gateway"), "-"),
			ctl_str(json_object_get(rec, "user"), "?"),
			ctl_int(json_object_get(rec, "uid"), uid, sizeof(uid)),
			ctl_str(json_object_get(rec, "command"), "?"),
			ctl_str(json_object_get(rec, "ticket"), "-"),
			ctl_str(json_object_get(rec, "result"), "?"),
			more,
		};

		details(rec, more, sizeof(more));
		ctl_table_row(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
}

int ctl_cmd_audit(struct ctl *c)
{
	const char *since, *limit;
	json_t *args, *result;
	long long when = 0, n = 1000;
	int rc;

	if (!ctl_parse(c, &rc))
		return rc;
	since = ctl_arg(c, "since");
	limit = ctl_arg(c, "limit");
	args = json_object();
	if (since) {
		if (ctl_parse_when(since, -1, &when) || when < 0) {
			json_decref(args);
			return ctl_usage(c, "--since: \"%s\" is neither an RFC 3339 time nor "
					 "-DURATION (like -24h, -7d)", since);
		}
		json_object_set_new(args, "since", json_integer(when));
	}
	if (limit) {
		if (ctl_parse_count(limit, 1, 1000000, &n)) {
			json_decref(args);
			return ctl_usage(c, "--limit: \"%s\" is not a number from 1 to 1000000", limit);
		}
		json_object_set_new(args, "limit", json_integer(n));
	}
	if (ctl_flag(c, "fleet")) {
		json_decref(args);
		rc = ctl_audit_fleet(c, when, n, &result);
	} else {
		rc = ctl_call(c, SG_CTL_AUDIT, args, &result);
	}
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(result);
	else
		print_audit(result);
	json_decref(result);
	return CTL_OK;
}
