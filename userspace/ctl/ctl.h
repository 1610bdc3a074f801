/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * smtpgatectl: what its parts share.  main.c parses the global options
 * and picks the command; options_table.c holds every command's options
 * (options.h), options_parse.c parses them and help.c writes the help
 * from them; client.c talks to smtpgated and turns replies into exit
 * codes; output.c prints tables and JSON; one file per object (trust,
 * relay, ban, stats, status, audit, check) does the rest.
 */
#ifndef SGCTL_CTL_H
#define SGCTL_CTL_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include "options.h"
#include "smtpgate/control.h"

/* Exit codes (smtpgatectl(8), EXIT STATUS). */
#define CTL_OK          0
#define CTL_FAILED      1       /* refused or failed */
#define CTL_USAGE       2       /* bad usage or invalid argument: nothing changed */
#define CTL_UNREACHABLE 3       /* smtpgated cannot be reached */
#define CTL_RELOADING   4       /* refused: a reload was in progress too long; nothing changed */

/* Seconds to wait for a reply (a reload of a large policy is slow). */
#define CTL_REPLY_TIMEOUT_SEC 60

/* An option of the command as given. */
struct ctl_given {
	const struct ctl_opt *opt;
	const char *value;        /* NULL for a flag */
};

/* What ctl_parse found. */
struct ctl_args {
	const struct ctl_spec *spec;
	struct ctl_given *given;  /* the command's own options, in command-line order */
	size_t n;
	const char *operand;      /* its positional argument, if its table names one */
};

struct ctl {
	const char *socket_opt;   /* --socket */
	const char *config_opt;   /* --config */
	char *socket;             /* resolved, malloc'd */
	bool json;                /* --json */
	const char *what;         /* "trust add": for messages */
	char what_buf[64];
	int argc;                 /* the command's arguments, argv[0] = its name */
	char **argv;
	struct ctl_args args;     /* its options, once parsed (ctl_parse) */
};

/* ---- options_parse.c: the options of options_table.c ---- */

/* Parses the arguments of the command c->what by its table: its own
 * options into c->args, the common ones (--json, --socket, --config,
 * --help) into c, then its operand.  true: go on; false: the command is
 * done and *rc is its exit code (help printed, or bad usage reported). */
bool ctl_parse(struct ctl *c, int *rc);
/* The value of the command's --name (the last one given), or NULL. */
const char *ctl_arg(const struct ctl *c, const char *name);
/* Whether --name was given. */
bool ctl_flag(const struct ctl *c, const char *name);
/* Whether a given option is --name. */
bool ctl_is(const struct ctl_given *g, const char *name);
void ctl_args_free(struct ctl *c);
/* The option (or operand) of this command that sets the control
 * protocol's argument `key`, as the operator writes it ("--relay",
 * "PREFIX"); the key itself when none does. */
const char *ctl_option_of_key(const struct ctl *c, const char *key, char *buf, size_t len);
/* For main.c's global options: the getopt_long table of the global
 * options (only those every command takes, if common_only), with their
 * short forms appended to shorts; a getopt value's option (or NULL);
 * doing what it says (false: the command line is done, *rc its exit
 * code); the option the user wrote wrongly, for messages. */
size_t ctl_global_longs(struct option *longs, size_t cap, bool common_only, char *shorts,
			size_t shorts_len);
const struct ctl_opt *ctl_global_of(int value);
bool ctl_apply_global(struct ctl *c, const struct ctl_opt *o, const char *value, int *rc);
const char *ctl_bad_option(const struct ctl *c);

/* ---- main.c ---- */

/* Object commands ("trust add"): runs the verb argv[1] names, with
 * c->what and argv set for it. */
struct ctl_verb {
	const char *name;
	int (*run)(struct ctl *c);
};
int ctl_dispatch(struct ctl *c, const struct ctl_verb *verbs, size_t n);

/* ---- help.c ---- */

/* Prints the help of the command c->what (all of an object's commands
 * for "trust", the global help for anything else). */
void ctl_help(FILE *f, const char *what);

/* ---- client.c ---- */

/* Sends {command, args} (args stolen, may be NULL) to smtpgated.
 * Returns CTL_OK with *result set (the caller's), or an exit code after
 * printing why (stderr, and a JSON error document on stdout with
 * --json).  Warnings in the reply go to stderr. */
int ctl_call(struct ctl *c, const char *command, json_t *args, json_t **result);
/* The same in parts, for a reply read as it arrives (trust list): sends
 * the request and returns CTL_OK with the connected socket in *fd (the
 * caller's to close), or an exit code after reporting. */
