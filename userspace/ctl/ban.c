// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* smtpgatectl ban add|del|list: manual bans, and the automatic ones. */
#include <stdio.h>
#include "ctl.h"
#include "load.h"

static void print_ban_line(const char *verb, json_t *b)
{
	printf("%s %s (%s, since %s, %s%s)\n", verb, ctl_str(json_object_get(b, "addr"), "?"),
	       ctl_str(json_object_get(b, "kind"), "?"), ctl_str(json_object_get(b, "since"), "?"),
	       json_is_string(json_object_get(b, "expires")) ? "until " : "until removed",
	       ctl_str(json_object_get(b, "expires"), ""));
}

/* ban add and ban del share the shape: ADDR plus optional text. */
static int ban_change(struct ctl *c, const char *command, bool add)
{
	const char *duration;
	json_t *args, *result;
	long long secs;
	int rc;

	if (!ctl_parse(c, &rc))
		return rc;
	duration = add ? ctl_arg(c, "duration") : NULL;
	if (duration && sg_parse_duration(duration, &secs))
		return ctl_usage(c, "--duration: \"%s\" is not a duration (like 30m, 12h, 7d)",
				 duration);
	/* The texts in the order given, then the duration and ADDR. */
	args = json_object();
	for (size_t i = 0; i < c->args.n; i++)
		if (!ctl_is(&c->args.given[i], "duration"))
			json_object_set_new(args, c->args.given[i].opt->key,
					    json_string(c->args.given[i].value));
	if (duration)
		json_object_set_new(args, "duration_sec", json_integer(secs));
	json_object_set_new(args, c->args.spec->operand.key, json_string(c->args.operand));
	rc = ctl_call(c, command, args, &result);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(result);
	else
		print_ban_line(add ? "banned" : "lifted the ban of", result);
	json_decref(result);
	return CTL_OK;
}

static int ban_add(struct ctl *c)
{
	return ban_change(c, SG_CTL_BAN_ADD, true);
}

static int ban_del(struct ctl *c)
{
	return ban_change(c, SG_CTL_BAN_DEL, false);
}

static void print_bans(json_t *arr)
{
	static const char *const headers[] = { "ADDR", "KIND", "SINCE", "EXPIRES", "ACTIVE" };
	struct ctl_table *t;
	size_t i;
	json_t *b;

	if (!json_array_size(arr)) {
		printf("no bans\n");
		return;
	}
	t = ctl_table_new(5, headers);
	json_array_foreach(arr, i, b) {
		const char *row[5] = {
			ctl_str(json_object_get(b, "addr"), "?"),
			ctl_str(json_object_get(b, "kind"), "?"),
			ctl_str(json_object_get(b, "since"), "?"),
			ctl_str(json_object_get(b, "expires"), "never"),
			json_is_true(json_object_get(b, "active")) ? "yes" : "no",
		};

		ctl_table_row(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
}

static int ban_list(struct ctl *c)
{
	return ctl_run_simple(c, SG_CTL_BAN_LIST, print_bans);
}

int ctl_cmd_ban(struct ctl *c)
{
	static const struct ctl_verb verbs[] = {
		{ "add", ban_add }, { "del", ban_del }, { "list", ban_list },
	};

	return ctl_dispatch(c, verbs, sizeof(verbs) / sizeof(verbs[0]));
}
