// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl: the operator CLI of smtpgate.  Global options, the
 * command table and the help texts; the commands live one object a file.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

struct help {
	const char *what;
	const char *text;
};

/* One entry per command: the usage line(s) and what it does. */
static const struct help helps[] = {
	{ "status",
	  "status\n"
	  "    The daemon's mode, policy generation and sha256, last reload, trusted\n"
	  "    entries and approvals, active bans, attachments and packet totals.\n" },
	{ "trust add",
	  "trust add PREFIX --relay GROUP[,GROUP] --ticket ID --owner NAME\n"
	  "          [--rate CLASS] [--contact TEXT] [--expires RFC3339|+DURATION] [--note TEXT]\n"
	  "    Approves PREFIX (an address or ADDR/LEN without host bits) to send to the\n"
	  "    relay groups, under the change ticket.  In force in the kernel and saved\n"
	  "    to approvals.json (fsync'd) before the command returns.  --rate defaults\n"
	  "    to the class \"default\" when the policy has one; --expires takes a time\n"
	  "    or a duration from now (+30d, 12h, 90m, 2w).\n" },
	{ "trust del",
	  "trust del PREFIX --ticket ID\n"
	  "    Removes an approval (not an entry of policy.json) under the change ticket.\n" },
	{ "trust list",
	  "trust list [--prefix PREFIX] [--ticket ID] [--owner NAME] [--source policy|approval]\n"
	  "           [--expiring DURATION] [--limit N] [--after PREFIX]\n"
	  "    The trusted entries, from policy.json and approvals, sorted by prefix and\n"
	  "    printed as they arrive.  --prefix: only those within PREFIX; --ticket,\n"
	  "    --owner: only those with exactly that value; --source: only policy.json's\n"
	  "    or only approvals; --expiring: only those that expire within DURATION\n"
	  "    (for the annual review), expired ones included.  --limit N: a page of N\n"
	  "    entries (N+1 when the next is the approval a policy entry shadows); when\n"
	  "    more follow, stderr says so and gives the next page's --after, the last\n"
	  "    prefix listed.  --json: one JSON array, an entry per line.\n" },
	{ "trust import",
	  "trust import FILE\n"
	  "    Approves every approval in FILE (- for stdin) at once, all or none:\n"
	  "    {\"approvals\": [{\"prefix\", \"relays\", \"ticket\", \"owner\", \"rate\",\n"
	  "    \"contact\", \"expires\", \"note\"}, ...]} (the fields of trust add; expires\n"
	  "    RFC 3339 or +DURATION).  A bad element, a prefix listed twice or already\n"
	  "    trusted otherwise, or a full table: nothing changes and the error names the\n"
	  "    element.  One already in force with the same values is left unchanged, so\n"
	  "    an import can be run again.  Each approval gets its audit record.\n" },
	{ "relay list",
	  "relay list\n"
	  "    The relay groups of the policy: addresses, ports, connection caps.\n" },
	{ "ban add",
	  "ban add ADDR [--duration DURATION] [--reason TEXT] [--ticket ID]\n"
	  "    Bans ADDR from every governed port, for DURATION or until removed.\n" },
	{ "ban del",
	  "ban del ADDR [--reason TEXT] [--ticket ID]\n"
	  "    Lifts the ban of ADDR (manual or automatic).\n" },
	{ "ban list",
	  "ban list\n"
	  "    Every ban in the ban table, automatic and manual, active and expired.\n" },
	{ "stats",
	  "stats [--sources] [--top N] [--pin-dir DIR]\n"
	  "    Counters per attachment, verdict and reason (packets, bytes, new\n"
	  "    connections); --sources adds the top N sources (default 20) by packets,\n"
	  "    with their connections and bytes passed and blocked packets per reason.\n"
	  "    --pin-dir reads the pinned maps in DIR directly, without the daemon (when\n"
	  "    it is down; needs root).\n" },
	{ "reload",
	  "reload\n"
	  "    Re-reads policy.json and approvals.json; an invalid policy is refused\n"
	  "    whole and the running one stays (the errors are printed).  The daemon\n"
	  "    answers reads meanwhile; changes wait for the reload to end.\n" },
	{ "audit",
	  "audit [--since RFC3339|-DURATION] [--limit N] [--fleet]\n"
	  "    Audit records (changes and refused changes), oldest first: those since\n"
	  "    the time or DURATION ago, at most the newest N (default 10000).\n"
	  "    --fleet: every gateway's changes, read from the fleet store (etcd) of\n"
	  "    the host config's \"store\" key; no daemon needed (default N 1000).\n" },
	{ "report",
	  "report [--since DATE|DURATION] [--until DATE] [--format text|json|csv|html]\n"
	  "       [--review-age DURATION] [--state-dir DIR] [--log-dir DIR]\n"
	  "    The compliance evidence for a period (default: the year to now): approvals\n"
	  "    in force at its end and every change in it (ticket, owner, contact, who,\n"
	  "    gateway), approvals without a contact, past the review age (default 365d)\n"
	  "    or expiring within 30 days, bans and top offenders, usage per month and\n"
	  "    source (connections, bytes, drops by reason), time in monitor mode or\n"
	  "    not attached, failed reloads, and whether the logs cover the period.\n"
	  "    Reads the state and log dirs (of --config, or given), so it works with\n"
	  "    smtpgated down.  DATE: YYYY-MM-DD (--until: the end of that day) or\n"
	  "    RFC 3339.  Exit 1 if some input could not be read (the report says what\n"
	  "    it skipped).\n" },
	{ "store import",
	  "store import APPROVALS.json\n"
	  "    Writes the approvals of APPROVALS.json (validated against the policy of\n"
	  "    the host config) into the fleet store of its \"store\" key, each with its\n"
	  "    audit record.  Safe to run again: exit 1 if an approval differs from the\n"
	  "    store's (the store's is kept) or could not be written.\n" },
	{ "check",
	  "check POLICY.json\n"
	  "    Validates a policy file offline (no daemon needed) and prints every\n"
	  "    problem; exit 0 if it is valid, 1 if smtpgated would refuse it.\n" },
};