int ctl_request_open(struct ctl *c, const char *command, json_t *args, int *fd);
/* A whole reply's text to its result (*result, the caller's) or exit
 * code, as ctl_call does. */
int ctl_reply_parse(struct ctl *c, const char *text, size_t len, json_t **result);
/* Reports a failed read of the reply (-errno): the exit code. */
int ctl_read_error(struct ctl *c, int e);
/* Reports an error of this command: "smtpgatectl: WHAT: message" on
 * stderr (and a JSON error document with --json).  Returns code. */
int ctl_fail(struct ctl *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A usage error: the message, a pointer to --help; returns CTL_USAGE. */
int ctl_usage(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The socket path: --socket, else control.socket of --config or of
 * /etc/smtpgate/smtpgate.json when readable, else the default.  NULL
 * (after reporting) if --config was given and cannot be used. */
const char *ctl_socket_path(struct ctl *c);

/* ---- output.c ---- */

struct ctl_table;
/* headers: ncols column titles, or NULL for a table without a header. */
struct ctl_table *ctl_table_new(int ncols, const char *const *headers);
/* Adds a row of ncols cells (copied; NULL prints as "-"). */
void ctl_table_row(struct ctl_table *t, const char *const *cells);
/* Prints the rows added since the last print with columns aligned, two
 * spaces apart; numeric columns (set with ctl_table_right) right-aligned.
 * The rows are then dropped and the widths kept, so a table can be
 * printed in parts as its rows arrive. */
void ctl_table_print(struct ctl_table *t, FILE *f);
void ctl_table_free(struct ctl_table *t);
void ctl_table_right(struct ctl_table *t, int col);
/* Prints a JSON document (indented) and a newline on stdout. */
void ctl_print_json(json_t *doc);
/* A command that takes only the common options: sends `command` with no
 * arguments and prints the result as JSON (--json) or with print. */
int ctl_run_simple(struct ctl *c, const char *command, void (*print)(json_t *result));
/* Text for a cell: the string, or dflt for null/missing. */
const char *ctl_str(json_t *v, const char *dflt);
/* An integer field as text into buf. */
const char *ctl_int(json_t *v, char *buf, size_t len);
/* A string array as "a,b". */
const char *ctl_join(json_t *arr, char *buf, size_t len);
/* "3d 4h", "12m 5s": a number of seconds for people. */
const char *ctl_duration_text(long long sec, char *buf, size_t len);

/* Time arguments: RFC 3339, or [+|-]DURATION relative to now (sign:
 * +1 for "in the future", -1 for "ago").  0 or -1. */
int ctl_parse_when(const char *s, int sign, long long *unix_sec);
/* A whole number from min to max written as decimal digits only: no
 * blanks, sign or trailing text (strtol would take " 5" and "+5"). */
int ctl_parse_count(const char *s, long long min, long long max, long long *out);

/* ---- commands ---- */

int ctl_cmd_status(struct ctl *c);
int ctl_cmd_reload(struct ctl *c);
int ctl_cmd_trust(struct ctl *c);
int ctl_trust_list(struct ctl *c);
int ctl_trust_import(struct ctl *c);
int ctl_cmd_relay(struct ctl *c);
int ctl_cmd_ban(struct ctl *c);
int ctl_cmd_stats(struct ctl *c);
int ctl_cmd_audit(struct ctl *c);
int ctl_cmd_check(struct ctl *c);
int ctl_cmd_store(struct ctl *c);
int ctl_cmd_report(struct ctl *c);

/* stats_pins.c: the stats document read from the pinned maps in dir
 * (*out), or a failure already told. */
int ctl_stats_from_pins(struct ctl *c, const char *dir, bool sources, unsigned top,
			json_t **out);

/* full.c: smtpgatectl itself links only what talking to smtpgated needs
 * (jansson and libc: it starts in about a millisecond); the commands
 * that need libbpf, libcurl, libcrypto or the policy compiler (check,
 * report, store, stats --pin-dir, audit --fleet) are in
 * smtpgatectl-full, which it runs in its place, with the same arguments
 * (in the thin binary these functions are full_stub.c's, which exec
 * it).  The command line as main() got it, for that. */
extern char **ctl_main_argv;

/* audit_fleet.c: the fleet store's audit records from `since` (unix
 * seconds, 0: all), the newest `limit`, as an array of records in the
 * local audit log's shape (*out).  CTL_OK or a failure already told. */
int ctl_audit_fleet(struct ctl *c, long long since, long long limit, json_t **out);

#endif
