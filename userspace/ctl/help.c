// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl --help and COMMAND --help, written from the option tables
 * (options_table.c) so that the help can never list an option the
 * command does not take, or miss one it does.
 */
#include <string.h>
#include "ctl.h"

/* Usage lines are wrapped to this many columns (the global help indents
 * them two more). */
#define USAGE_WIDTH 78
/* Where the one-line help of a command's options starts, at most; a
 * longer option has its help on the line below. */
#define OPT_HELP_COLUMN 30

/* "[--rate CLASS]", "--ticket ID", "[--sources]" */
static void option_token(const struct ctl_opt *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s--%s%s%s%s", o->required ? "" : "[", o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "", o->required ? "" : "]");
}

void ctl_usage_lines(FILE *f, const struct ctl_spec *s, const char *first, const char *rest)
{
	const char *prefix = first;
	char line[256], token[128];
	size_t indent = strlen(s->name) + 1;

	snprintf(line, sizeof(line), "%s%s%s", s->name, s->operand.name ? " " : "",
		 s->operand.name ? s->operand.name : "");
	for (const struct ctl_opt *o = s->opts; o->name; o++) {
		option_token(o, token, sizeof(token));
		if (strlen(line) + 1 + strlen(token) > USAGE_WIDTH) {
			fprintf(f, "%s%s\n", prefix, line);
			prefix = rest;
			snprintf(line, sizeof(line), "%*s%s", (int)indent, "", token);
		} else {
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", token);
		}
	}
	fprintf(f, "%s%s\n", prefix, line);
}

/* The command's options, one line each, under its description. */
static void option_list(FILE *f, const struct ctl_spec *s)
{
	size_t width = 0;
	char name[128];

	for (const struct ctl_opt *o = s->opts; o->name; o++) {
		size_t w = strlen(o->name) + 2 + (o->arg ? strlen(o->arg) + 1 : 0);

		if (w + 8 <= OPT_HELP_COLUMN && w > width)
			width = w;
	}
	for (const struct ctl_opt *o = s->opts; o->name; o++) {
		snprintf(name, sizeof(name), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		if (strlen(name) > width)
			fprintf(f, "      %s\n      %*s  %s\n", name, (int)width, "", o->help);
		else
			fprintf(f, "      %-*s  %s\n", (int)width, name, o->help);
	}
}

/* The options every command takes, as a list: "--socket PATH, --json". */
static void common_options(FILE *f)
{
	bool first = true;

	for (const struct ctl_opt *o = ctl_global_opts; o->name; o++) {
		if (!o->common)
			continue;
		fprintf(f, "%s--%s%s%s", first ? "" : ", ", o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
		first = false;
	}
}

void ctl_global_usage(FILE *f)
{
	fprintf(f, "Usage: smtpgatectl");
	/* --help has its own line below. */
	for (const struct ctl_opt *o = ctl_global_opts; o->name; o++)
		if (o->common && strcmp(o->name, "help"))
			fprintf(f, " [--%s%s%s]", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(f, " COMMAND ...\n"
		"\n"
		"The operator CLI of smtpgate: approvals, bans, status, statistics, the audit\n"
		"trail (through smtpgated's control socket) and offline policy checks.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < ctl_n_specs; i++)
		ctl_usage_lines(f, &ctl_specs[i], "  ", "  ");
	fprintf(f, "\nOptions (before or after the command):\n");
	for (const struct ctl_opt *o = ctl_global_opts; o->name; o++) {
		char name[64], shrt[8] = "    ";
		const char *help = o->help;

		if (o->short_name)
			snprintf(shrt, sizeof(shrt), "-%c, ", o->short_name);
		snprintf(name, sizeof(name), "%s--%s%s%s", shrt, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		/* The help's lines in a column. */
		while (*help) {
			size_t len = strcspn(help, "\n");

			fprintf(f, "  %-17s  %.*s\n", name, (int)len, help);
			name[0] = '\0';
			help += len + (help[len] == '\n');
		}
	}
	fprintf(f,
		"\n"
		"Durations: 90s, 90m, 12h, 30d, 2w.  Times: RFC 3339 (2027-06-30T00:00:00Z).\n"
		"Exit codes: 0 done; 1 refused or failed; 2 bad usage or invalid argument\n"
		"(nothing changed); 3 smtpgated unreachable; 4 a reload was in progress too\n"
		"long (nothing changed, try again).  See smtpgatectl(8).\n");
}

void ctl_help(FILE *f, const char *what)
{
	size_t len = strlen(what);
	bool any = false;

	for (size_t i = 0; i < ctl_n_specs; i++) {
		const struct ctl_spec *s = &ctl_specs[i];

		/* "trust" shows every trust command. */
		if (strncmp(s->name, what, len) || (s->name[len] && s->name[len] != ' '))
			continue;
		fprintf(f, "%s", any ? "\n" : "");
		ctl_usage_lines(f, s, any ? "smtpgatectl [OPTIONS] " : "Usage: smtpgatectl [OPTIONS] ",
				"");
		fprintf(f, "%s", s->text);
		option_list(f, s);
		any = true;
	}
	if (!any) {
		ctl_global_usage(f);
		return;
	}
	fprintf(f, "\nAnd the options of every command: ");
	common_options(f);
	fprintf(f, ".\nExit codes: 0 done, 1 refused or failed, 2 invalid (nothing changed),\n"
		"3 smtpgated unreachable, 4 reload in progress (nothing changed).  See\n"
		"smtpgatectl(8).\n");
}
