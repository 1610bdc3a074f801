// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Every smtpgatectl command's options, operand and help (options.h says
 * what is made of them).  smtpgatectl-full's commands (check, report,
 * store import, stats --pin-dir, audit --fleet) are here too: both
 * binaries link this table, so the thin one can show their help and
 * complete them.
 */
#include <string.h>
#include "options.h"

#define END { 0 }

/* Values offered for durations and times. */
#define DURATIONS "1h 12h 1d 7d 30d 90d"
#define PAST "-1h -24h -7d -30d"

const struct ctl_opt ctl_global_opts[] = {
	{ .name = "socket", .arg = "PATH", .common = true, .complete = CTL_COMPLETE_FILE,
	  .help = "control socket (default: control.socket of the config,\n"
		  "else /run/smtpgate/control.sock)" },
	{ .name = "config", .arg = "FILE", .common = true, .complete = CTL_COMPLETE_FILE,
	  .help = "host config to take the socket from (default\n"
		  "/etc/smtpgate/smtpgate.json, if readable)" },
	{ .name = "json", .common = true,
	  .help = "print one JSON document on stdout (the result, or\n"
		  "{\"ok\": false, \"error\", \"code\"} on failure)" },
	{ .name = "help", .short_name = 'h', .common = true,
	  .help = "help (also: smtpgatectl COMMAND --help)" },
	{ .name = "version", .short_name = 'V', .help = "version" },
	END
};

static const struct ctl_opt no_opts[] = { END };

static const struct ctl_opt trust_add_opts[] = {
	{ .name = "relay", .arg = "GROUP[,GROUP]",
	  .help = "relay groups it may send to (repeatable)", .key = "relays", .required = true,
	  .complete = CTL_COMPLETE_RELAYS },
	{ .name = "ticket", .arg = "ID", .help = "the change ticket that approves it",
	  .key = "ticket", .required = true },
	{ .name = "owner", .arg = "NAME", .help = "who answers for it", .key = "owner",
	  .required = true },
	{ .name = "rate", .arg = "CLASS",
	  .help = "its rate class (default: the policy's \"default\")", .key = "rate" },
	{ .name = "contact", .arg = "TEXT", .help = "how to reach the owner",
	  .key = "contact" },
	{ .name = "expires", .arg = "RFC3339|+DURATION",
	  .help = "when the approval ends (+30d: 30 days from now)", .key = "expires",
	  .complete = CTL_COMPLETE_WORDS, .words = "+30d +90d +180d +365d" },
	{ .name = "note", .arg = "TEXT", .help = "free text kept with it", .key = "note" },
	END
};

static const struct ctl_opt trust_del_opts[] = {
	{ .name = "ticket", .arg = "ID", .help = "the change ticket that removes it",
	  .key = "ticket", .required = true },
	END
};

static const struct ctl_opt trust_list_opts[] = {
	{ .name = "prefix", .arg = "PREFIX", .help = "only the entries within PREFIX",
	  .key = "prefix" },
	{ .name = "ticket", .arg = "ID", .help = "only the entries of this ticket",
	  .key = "ticket" },
	{ .name = "owner", .arg = "NAME", .help = "only the entries of this owner",
	  .key = "owner" },
	{ .name = "source", .arg = "policy|approval",
	  .help = "only policy.json's entries, or only approvals", .key = "source",
	  .complete = CTL_COMPLETE_WORDS, .words = "policy approval" },
	{ .name = "expiring", .arg = "DURATION",
	  .help = "only those expiring within DURATION, or expired",
	  .key = "expiring_within_sec", .complete = CTL_COMPLETE_WORDS, .words = DURATIONS },
	{ .name = "limit", .arg = "N", .help = "a page of N entries", .key = "limit" },
	{ .name = "after", .arg = "PREFIX",
	  .help = "the page after this prefix (the last one listed)", .key = "after" },
	END
};

static const struct ctl_opt ban_add_opts[] = {
	{ .name = "duration", .arg = "DURATION", .help = "how long (default: until removed)",
	  .key = "duration_sec", .complete = CTL_COMPLETE_WORDS, .words = DURATIONS },
	{ .name = "reason", .arg = "TEXT", .help = "why, for the audit trail",
	  .key = "reason" },
	{ .name = "ticket", .arg = "ID", .help = "the change ticket", .key = "ticket" },
	END
};

