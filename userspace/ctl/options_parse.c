// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One parser for every command: getopt_long over the options of the
 * command's table (options_table.c) and the common ones, then its
 * operand.  The commands read what was given through ctl_arg() and
 * friends, by the options' names.
 */
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

/* getopt values: the command's option i is OWN + i, the global option i
 * without a short form GLOBAL + i (a short form is its own value). */
#define OWN    0x200
#define GLOBAL 0x300
/* Options of one command, common ones included, at most. */
#define MAX_LONGS 32

const char *ctl_bad_option(const struct ctl *c)
{
	if (optopt && optopt < 0x100 && optopt != '?') {
		static char buf[8];

		snprintf(buf, sizeof(buf), "-%c", optopt);
		return buf;
	}
	return optind > 0 && optind <= c->argc ? c->argv[optind - 1] : "?";
}

size_t ctl_global_longs(struct option *longs, size_t cap, bool common_only, char *shorts,
			size_t shorts_len)
{
	size_t n = 0, ns = strlen(shorts);

	for (size_t i = 0; ctl_global_opts[i].name && n + 1 < cap; i++) {
		const struct ctl_opt *o = &ctl_global_opts[i];

		if (common_only && !o->common)
			continue;
		longs[n++] = (struct option){ o->name, o->arg ? required_argument : no_argument,
					      NULL, o->short_name ? o->short_name
								  : GLOBAL + (int)i };
		if (o->short_name && ns + 1 < shorts_len) {
			shorts[ns++] = o->short_name;
			shorts[ns] = '\0';
		}
	}
	longs[n] = (struct option){ 0 };
	return n;
}

const struct ctl_opt *ctl_global_of(int value)
{
	for (size_t i = 0; ctl_global_opts[i].name; i++)
		if (value == (ctl_global_opts[i].short_name ? ctl_global_opts[i].short_name
							      : GLOBAL + (int)i))
			return &ctl_global_opts[i];
	return NULL;
}

bool ctl_apply_global(struct ctl *c, const struct ctl_opt *o, const char *value, int *rc)
{
	*rc = CTL_OK;
	if (!strcmp(o->name, "json"))
		c->json = true;
	else if (!strcmp(o->name, "socket"))
		c->socket_opt = value;
	else if (!strcmp(o->name, "config"))
		c->config_opt = value;
	else if (!strcmp(o->name, "help"))
		ctl_help(stdout, c->what);
	else if (!strcmp(o->name, "version"))
		printf("smtpgatectl %s\n", SG_VERSION);
	/* --help and --version are all the command line asks for. */
	return strcmp(o->name, "help") && strcmp(o->name, "version");
}

/* The operand after the options, or the usage error of its absence or
 * of an argument too many. */
static bool take_operand(struct ctl *c, const struct ctl_spec *s, int *rc)
{
	const char *name = s->operand.name;

	if (!name) {
		if (optind < c->argc) {
			*rc = ctl_usage(c, "unexpected argument \"%s\"", c->argv[optind]);
			return false;
		}
		return true;
	}
	if (optind >= c->argc) {
		*rc = ctl_usage(c, "%s is required", name);
		return false;
	}
	if (optind + 1 < c->argc) {
		*rc = ctl_usage(c, "unexpected argument \"%s\" (one %s only)", c->argv[optind + 1],
				name);
		return false;
	}
	c->args.operand = c->argv[optind];
	return true;
}

bool ctl_parse(struct ctl *c, int *rc)
{
	const struct ctl_spec *s = ctl_spec_find(c->what);
	struct option longs[MAX_LONGS];
	char shorts[16] = ":";
	size_t n = 0;

	*rc = CTL_OK;
	if (!s) {
		*rc = ctl_fail(c, CTL_FAILED, "no options table for this command");
		return false;
	}
	ctl_args_free(c);
	c->args.spec = s;
	c->args.given = calloc((size_t)c->argc + 1, sizeof(*c->args.given));
	if (!c->args.given) {
		*rc = ctl_fail(c, CTL_FAILED, "out of memory");
		return false;
	}
	for (size_t i = 0; s->opts[i].name && n + 1 < MAX_LONGS; i++)
		longs[n++] = (struct option){ s->opts[i].name,
					      s->opts[i].arg ? required_argument : no_argument,
					      NULL, OWN + (int)i };
	ctl_global_longs(longs + n, MAX_LONGS - n, true, shorts, sizeof(shorts));
	optind = 0;
	for (;;) {
		int o = getopt_long(c->argc, c->argv, shorts, longs, NULL);
		const struct ctl_opt *g;

		if (o == -1)
			break;
		if (o >= OWN && o < GLOBAL) {
			c->args.given[c->args.n++] = (struct ctl_given){ &s->opts[o - OWN], optarg };
		} else if (o == ':') {
			*rc = ctl_usage(c, "%s needs a value", ctl_bad_option(c));
			return false;
		} else if (!(g = ctl_global_of(o))) {
			*rc = ctl_usage(c, "unknown option %s", ctl_bad_option(c));
			return false;
		} else if (!ctl_apply_global(c, g, optarg, rc)) {
			return false;
		}
	}
	return take_operand(c, s, rc);
}

/* The table's entry of --name: a misspelt name is a bug, caught by the
 * first test that runs the command. */
static const struct ctl_opt *own_option(const struct ctl *c, const char *name)
{
	for (const struct ctl_opt *o = c->args.spec->opts; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	fprintf(stderr, "smtpgatectl: %s: --%s is not in its options table\n", c->what, name);
	abort();
}

const char *ctl_arg(const struct ctl *c, const char *name)
{
	const struct ctl_opt *o = own_option(c, name);
	const char *value = NULL;

	for (size_t i = 0; i < c->args.n; i++)
		if (c->args.given[i].opt == o)
			value = c->args.given[i].value;
	return value;
}

bool ctl_flag(const struct ctl *c, const char *name)
{
	const struct ctl_opt *o = own_option(c, name);

	for (size_t i = 0; i < c->args.n; i++)
		if (c->args.given[i].opt == o)
			return true;
	return false;
}

bool ctl_is(const struct ctl_given *g, const char *name)
{
	return !strcmp(g->opt->name, name);
}

void ctl_args_free(struct ctl *c)
{
	free(c->args.given);
	c->args = (struct ctl_args){ 0 };
}

const char *ctl_option_of_key(const struct ctl *c, const char *key, char *buf, size_t len)
{
	const struct ctl_spec *s = ctl_spec_find(c->what);

	for (const struct ctl_opt *o = s ? s->opts : NULL; o && o->name; o++)
		if (o->key && !strcmp(o->key, key)) {
			snprintf(buf, len, "--%s", o->name);
			return buf;
		}
	if (s && s->operand.key && !strcmp(s->operand.key, key))
		return s->operand.name;
	return key;
}
