/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * smtpgatectl's options, one table per command (options_table.c): the
 * only place an option is spelled out.  From it come the parsing
 * (options_parse.c), the --help text (help.c), the names of options in
 * smtpgated's error messages (client.c), the bash completion and the
 * man page's SYNOPSIS (options_export.c writes both; the committed
 * files are checked against it by tests/e2e/test_ctl_completion_man.sh).
 */
#ifndef SGCTL_OPTIONS_H
#define SGCTL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* How bash completes a value (an option's argument, an operand). */
enum ctl_complete {
	CTL_COMPLETE_NONE,      /* free text: nothing offered */
	CTL_COMPLETE_WORDS,     /* the words of `words` (bash expands $(...) in them) */
	CTL_COMPLETE_FILE,
	CTL_COMPLETE_DIR,
	CTL_COMPLETE_JSON,      /* *.json files and directories */
	CTL_COMPLETE_RELAYS,    /* the relay groups, asked from smtpgated */
	CTL_COMPLETE_APPROVALS, /* the approvals' prefixes, asked from smtpgated */
	CTL_COMPLETE_BANS,      /* the banned addresses, asked from smtpgated */
};

struct ctl_opt {
	const char *name;       /* long name, without "--" */
	const char *arg;        /* its argument as --help names it ("ID"); NULL: a flag */
	const char *help;       /* one line (the global options': lines) */
	/* The control protocol argument the option becomes, so that
	 * smtpgated's errors, which name that, can name the option; NULL
	 * for options that never reach smtpgated. */
	const char *key;
	/* Shown without brackets: smtpgated refuses the command without it
	 * (the CLI leaves that check to it, as every other). */
	bool required;
	enum ctl_complete complete;
	const char *words;      /* for CTL_COMPLETE_WORDS */
	/* Global options only: the short option (0: none), and whether
	 * every command takes it too (--json: yes, --version: no). */
	char short_name;
	bool common;
};

/* A command's one positional argument. */
struct ctl_operand {
	const char *name;       /* "PREFIX"; NULL: the command takes none */
	const char *key;        /* as ctl_opt.key */
	enum ctl_complete complete;
};

struct ctl_spec {
	const char *name;               /* "trust add", "stats" */
	struct ctl_operand operand;
	const struct ctl_opt *opts;     /* ends with a NULL name */
	const char *text;               /* what it does: --help's lines, indented four spaces */
};

/* Every command, in the order of --help. */
extern const struct ctl_spec ctl_specs[];
extern const size_t ctl_n_specs;
/* The options before the command (ends with a NULL name). */
extern const struct ctl_opt ctl_global_opts[];

/* The table of a command ("trust add"), or NULL. */
const struct ctl_spec *ctl_spec_find(const char *name);

/* ---- help.c ---- */

/* The usage lines of a command ("trust add PREFIX --relay ..."), wrapped,
 * each line after the first indented under the first's arguments; the
 * first line printed after `first`, the others after `rest`. */
void ctl_usage_lines(FILE *f, const struct ctl_spec *s, const char *first, const char *rest);
/* smtpgatectl --help */
void ctl_global_usage(FILE *f);

/* ---- options_export.c: the generated parts of committed files ---- */

/* The data part of scripts/smtpgatectl.bash-completion. */
void ctl_export_completion(FILE *f);
/* The SYNOPSIS section of docs/man/smtpgatectl.8. */
void ctl_export_man_synopsis(FILE *f);

#endif