static const struct ctl_opt ban_del_opts[] = {
	{ .name = "reason", .arg = "TEXT", .help = "why, for the audit trail",
	  .key = "reason" },
	{ .name = "ticket", .arg = "ID", .help = "the change ticket", .key = "ticket" },
	END
};

static const struct ctl_opt stats_opts[] = {
	{ .name = "sources", .help = "add the top sources by packets", .key = "sources" },
	{ .name = "top", .arg = "N", .help = "how many sources (default 20; implies --sources)",
	  .key = "top" },
	{ .name = "pin-dir", .arg = "DIR",
	  .help = "read the pinned maps in DIR, without smtpgated (root)",
	  .complete = CTL_COMPLETE_DIR },
	END
};

static const struct ctl_opt audit_opts[] = {
	{ .name = "since", .arg = "RFC3339|-DURATION",
	  .help = "records from this time, or DURATION ago", .key = "since",
	  .complete = CTL_COMPLETE_WORDS, .words = PAST },
	{ .name = "limit", .arg = "N",
	  .help = "at most the newest N (default 10000; --fleet: 1000)", .key = "limit" },
	{ .name = "fleet",
	  .help = "every gateway's records, from the fleet store (no daemon)" },
	END
};

static const struct ctl_opt report_opts[] = {
	{ .name = "since", .arg = "DATE|DURATION",
	  .help = "the period's start, or its length (default 365d)",
	  .complete = CTL_COMPLETE_WORDS, .words = "30d 90d 365d $(date -u +%Y)-01-01" },
	{ .name = "until", .arg = "DATE",
	  .help = "the period's end (a day: its end; default now)",
	  .complete = CTL_COMPLETE_WORDS, .words = "$(date -u +%Y-%m-%d)" },
	{ .name = "format", .arg = "text|json|csv|html",
	  .help = "the output's form (default text; --json: json)",
	  .complete = CTL_COMPLETE_WORDS, .words = "text json csv html" },
	{ .name = "review-age", .arg = "DURATION",
	  .help = "the age approvals are due for review at (365d)",
	  .complete = CTL_COMPLETE_WORDS, .words = "90d 180d 365d" },
	{ .name = "state-dir", .arg = "DIR",
	  .help = "smtpgated's state dir (default: the config's)",
	  .complete = CTL_COMPLETE_DIR },
	{ .name = "log-dir", .arg = "DIR", .help = "smtpgated's log dir (default: the config's)",
	  .complete = CTL_COMPLETE_DIR },
	END
};

