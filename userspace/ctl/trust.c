// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl trust add|del (list: trust_list.c; import: trust_import.c).
 * Arguments go to smtpgated as they were given (only durations become
 * times): the daemon checks them by
 * the policy loader's rules and audits every refusal, so a check made
 * here would only be a second, unaudited set of rules.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctl.h"
#include "load.h"

static int add_relays(json_t *arr, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		return -1;
	for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save))
		json_array_append_new(arr, json_string(g));
	free(copy);
	return 0;
}

/* --expires: a +DURATION becomes the time it ends; anything else goes
 * to the daemon as written (it says what is wrong with it). */
static json_t *expires_value(const char *s)
{
	long long d;
	char when[40];

	if (!sg_parse_duration(s, &d)) {
		sg_format_rfc3339((long long)time(NULL) + d, when, sizeof(when));
		return json_string(when);
	}
	return json_string(s);
}

static void print_entry_line(const char *verb, json_t *e)
{
	char relays[256];

	printf("%s %s for %s (rate %s, ticket %s, owner %s, expires %s)\n", verb,
	       ctl_str(json_object_get(e, "prefix"), "?"),
	       ctl_join(json_object_get(e, "relays"), relays, sizeof(relays)),
	       ctl_str(json_object_get(e, "rate"), "unlimited"),
	       ctl_str(json_object_get(e, "ticket"), "-"),
	       ctl_str(json_object_get(e, "owner"), "-"),
	       ctl_str(json_object_get(e, "expires"), "never"));
}

static int trust_add(struct ctl *c)
{
	json_t *args, *relays = NULL, *result;
	int rc;

	if (!ctl_parse(c, &rc))
		return rc;
	/* The arguments in the order given (the audit record keeps it). */
	args = json_object();
	for (size_t i = 0; i < c->args.n; i++) {
		const struct ctl_given *g = &c->args.given[i];

		if (ctl_is(g, "relay")) {
			if (!relays)
				relays = json_array();
			add_relays(relays, g->value);
		} else if (ctl_is(g, "expires")) {
			json_object_set_new(args, g->opt->key, expires_value(g->value));
		} else {
			json_object_set_new(args, g->opt->key, json_string(g->value));
		}
	}
	json_object_set_new(args, c->args.spec->operand.key, json_string(c->args.operand));
	if (relays)
		json_object_set_new(args, "relays", relays);
	rc = ctl_call(c, SG_CTL_TRUST_ADD, args, &result);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(result);
	else
		print_entry_line("trusted", result);
	json_decref(result);
	return CTL_OK;
}

static int trust_del(struct ctl *c)
{
	json_t *args, *result;
	int rc;

	if (!ctl_parse(c, &rc))
		return rc;
	args = json_object();
	for (size_t i = 0; i < c->args.n; i++)
		json_object_set_new(args, c->args.given[i].opt->key,
				    json_string(c->args.given[i].value));
	json_object_set_new(args, c->args.spec->operand.key, json_string(c->args.operand));
	rc = ctl_call(c, SG_CTL_TRUST_DEL, args, &result);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(result);
	else
		print_entry_line("removed the approval of", result);
	json_decref(result);
	return CTL_OK;
}

int ctl_cmd_trust(struct ctl *c)
{
	static const struct ctl_verb verbs[] = {
		{ "add", trust_add }, { "del", trust_del }, { "list", ctl_trust_list },
		{ "import", ctl_trust_import },
	};

	return ctl_dispatch(c, verbs, sizeof(verbs) / sizeof(verbs[0]));
}
