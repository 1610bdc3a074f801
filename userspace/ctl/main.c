// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl: the operator CLI of smtpgate.  Global options and the
 * choice of the command; the commands live one object a file, their
 * options in options_table.c, the help in help.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

int ctl_dispatch(struct ctl *c, const struct ctl_verb *verbs, size_t n)
{
	const char *verb = c->argc > 1 ? c->argv[1] : NULL;
	char list[128] = "";

	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i ? (i + 1 == n ? " or " : ", ") : "", verbs[i].name);
	if (verb && (!strcmp(verb, "--help") || !strcmp(verb, "-h"))) {
		ctl_help(stdout, c->what);
		return CTL_OK;
	}
	for (size_t i = 0; verb && i < n; i++) {
		if (strcmp(verbs[i].name, verb))
			continue;
		snprintf(c->what_buf, sizeof(c->what_buf), "%s %s", c->what, verb);
		c->what = c->what_buf;
		c->argc--;
		c->argv++;
		optind = 0;
		return verbs[i].run(c);
	}
	if (!verb)
		return ctl_usage(c, "expected %s", list);
	return ctl_usage(c, "unknown command \"%s\" (expected %s)", verb, list);
}

int ctl_run_simple(struct ctl *c, const char *command, void (*print)(json_t *result))
{
	json_t *result;
	int rc;

	if (!ctl_parse(c, &rc) || (rc = ctl_call(c, command, NULL, &result)))
		return rc;
	if (c->json)
		ctl_print_json(result);
	else
		print(result);
	json_decref(result);
	return CTL_OK;
}

struct command {
	const char *name;
	int (*run)(struct ctl *c);
};

static const struct command commands[] = {
	{ "status", ctl_cmd_status },
	{ "trust", ctl_cmd_trust },
	{ "relay", ctl_cmd_relay },
	{ "ban", ctl_cmd_ban },
	{ "stats", ctl_cmd_stats },
	{ "reload", ctl_cmd_reload },
	{ "audit", ctl_cmd_audit },
	{ "check", ctl_cmd_check },
	{ "store", ctl_cmd_store },
	{ "report", ctl_cmd_report },
};

/* Hidden options that print the parts of committed files made from the
 * option tables (scripts/update-cli-docs.sh writes them in). */
#define OPT_PRINT_COMPLETION 0x401
#define OPT_PRINT_MAN_SYNOPSIS 0x402

static int global_options(struct ctl *c, int argc, char **argv)
{
	struct option longs[16];
	/* "+": stop at the command; its options are its own. */
	char shorts[16] = "+:";
	size_t n = ctl_global_longs(longs, 14, false, shorts, sizeof(shorts));
	const struct ctl_opt *g;
	int rc;

	longs[n++] = (struct option){ "print-completion", no_argument, NULL, OPT_PRINT_COMPLETION };
	longs[n++] = (struct option){ "print-man-synopsis", no_argument, NULL,
				      OPT_PRINT_MAN_SYNOPSIS };
	longs[n] = (struct option){ 0 };
	c->argc = argc;
	c->argv = argv;
	c->what = "";
	opterr = 0;
	for (;;) {
		int o = getopt_long(argc, argv, shorts, longs, NULL);

		if (o == -1)
			return 0;
		if (o == OPT_PRINT_COMPLETION || o == OPT_PRINT_MAN_SYNOPSIS) {
			if (o == OPT_PRINT_COMPLETION)
				ctl_export_completion(stdout);
			else
				ctl_export_man_synopsis(stdout);
			return -100 - CTL_OK;
		}
		if (o == ':')
			return -100 - ctl_usage(c, "%s needs a value", ctl_bad_option(c));
		if (!(g = ctl_global_of(o)))
			return -100 - ctl_usage(c, "unknown option %s", ctl_bad_option(c));
		if (!ctl_apply_global(c, g, optarg, &rc))
			return -100 - rc;
	}
}

char **ctl_main_argv;

int main(int argc, char **argv)
{
	struct ctl c = { 0 };
	int rc;

	ctl_main_argv = argv;
	rc = global_options(&c, argc, argv);

	if (rc <= -100)
		return -rc - 100;
	if (optind >= argc) {
		ctl_global_usage(stderr);
		return CTL_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		/* "smtpgatectl help trust add" */
		char what[64] = "";

		for (int i = optind + 1; i < argc && i < optind + 3; i++)
			snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s",
				 what[0] ? " " : "", argv[i]);
		if (what[0])
			ctl_help(stdout, what);
		else
			ctl_global_usage(stdout);
		return CTL_OK;
	}
	c.argc = argc - optind;
	c.argv = argv + optind;
	c.what = argv[optind];
	rc = -1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].name, c.what)) {
			optind = 0;     /* getopt starts afresh for the command */
			rc = commands[i].run(&c);
			break;
		}
	}
	if (rc < 0) {
		c.what = "";
		rc = ctl_usage(&c, "unknown command \"%s\"", argv[optind]);
	}
	free(c.socket);
	ctl_args_free(&c);
	return rc;
}