const struct ctl_spec ctl_specs[] = {
	{ .name = "status", .opts = no_opts,
	  .text =
	  "    The daemon's mode, policy generation and sha256, last reload, trusted\n"
	  "    entries and approvals, active bans, attachments and packet totals.\n" },
	{ .name = "trust add", .operand = { .name = "PREFIX", .key = "prefix" },
	  .opts = trust_add_opts,
	  .text =
	  "    Approves PREFIX (an address or ADDR/LEN without host bits) to send to the\n"
	  "    relay groups, under the change ticket.  In force in the kernel and saved\n"
	  "    to approvals.json (fsync'd) before the command returns.  --rate defaults\n"
	  "    to the class \"default\" when the policy has one; --expires takes a time\n"
	  "    or a duration from now (+30d, 12h, 90m, 2w).\n" },
	{ .name = "trust del",
	  .operand = { .name = "PREFIX", .key = "prefix", .complete = CTL_COMPLETE_APPROVALS },
	  .opts = trust_del_opts,
	  .text =
	  "    Removes an approval (not an entry of policy.json) under the change ticket.\n" },
	{ .name = "trust list", .opts = trust_list_opts,
	  .text =
	  "    The trusted entries, from policy.json and approvals, sorted by prefix and\n"
	  "    printed as they arrive.  --prefix: only those within PREFIX; --ticket,\n"
	  "    --owner: only those with exactly that value; --source: only policy.json's\n"
	  "    or only approvals; --expiring: only those that expire within DURATION\n"
	  "    (for the annual review), expired ones included.  --limit N: a page of N\n"
	  "    entries (N+1 when the next is the approval a policy entry shadows); when\n"
	  "    more follow, stderr says so and gives the next page's --after, the last\n"
	  "    prefix listed.  --json: one JSON array, an entry per line.\n" },
	{ .name = "trust import", .operand = { .name = "FILE", .complete = CTL_COMPLETE_JSON },
	  .opts = no_opts,
	  .text =
	  "    Approves every approval in FILE (- for stdin) at once, all or none:\n"
	  "    {\"approvals\": [{\"prefix\", \"relays\", \"ticket\", \"owner\", \"rate\",\n"
	  "    \"contact\", \"expires\", \"note\"}, ...]} (the fields of trust add; expires\n"
	  "    RFC 3339 or +DURATION).  A bad element, a prefix listed twice or already\n"
	  "    trusted otherwise, or a full table: nothing changes and the error names the\n"
	  "    element.  One already in force with the same values is left unchanged, so\n"
	  "    an import can be run again.  Each approval gets its audit record.\n" },
	{ .name = "relay list", .opts = no_opts,
	  .text =
	  "    The relay groups of the policy: addresses, ports, connection caps.\n" },
	{ .name = "ban add", .operand = { .name = "ADDR", .key = "addr" }, .opts = ban_add_opts,
	  .text =
	  "    Bans ADDR from every governed port, for DURATION or until removed.\n" },
	{ .name = "ban del",
	  .operand = { .name = "ADDR", .key = "addr", .complete = CTL_COMPLETE_BANS },
	  .opts = ban_del_opts,
	  .text =
	  "    Lifts the ban of ADDR (manual or automatic).\n" },
	{ .name = "ban list", .opts = no_opts,
	  .text =
	  "    Every ban in the ban table, automatic and manual, active and expired.\n" },
	{ .name = "stats", .opts = stats_opts,
	  .text =
	  "    Counters per attachment, verdict and reason (packets, bytes, new\n"
	  "    connections); --sources adds the top N sources (default 20) by packets,\n"
	  "    with their connections and bytes passed and blocked packets per reason.\n"
	  "    --pin-dir reads the pinned maps in DIR directly, without the daemon (when\n"
	  "    it is down; needs root).\n" },
	{ .name = "reload", .opts = no_opts,
	  .text =
	  "    Re-reads policy.json and approvals.json; an invalid policy is refused\n"
	  "    whole and the running one stays (the errors are printed).  The daemon\n"
	  "    answers reads meanwhile; changes wait for the reload to end.\n" },
	{ .name = "audit", .opts = audit_opts,
	  .text =
	  "    Audit records (changes and refused changes), oldest first: those since\n"
	  "    the time or DURATION ago, at most the newest N (default 10000).\n"
	  "    --fleet: every gateway's changes, read from the fleet store (etcd) of\n"
	  "    the host config's \"store\" key; no daemon needed (default N 1000).\n" },
	{ .name = "report", .opts = report_opts,
	  .text =
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
	{ .name = "store import",
	  .operand = { .name = "APPROVALS.json", .complete = CTL_COMPLETE_JSON },
	  .opts = no_opts,
	  .text =
	  "    Writes the approvals of APPROVALS.json (validated against the policy of\n"
	  "    the host config) into the fleet store of its \"store\" key, each with its\n"
	  "    audit record.  Safe to run again: exit 1 if an approval differs from the\n"
	  "    store's (the store's is kept) or could not be written.\n" },
	{ .name = "check", .operand = { .name = "POLICY.json", .complete = CTL_COMPLETE_JSON },
	  .opts = no_opts,
	  .text =
	  "    Validates a policy file offline (no daemon needed) and prints every\n"
	  "    problem; exit 0 if it is valid, 1 if smtpgated would refuse it.\n" },
};

const size_t ctl_n_specs = sizeof(ctl_specs) / sizeof(ctl_specs[0]);

const struct ctl_spec *ctl_spec_find(const char *name)
{
	for (size_t i = 0; i < ctl_n_specs; i++)
		if (!strcmp(ctl_specs[i].name, name))
			return &ctl_specs[i];
	return NULL;
}