#define N_HELPS (sizeof(helps) / sizeof(helps[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: smtpgatectl [--socket PATH] [--config FILE] [--json] COMMAND ...\n"
		"\n"
		"The operator CLI of smtpgate: approvals, bans, status, statistics, the audit\n"
		"trail (through smtpgated's control socket) and offline policy checks.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < N_HELPS; i++) {
		const char *line = helps[i].text;

		/* The usage lines only: the first, and its continuations
		 * (indented further than the description's four spaces). */
		while (*line && (line == helps[i].text || !strncmp(line, "     ", 5))) {
			const char *nl = strchr(line, '\n');
			int len = nl ? (int)(nl - line) : (int)strlen(line);

			fprintf(f, "  %.*s\n", len, line);
			line += len + (nl != NULL);
		}
	}
	fprintf(f,
		"\n"
		"Options (before or after the command):\n"
		"      --socket PATH  control socket (default: control.socket of the config,\n"
		"                     else /run/smtpgate/control.sock)\n"
		"      --config FILE  host config to take the socket from (default\n"
		"                     /etc/smtpgate/smtpgate.json, if readable)\n"
		"      --json         print one JSON document on stdout (the result, or\n"
		"                     {\"ok\": false, \"error\", \"code\"} on failure)\n"
		"  -h, --help         help (also: smtpgatectl COMMAND --help)\n"
		"  -V, --version      version\n"
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

	for (size_t i = 0; i < N_HELPS; i++) {
		/* "trust" shows every trust command. */
		if (strncmp(helps[i].what, what, len) ||
		    (helps[i].what[len] && helps[i].what[len] != ' '))
			continue;
		fprintf(f, "%ssmtpgatectl [OPTIONS] %s", any ? "\n" : "Usage: ", helps[i].text);
		any = true;
	}
	if (!any)
		usage(f);
	else
		fprintf(f, "\nOptions: --json, --socket PATH, --config FILE, --help; exit codes "
			"0 done, 1 refused or failed,\n2 invalid (nothing changed), 3 smtpgated "
			"unreachable, 4 reload in progress\n(nothing changed).  See smtpgatectl(8).\n");
}

