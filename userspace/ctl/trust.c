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
	static const struct option longs[] = {
		{ "relay", required_argument, NULL, 'r' },
		{ "ticket", required_argument, NULL, 't' },
		{ "owner", required_argument, NULL, 'o' },
		{ "rate", required_argument, NULL, 'R' },
		{ "contact", required_argument, NULL, 'c' },
		{ "expires", required_argument, NULL, 'e' },
		{ "note", required_argument, NULL, 'n' },
		CTL_COMMON_OPTIONS
	};
	json_t *args = json_object(), *relays = NULL, *result;
	const char *prefix;
	int o, rc;

	while ((o = ctl_getopt(c, longs)) >= 0) {
		const char *key = NULL;

		switch (o) {
		case 'r':
			if (!relays)
				relays = json_array();
			add_relays(relays, optarg);
			continue;
		case 'e':
			json_object_set_new(args, "expires", expires_value(optarg));
			continue;
		case 't': key = "ticket"; break;
		case 'o': key = "owner"; break;
		case 'R': key = "rate"; break;
		case 'c': key = "contact"; break;
		case 'n': key = "note"; break;
		}
		if (key)
			json_object_set_new(args, key, json_string(optarg));
	}
	if (CTL_GETOPT_DONE(o) || !(prefix = ctl_positional(c, "PREFIX", &rc))) {
		json_decref(args);
		json_decref(relays);
		return CTL_GETOPT_DONE(o) ? CTL_GETOPT_EXIT(o) : rc;
	}
	json_object_set_new(args, "prefix", json_string(prefix));
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
	static const struct option longs[] = {
		{ "ticket", required_argument, NULL, 't' },
		CTL_COMMON_OPTIONS
	};
	json_t *args = json_object(), *result;
	const char *prefix;
	int o, rc;

	while ((o = ctl_getopt(c, longs)) >= 0)
		if (o == 't')
			json_object_set_new(args, "ticket", json_string(optarg));
	if (CTL_GETOPT_DONE(o) || !(prefix = ctl_positional(c, "PREFIX", &rc))) {
		json_decref(args);
		return CTL_GETOPT_DONE(o) ? CTL_GETOPT_EXIT(o) : rc;
	}
	json_object_set_new(args, "prefix", json_string(prefix));
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