/* The option as the user wrote it, for messages. */
static const char *bad_option(struct ctl *c)
{
	if (optopt && optopt < 0x100 && optopt != '?') {
		static char buf[8];

		snprintf(buf, sizeof(buf), "-%c", optopt);
		return buf;
	}
	return optind > 0 && optind <= c->argc ? c->argv[optind - 1] : "?";
}

int ctl_getopt(struct ctl *c, const struct option *longs)
{
	for (;;) {
		int o = getopt_long(c->argc, c->argv, ":h", longs, NULL);

		switch (o) {
		case CTL_OPT_JSON:
			c->json = true;
			continue;
		case CTL_OPT_SOCKET:
			c->socket_opt = optarg;
			continue;
		case CTL_OPT_CONFIG:
			c->config_opt = optarg;
			continue;
		case CTL_OPT_HELP:
			ctl_help(stdout, c->what);
			return -100 - CTL_OK;
		case ':':
			return -100 - ctl_usage(c, "%s needs a value", bad_option(c));
		case '?':
			return -100 - ctl_usage(c, "unknown option %s", bad_option(c));
		default:
			return o;
		}
	}
}

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

const char *ctl_positional(struct ctl *c, const char *name, int *rc)
{
	*rc = CTL_OK;
	if (optind >= c->argc) {
		*rc = ctl_usage(c, "%s is required", name);
		return NULL;
	}
	if (optind + 1 < c->argc) {
		*rc = ctl_usage(c, "unexpected argument \"%s\" (one %s only)", c->argv[optind + 1],
				name);
		return NULL;
	}
	return c->argv[optind];
}

int ctl_no_positional(struct ctl *c)
{
	if (optind < c->argc)
		return ctl_usage(c, "unexpected argument \"%s\"", c->argv[optind]);
	return CTL_OK;
}

int ctl_run_simple(struct ctl *c, const char *command, void (*print)(json_t *result))
{
	static const struct option longs[] = { CTL_COMMON_OPTIONS };
	json_t *result;
	int o, rc;

	while ((o = ctl_getopt(c, longs)) >= 0)
		;
	if (CTL_GETOPT_DONE(o))
		return CTL_GETOPT_EXIT(o);
	if ((rc = ctl_no_positional(c)) || (rc = ctl_call(c, command, NULL, &result)))
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

static int global_options(struct ctl *c, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "version", no_argument, NULL, 'V' },
		CTL_COMMON_OPTIONS
	};

	c->argc = argc;
	c->argv = argv;
	c->what = "";
	opterr = 0;
	for (;;) {
		/* "+": stop at the command; its options are its own. */
		int o = getopt_long(argc, argv, "+:hV", longs, NULL);

		switch (o) {
		case -1:
			return 0;
		case CTL_OPT_JSON: c->json = true; break;
		case CTL_OPT_SOCKET: c->socket_opt = optarg; break;
		case CTL_OPT_CONFIG: c->config_opt = optarg; break;
		case 'h':
			usage(stdout);
			return -100 - CTL_OK;
		case 'V':
			printf("smtpgatectl %s\n", SG_VERSION);
			return -100 - CTL_OK;
		case ':':
			return -100 - ctl_usage(c, "%s needs a value", bad_option(c));
		default:
			return -100 - ctl_usage(c, "unknown option %s", bad_option(c));
		}
	}
}

char **ctl_main_argv;

int main(int argc, char **argv)
{
	struct ctl c = { 0 };
	int rc;

	ctl_main_argv = argv;
	rc = global_options(&c, argc, argv);

	if (CTL_GETOPT_DONE(rc))
		return CTL_GETOPT_EXIT(rc);
	if (optind >= argc) {
		usage(stderr);
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
			usage(stdout);
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
	return rc;
}
