// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * policy.json: docs/policy.md's complete example, defaults, every validation error with
 * its exact message, warnings, the file checks (symlink, permissions,
 * owner, size) and the sha256 of what was read.
 *
 * JSON in these tests is written with single quotes for readability;
 * parse() turns them into double quotes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "compile.h"
#include "load.h"
#include "unit.h"

#define NOW 1767225600LL         /* 2026-01-01T00:00:00Z */
#define EXPIRES_2027 1814313600LL /* 2027-06-30T00:00:00Z */

static const struct sg_load_opts opts = { .allow_any_owner = true, .now_unix = NOW };

/* ---- helpers ---------------------------------------------------------- */

static char *dequote(const char *json)
{
	char *s = strdup(json);

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static int parse(const char *json, struct sg_policy *p, struct sg_diag *d)
{
	char *s = dequote(json);
	int rc = sg_policy_parse("policy.json", s, strlen(s), &opts, p, d);

	free(s);
	return rc;
}

static void expect_refused(const char *json, const char *const *want)
{
	struct sg_diag d = { 0 };
	struct sg_policy p;
	int rc = parse(json, &p, &d);

	ut_check_diag(&d, want);
	assert_int_equal(rc, -1);
	assert_int_equal(d.n_errors > 0, 1);
	/* Nothing handed out. */
	assert_int_equal(p.n_trusted, 0);
	assert_int_equal(p.n_groups, 0);
	sg_diag_free(&d);
}

static void expect_loaded(const char *json, struct sg_policy *p, const char *const *want)
{
	struct sg_diag d = { 0 };
	int rc = parse(json, p, &d);

	ut_check_diag(&d, want);
	assert_int_equal(rc, 0);
	assert_int_equal(d.n_errors, 0);
	sg_diag_free(&d);
}

#define REFUSED(json, ...) expect_refused((json), (const char *const[]){ __VA_ARGS__, NULL })
#define LOADED(json, p, ...) expect_loaded((json), (p), (const char *const[]){ __VA_ARGS__ NULL })

/* A valid trusted entry for building longer lists. */
#define ENTRY(addr) "{'addr': '" addr "', 'relays': ['r'], 'ticket': 'T-1', 'owner': 'o'}"
#define RELAYS "'relays': {'r': [{'addr': '192.0.2.25'}]}"

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f) {
		/* Run from elsewhere than the repository root. */
		char alt[4096];
		const char *src = getenv("SG_SRC_DIR");

		snprintf(alt, sizeof(alt), "%s/%s", src ? src : ".", path);
		f = fopen(alt, "r");
	}
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	return buf;
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	return ut_make_tmpdir(tmpdir, sizeof(tmpdir), "policy");
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(tmpdir);
}

/* tmpdir/name with content, mode; returns the path (static buffer). */
static const char *write_file(const char *name, const char *content, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* Loads path with o; the diagnostics must be exactly want. */
static int load(const char *path, const struct sg_load_opts *o, const char *const *want)
{
	struct sg_diag d = { 0 };
	struct sg_policy p;
	char sha[65];
	int rc = sg_policy_load(path, o, &p, sha, &d);

	ut_check_diag(&d, want);
	if (!rc)
		sg_policy_free(&p);
	sg_diag_free(&d);
	return rc;
}

#define LOAD(path, o, ...) load((path), (o), (const char *const[]){ __VA_ARGS__ NULL })

/* ---- a full valid policy: docs/policy.md's example ------------------ */

static void test_spec_example(void **state)
{
	char *text = read_text("policies/example.policy.json");
	struct sg_diag d = { 0 };
	struct sg_policy p;
	const struct sg_trusted_entry *t;
	char buf[64];

	(void)state;
	assert_int_equal(sg_policy_parse("example.policy.json", text, strlen(text), &opts, &p, &d),
			 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(p.mode, SG_MODE_ENFORCE);
	assert_int_equal(p.n_ports, 3);
	assert_int_equal(p.ports[0], 25);
	assert_int_equal(p.ports[1], 465);
	assert_int_equal(p.ports[2], 587);
	assert_int_equal(p.n_scope, 2);
	sg_prefix_format(&p.scope[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.20.0.0/16");
	sg_prefix_format(&p.scope[1], buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8:20::/48");

	assert_int_equal(p.n_groups, 2);
	assert_string_equal(p.groups[0].name, "internal");
	assert_int_equal(p.groups[0].n_relays, 1);
	sg_addr_format(&p.groups[0].relays[0].addr, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.25");
	assert_int_equal(p.groups[0].relays[0].n_ports, 1);
	assert_int_equal(p.groups[0].relays[0].ports[0], 25);
	assert_true(p.groups[0].cap_conn_per_sec == 500);
	assert_true(p.groups[0].cap_conn_burst == 1000);
	assert_string_equal(p.groups[1].name, "external");
	assert_int_equal(p.groups[1].n_relays, 2);
	assert_int_equal(p.groups[1].relays[0].n_ports, 0);
	sg_addr_format(&p.groups[1].relays[1].addr, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::25");
	assert_true(p.groups[1].cap_conn_per_sec == 0);

	assert_int_equal(p.n_classes, 1);
	assert_string_equal(p.classes[0].name, "default");
	assert_true(p.classes[0].conn_per_sec == 10);
	assert_true(p.classes[0].conn_burst == 50);
	assert_true(p.classes[0].bytes_per_sec == 2000000);
	assert_true(p.classes[0].bytes_burst == 8000000);

	assert_int_equal(p.unreg_action, SG_UNREG_DROP);
	assert_int_equal(p.unreg_class, SG_NO_CLASS);
	assert_true(p.ban_enabled);
	assert_int_equal(p.ban_violations, 200);
	assert_true(p.ban_window_sec == 10);
	assert_true(p.ban_duration_sec == 600);

	assert_int_equal(p.n_trusted, 1);
	t = &p.trusted[0];
	sg_prefix_format(&t->prefix, buf, sizeof(buf));
	assert_string_equal(buf, "10.20.1.5");
	assert_int_equal(t->prefix.len, 128);
	assert_int_equal(t->groups, 1);
	assert_int_equal(sg_entry_class(t), 0);
	assert_string_equal(t->ticket, "CHG-1042");
	assert_string_equal(t->owner, "benefits-app");
	assert_string_equal(sg_entry_contact(t), "ops-oncall@example.org");
	assert_null(sg_entry_note(t));
	assert_int_equal(t->expires, EXPIRES_2027);
	assert_int_equal(t->origin, SG_ORIGIN_POLICY);
	assert_int_equal(sg_entry_created(t), 0);
	assert_null(sg_entry_created_by(t));
	sg_policy_free(&p);
	free(text);
}

/* Every shipped example and test policy loads (except the invalid one). */
static void test_shipped_policies(void **state)
{
	static const char *const files[] = {
		"policies/minimal.policy.json", "policies/throttle.policy.json", NULL
	};
	(void)state;
	for (int i = 0; files[i]; i++) {
		char *text = read_text(files[i]);
		struct sg_diag d = { 0 };
		struct sg_policy p;

		assert_int_equal(sg_policy_parse("x.json", text, strlen(text), &opts, &p, &d), 0);
		assert_int_equal(d.n, 0);
		sg_policy_free(&p);
		free(text);
	}
}

static void test_throttle_example(void **state)
{
	char *text = read_text("policies/throttle.policy.json");
	struct sg_diag d = { 0 };
	struct sg_policy p;

	(void)state;
	assert_int_equal(sg_policy_parse("x.json", text, strlen(text), &opts, &p, &d), 0);
	assert_int_equal(p.unreg_action, SG_UNREG_THROTTLE);
	assert_int_equal(p.unreg_class, 1);
	assert_true(p.event_interval_sec == 1);
	assert_int_equal(p.event_budget, 500);
	/* No conn_burst in relay_cap: one second's worth. */
	assert_true(p.groups[0].cap_conn_per_sec == 100);
	assert_true(p.groups[0].cap_conn_burst == 100);
	/* rate absent: "default"; rate null: unlimited. */
	assert_int_equal(sg_entry_class(&p.trusted[0]), 0);
	assert_int_equal(p.trusted[0].groups, 3);
	assert_int_equal(sg_entry_class(&p.trusted[1]), SG_NO_CLASS);
	assert_int_equal(p.trusted[1].prefix.len, 64);
	sg_policy_free(&p);
	free(text);
}

/* The shipped invalid policy lists every problem, in order. */
static void test_invalid_example(void **state)
{
	char *text = read_text("policies/invalid.policy.json");
	struct sg_diag d = { 0 };
	struct sg_policy p;

	(void)state;
	assert_int_equal(sg_policy_parse("invalid.policy.json", text, strlen(text), &opts, &p, &d),
			 -1);
	ut_check_diag(&d, (const char *const[]){
		"error: invalid.policy.json: mode: \"enforcing\" is not one of enforce, monitor",
		"error: invalid.policy.json: ports[1]: 25 is listed twice (ports[0] and ports[1])",
		"error: invalid.policy.json: rate_classes.default.conn_burst: set without "
		"conn_per_sec (a burst needs a rate)",
		"error: invalid.policy.json: relays.internal[0].addr: \"10.0.0.0/24\" is a prefix; "
		"a relay is one address",
		"error: invalid.policy.json: unregistered.rate: required when action is "
		"\"throttle\" (the rate class of the allowance)",
		"error: invalid.policy.json: trusted[0].addr: \"10.0.0.300\" is not an IP prefix",
		"error: invalid.policy.json: trusted[1].addr: \"10.20.1.5/24\" has host bits set "
		"(did you mean 10.20.1.0/24?)",
		"error: invalid.policy.json: trusted[1].relays[0]: no relay group named \"nosuch\" "
		"(defined: internal)",
		"error: invalid.policy.json: trusted[2]: unknown key \"expire\" (did you mean "
		"\"expires\"?)",
		"error: invalid.policy.json: trusted[2].ticket: missing (required)",
		NULL });
	assert_int_equal(d.n_errors, 10);
	sg_diag_free(&d);
	free(text);
}

/* ---- defaults ------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct sg_policy p;

	(void)state;
	LOADED("{}", &p);
	assert_int_equal(p.mode, SG_MODE_ENFORCE);
	assert_int_equal(p.n_ports, 1);
	assert_int_equal(p.ports[0], 25);
	assert_int_equal(p.n_scope, 0);
	assert_int_equal(p.n_groups, 0);
	assert_int_equal(p.n_classes, 0);
	assert_int_equal(p.unreg_action, SG_UNREG_DROP);
	assert_int_equal(p.unreg_class, SG_NO_CLASS);
	assert_false(p.ban_enabled);
	assert_true(p.event_interval_sec == SG_DEFAULT_EVENT_INTERVAL_SEC);
	assert_int_equal(p.event_budget, SG_DEFAULT_EVENT_BUDGET);
	assert_int_equal(p.n_trusted, 0);
	sg_policy_free(&p);
}

static void test_monitor_and_reject(void **state)
{
	struct sg_policy p;

	(void)state;
	LOADED("{'mode': 'monitor', 'unregistered': {'action': 'reject'}}", &p);
	assert_int_equal(p.mode, SG_MODE_MONITOR);
	assert_int_equal(p.unreg_action, SG_UNREG_REJECT);
	sg_policy_free(&p);
}

/* rate: "default" when a class of that name exists, else unlimited. */
static void test_rate_default(void **state)
{
	struct sg_policy p;

	(void)state;
	LOADED("{" RELAYS ", 'rate_classes': {'slow': {'conn_per_sec': 1}, 'default': {}},"
	       " 'trusted': [" ENTRY("198.18.0.1") "]}", &p);
	assert_int_equal(sg_entry_class(&p.trusted[0]), 1);
	sg_policy_free(&p);
	LOADED("{" RELAYS ", 'rate_classes': {'slow': {'conn_per_sec': 1}},"
	       " 'trusted': [" ENTRY("198.18.0.1") "]}", &p);
	assert_int_equal(sg_entry_class(&p.trusted[0]), SG_NO_CLASS);
	sg_policy_free(&p);
	LOADED("{" RELAYS ", 'rate_classes': {'default': {'conn_per_sec': 1}},"
	       " 'trusted': [{'addr': '198.18.0.1', 'relays': ['r'], 'rate': null,"
	       " 'ticket': 'T', 'owner': 'o'}, {'addr': '198.18.0.2', 'relays': ['r'],"
	       " 'rate': 'default', 'ticket': 'T', 'owner': 'o'}]}", &p);
	assert_int_equal(sg_entry_class(&p.trusted[0]), SG_NO_CLASS);
	assert_int_equal(sg_entry_class(&p.trusted[1]), 0);
	sg_policy_free(&p);
}

/* A burst defaults to one second's worth of its rate, at least 1. */
static void test_burst_defaults(void **state)
{
	struct sg_policy p;

	(void)state;
	LOADED("{'rate_classes': {'a': {'conn_per_sec': 20, 'bytes_per_sec': 5000},"
	       " 'b': {'conn_per_sec': 0.5}, 'c': {}}}", &p);
	assert_true(p.classes[0].conn_burst == 20);
	assert_true(p.classes[0].bytes_burst == 5000);
	assert_true(p.classes[1].conn_burst == 1);
	assert_true(p.classes[1].bytes_per_sec == 0);
	assert_true(p.classes[1].bytes_burst == 0);
	assert_true(p.classes[2].conn_per_sec == 0);
	assert_true(p.classes[2].conn_burst == 0);
	sg_policy_free(&p);
}

static void test_ban_until_removed(void **state)
{
	struct sg_policy p;

	(void)state;
	LOADED("{'ban': {'violations': 1, 'window_sec': 0.5, 'duration_sec': 0}}", &p);
	assert_true(p.ban_enabled);
	assert_int_equal(p.ban_violations, 1);
	assert_true(p.ban_window_sec == 0.5);
	assert_true(p.ban_duration_sec == 0);
	sg_policy_free(&p);
}

static void test_events_extension(void **state)
{
	struct sg_policy p;

	(void)state;
	LOADED("{'events': {'interval_sec': 5, 'budget_per_cpu': 10}}", &p);
	assert_true(p.event_interval_sec == 5);
	assert_int_equal(p.event_budget, 10);
	sg_policy_free(&p);
	REFUSED("{'events': {'interval_sec': 0, 'budget_per_cpu': 0, 'budget': 1}}",
		"error: policy.json: events: unknown key \"budget\" (did you mean "
		"\"budget_per_cpu\"?)",
		"error: policy.json: events.interval_sec: must be greater than 0, not 0",
		"error: policy.json: events.budget_per_cpu: must be an integer from 1 to 1000000, "
		"not 0");
}

/* ---- warnings ------------------------------------------------------- */

static void test_expired_entry_is_a_warning(void **state)
{
	struct sg_policy p;

	(void)state;
	LOADED("{" RELAYS ", 'trusted': [{'addr': '198.18.0.1', 'relays': ['r'],"
	       " 'ticket': 'T', 'owner': 'o', 'expires': '2020-01-01T00:00:00Z'}]}", &p,
	       "warning: policy.json: trusted[0].expires: 2020-01-01T00:00:00Z is in the past: "
	       "the entry is loaded but passes no traffic",);
	assert_int_equal(p.n_trusted, 1);
	assert_int_equal(p.trusted[0].expires, 1577836800);
	sg_policy_free(&p);
}

static void test_empty_group_is_a_warning(void **state)
{
	struct sg_policy p;

	(void)state;
	LOADED("{'relays': {'spare': []}}", &p,
	       "warning: policy.json: relays.spare: lists no relays: entries that use only this "
	       "group reach nothing",);
	assert_int_equal(p.n_groups, 1);
	sg_policy_free(&p);
}

/* ---- syntax and structure ------------------------------------------- */

static void test_syntax_error(void **state)
{
	(void)state;
	REFUSED("{'mode': 'enforce',}",
		"error: policy.json: line 1, column 20: string or '}' expected near '}'");
	REFUSED("", "error: policy.json: line 1, column 0: '[' or '{' expected near end of file");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	REFUSED("{'mode':'enforce','mode':'monitor'}",
		"error: policy.json: line 1, column 24: duplicate object key near '\"mode\"'");
}

static void test_top_level_not_object(void **state)
{
	(void)state;
	REFUSED("[1, 2]", "error: policy.json: the top level must be a JSON object ({...})");
}

static void test_unknown_keys_everywhere(void **state)
{
	(void)state;
	REFUSED("{'mdoe': 'enforce', 'colour': 1}",
		"error: policy.json: unknown key \"mdoe\" (did you mean \"mode\"?)",
		"error: policy.json: unknown key \"colour\"");
	REFUSED("{'relays': {'r': [{'addr': '192.0.2.1', 'port': [25]}]}}",
		"error: policy.json: relays.r[0]: unknown key \"port\" (did you mean \"ports\"?)");
	REFUSED("{'rate_classes': {'c': {'conn_per_second': 1}}}",
		"error: policy.json: rate_classes.c: unknown key \"conn_per_second\" "
		"(did you mean \"conn_per_sec\"?)");
	REFUSED("{'unregistered': {'action': 'drop', 'why': 'x'}}",
		"error: policy.json: unregistered: unknown key \"why\"");
	REFUSED("{'ban': {'violations': 1, 'window_sec': 1, 'duration_sec': 1, 'windows': 2}}",
		"error: policy.json: ban: unknown key \"windows\"");
	REFUSED("{'relays': {'r': []}, 'relay_cap': {'r': {'conn_per_sec': 1, 'burst': 2}}}",
		"warning: policy.json: relays.r: lists no relays: entries that use only this "
		"group reach nothing",
		"error: policy.json: relay_cap.r: unknown key \"burst\"");
	REFUSED("{" RELAYS ", 'trusted': [{'addr': '198.18.0.1', 'relays': ['r'],"
		" 'ticket': 'T', 'owner': 'o', 'comment': 'x'}]}",
		"error: policy.json: trusted[0]: unknown key \"comment\"");
}

static void test_wrong_types(void **state)
{
	(void)state;
	REFUSED("{'mode': 1, 'ports': 25, 'scope': '10.0.0.0/8', 'relays': [], "
		"'rate_classes': [], 'unregistered': 'drop', 'ban': 1, 'relay_cap': [],"
		" 'trusted': {}, 'events': []}",
		"error: policy.json: mode: must be a string, not 1",
		"error: policy.json: ports: must be an array, not 25",
		"error: policy.json: scope: must be an array, not \"10.0.0.0/8\"",
		"error: policy.json: rate_classes: must be an object, not an array",
		"error: policy.json: relays: must be an object, not an array",
		"error: policy.json: relay_cap: must be an object, not an array",
		"error: policy.json: unregistered: must be an object, not \"drop\"",
		"error: policy.json: ban: must be an object, not 1",
		"error: policy.json: events: must be an object, not an array",
		"error: policy.json: trusted: must be an array, not an object");
}

/* ---- mode, ports, scope --------------------------------------------- */

static void test_mode_invalid(void **state)
{
	(void)state;
	REFUSED("{'mode': 'enforcing'}",
		"error: policy.json: mode: \"enforcing\" is not one of enforce, monitor");
}

static void test_ports_invalid(void **state)
{
	(void)state;
	REFUSED("{'ports': []}",
		"error: policy.json: ports: must list at least one port (leave it out for the "
		"default, [25])");
	REFUSED("{'ports': [0, 70000, '25', 25.0, -1]}",
		"error: policy.json: ports[0]: must be a port number from 1 to 65535, not 0",
		"error: policy.json: ports[1]: must be a port number from 1 to 65535, not 70000",
		"error: policy.json: ports[2]: must be a port number from 1 to 65535, not \"25\"",
		"error: policy.json: ports[3]: must be a port number from 1 to 65535, not 25",
		"error: policy.json: ports[4]: must be a port number from 1 to 65535, not -1");
	REFUSED("{'ports': [25, 587, 25]}",
		"error: policy.json: ports[2]: 25 is listed twice (ports[0] and ports[2])");
}

static void test_scope_invalid(void **state)
{
	(void)state;
	REFUSED("{'scope': []}",
		"error: policy.json: scope: must list at least one prefix (leave it out to govern "
		"every source)");
	REFUSED("{'scope': ['10.0.0.300/8', '10.1.2.3/16', 5, '2001:db8::/129']}",
		"error: policy.json: scope[0]: \"10.0.0.300/8\" is not an IP prefix",
		"error: policy.json: scope[1]: \"10.1.2.3/16\" has host bits set (did you mean "
		"10.1.0.0/16?)",
		"error: policy.json: scope[2]: must be a prefix (a string), not 5",
		"error: policy.json: scope[3]: \"2001:db8::/129\": prefix length must be 0-128");
	REFUSED("{'scope': ['10.0.0.0/8', '2001:db8::/32', '10.0.0.0/8']}",
		"error: policy.json: scope[2]: 10.0.0.0/8 is listed twice (scope[0] and scope[2])");
}

static void test_scope_too_many(void **state)
{
	size_t n = SG_MAX_SCOPE + 1, off;
	char *json = malloc(n * 24 + 32);

	(void)state;
	off = (size_t)sprintf(json, "{'scope': [");
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(json + off, "%s'10.%zu.%zu.0/24'", i ? "," : "",
				       i / 256, i % 256);
	sprintf(json + off, "]}");
	REFUSED(json, "error: policy.json: scope: lists 4097 prefixes, at most 4096");
	free(json);
}

/* ---- relays --------------------------------------------------------- */

static void test_relays_invalid(void **state)
{
	(void)state;
	REFUSED("{'relays': {'bad name': [], 'ok': {}}}",
		"error: policy.json: relays[\"bad name\"]: \"bad name\" is not a valid name "
		"(1 to 63 of A-Z a-z 0-9 _ . -)",
		"error: policy.json: relays.ok: must be an array of relays, not an object");
	REFUSED("{'relays': {'r': [{'addr': '10.0.0.0/24'}, {'addr': 'mail.example.org'},"
		" {'ports': [25]}, '192.0.2.1']}}",
		"error: policy.json: relays.r[0].addr: \"10.0.0.0/24\" is a prefix; a relay is one "
		"address",
		"error: policy.json: relays.r[1].addr: \"mail.example.org\" is not an IP address",
		"error: policy.json: relays.r[2].addr: missing (required)",
		"error: policy.json: relays.r[3]: must be an object like {\"addr\": "
		"\"192.0.2.25\"}, not \"192.0.2.1\"");
}

static void test_relay_ports(void **state)
{
	struct sg_policy p;

	(void)state;
	REFUSED("{'ports': [25, 465], 'relays': {'r': [{'addr': '192.0.2.1',"
		" 'ports': [465, 2525, 465, 0]}, {'addr': '192.0.2.2', 'ports': []}]}}",
		"error: policy.json: relays.r[0].ports[1]: 2525 is not a governed port (add it to "
		"\"ports\")",
		"error: policy.json: relays.r[0].ports[2]: 465 is listed twice",
		"error: policy.json: relays.r[0].ports[3]: must be a port number from 1 to 65535, "
		"not 0",
		"error: policy.json: relays.r[1].ports: must list at least one port (leave it out "
		"for every governed port)");
	LOADED("{'ports': [25, 465], 'relays': {'r': [{'addr': '192.0.2.1', 'ports': [465]}]}}",
	       &p);
	assert_int_equal(p.groups[0].relays[0].n_ports, 1);
	assert_int_equal(p.groups[0].relays[0].ports[0], 465);
	sg_policy_free(&p);
}

static void test_relay_duplicate(void **state)
{
	struct sg_policy p;

	(void)state;
	REFUSED("{'relays': {'r': [{'addr': '192.0.2.1'}, {'addr': '2001:db8::1'},"
		" {'addr': '192.0.2.1'}]}}",
		"error: policy.json: relays.r[2].addr: 192.0.2.1 is listed twice (r[0] and r[2])");
	/* The same relay in two groups is fine: it serves both. */
	LOADED("{'relays': {'a': [{'addr': '192.0.2.1'}], 'b': [{'addr': '192.0.2.1'}]}}", &p);
	sg_policy_free(&p);
}

static void test_groups_limit(void **state)
{
	char *json = malloc(64 * 80 + 64);
	struct sg_policy p;
	size_t off;

	(void)state;
	for (int n = 64; n <= 65; n++) {
		off = (size_t)sprintf(json, "{'relays': {");
		for (int i = 0; i < n; i++)
			off += (size_t)sprintf(json + off, "%s'g%d': [{'addr': '192.0.2.%d'}]",
					       i ? "," : "", i, i + 1);
		sprintf(json + off, "}}");
		if (n == 64) {
			LOADED(json, &p);
			assert_int_equal(p.n_groups, 64);
			sg_policy_free(&p);
		} else {
			REFUSED(json, "error: policy.json: relays: defines 65 groups, at most 64");
		}
	}
	free(json);
}

static void test_relay_keys_limit(void **state)
{
	size_t n = SG_MAX_RELAY_KEYS + 1, off;
	char *json = malloc(n * 24 + 64);

	(void)state;
	off = (size_t)sprintf(json, "{'relays': {'big': [");
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(json + off, "%s{'addr': '10.0.%zu.%zu'}", i ? "," : "",
				       i / 250, i % 250 + 1);
	sprintf(json + off, "]}}");
	REFUSED(json, "error: policy.json: relays: 16385 (address, port) pairs, at most 16384");
	free(json);
}

/* ---- rate classes --------------------------------------------------- */

static void test_classes_invalid(void **state)
{
	(void)state;
	REFUSED("{'rate_classes': {'c': {'conn_burst': 5, 'bytes_burst': 1000}}}",
		"error: policy.json: rate_classes.c.conn_burst: set without conn_per_sec "
		"(a burst needs a rate)",
		"error: policy.json: rate_classes.c.bytes_burst: set without bytes_per_sec "
		"(a burst needs a rate)");
	REFUSED("{'rate_classes': {'c': {'bytes_per_sec': 500}}}",
		"error: policy.json: rate_classes.c.bytes_per_sec: 500 is below the minimum of "
		"1000");
	REFUSED("{'rate_classes': {'c': {'conn_per_sec': 0, 'bytes_per_sec': -5}}}",
		"error: policy.json: rate_classes.c.conn_per_sec: must be greater than 0, not 0",
		"error: policy.json: rate_classes.c.bytes_per_sec: must be greater than 0, not -5");
	REFUSED("{'rate_classes': {'c': {'conn_per_sec': 1, 'conn_burst': 0}}}",
		"error: policy.json: rate_classes.c.conn_burst: must be greater than 0, not 0");
	REFUSED("{'rate_classes': {'c': {'conn_per_sec': 0.0001}}}",
		"error: policy.json: rate_classes.c.conn_per_sec: 0.0001 is below the minimum of "
		"0.001");
	REFUSED("{'rate_classes': {'c': {'conn_per_sec': 1, 'conn_burst': 100000}}}",
		"error: policy.json: rate_classes.c.conn_burst: 100000 is more than a day's worth "
		"of conn_per_sec (at most 86400)");
	REFUSED("{'rate_classes': {'c': {'conn_per_sec': '10'}}}",
		"error: policy.json: rate_classes.c.conn_per_sec: must be a number, not \"10\"");
	REFUSED("{'rate_classes': {'a/b': {}, 'c': 5}}",
		"error: policy.json: rate_classes[\"a/b\"]: \"a/b\" is not a valid name "
		"(1 to 63 of A-Z a-z 0-9 _ . -)",
		"error: policy.json: rate_classes.c: must be an object, not 5");
}

/* The data plane's clock ticks every 1-10 ms: a burst must cover 20 ms. */
static void test_burst_too_short(void **state)
{
	(void)state;
	REFUSED("{'rate_classes': {'c': {'conn_per_sec': 1000, 'conn_burst': 10}}}",
		"error: policy.json: rate_classes.c.conn_burst: 10 is less than 20 ms' worth of "
		"conn_per_sec (at least 20)");
	REFUSED("{'rate_classes': {'c': {'bytes_per_sec': 1000000, 'bytes_burst': 1000}}}",
		"error: policy.json: rate_classes.c.bytes_burst: 1000 is less than 20 ms' worth "
		"of bytes_per_sec (at least 20000)");
}

/* Prefix tables are probed once per distinct length: 16 at most (hosts,
 * in their own table, do not count). */
static void test_prefix_lens_limit(void **state)
{
	char *json = malloc(8192);
	size_t off;
	struct sg_policy p;

	(void)state;
	off = (size_t)sprintf(json, "{'relays': {'g': [{'addr': '198.18.0.25'}]}, 'trusted': [");
	for (int len = 8; len <= 24; len++) /* 17 lengths */
		off += (size_t)sprintf(json + off, "%s{'addr': '10.0.0.0/%d', 'relays': ['g'], "
				       "'ticket': 'T', 'owner': 'o'}", len > 8 ? "," : "", len);
	off += (size_t)sprintf(json + off, ",{'addr': '10.9.9.9', 'relays': ['g'], "
			       "'ticket': 'T', 'owner': 'o'}]}");
	REFUSED(json, "error: policy.json: trusted: uses 17 distinct prefix lengths, at most 16 "
		"(each length costs the data plane one probe per packet)");
	/* 16 lengths and a host: fine. */
	off = (size_t)sprintf(json, "{'relays': {'g': [{'addr': '198.18.0.25'}]}, 'trusted': [");
	for (int len = 9; len <= 24; len++)
		off += (size_t)sprintf(json + off, "%s{'addr': '10.0.0.0/%d', 'relays': ['g'], "
				       "'ticket': 'T', 'owner': 'o'}", len > 9 ? "," : "", len);
	sprintf(json + off, ",{'addr': '10.9.9.9', 'relays': ['g'], 'ticket': 'T', 'owner': 'o'}]}");
	LOADED(json, &p);
	assert_int_equal(p.n_trusted, 17);
	sg_policy_free(&p);
	off = (size_t)sprintf(json, "{'scope': [");
	for (int len = 8; len <= 24; len++)
		off += (size_t)sprintf(json + off, "%s'10.0.0.0/%d'", len > 8 ? "," : "", len);
	sprintf(json + off, "]}");
	REFUSED(json, "error: policy.json: scope: uses 17 distinct prefix lengths, at most 16 "
		"(each length costs the data plane one probe per packet)");
	free(json);
}

static void test_classes_limit(void **state)
{
	char *json = malloc(65 * 32 + 64);
	size_t off;

	(void)state;
	off = (size_t)sprintf(json, "{'rate_classes': {");
	for (int i = 0; i < 65; i++)
		off += (size_t)sprintf(json + off, "%s'c%d': {}", i ? "," : "", i);
	sprintf(json + off, "}}");
	REFUSED(json, "error: policy.json: rate_classes: defines 65 classes, at most 64");
	free(json);
}

/* ---- unregistered, ban, relay_cap ----------------------------------- */

static void test_unregistered_invalid(void **state)
{
	struct sg_policy p;

	(void)state;
	REFUSED("{'unregistered': {'action': 'throttle'}}",
		"error: policy.json: unregistered.rate: required when action is \"throttle\" "
		"(the rate class of the allowance)");
	REFUSED("{'rate_classes': {'slow': {}}, 'unregistered': {'action': 'drop', "
		"'rate': 'slow'}}",
		"error: policy.json: unregistered.rate: only allowed when action is \"throttle\"");
	REFUSED("{'rate_classes': {'slow': {}}, 'unregistered': {'action': 'throttle', "
		"'rate': 'fast'}}",
		"error: policy.json: unregistered.rate: no rate class named \"fast\" "
		"(defined: slow)");
	REFUSED("{'unregistered': {'action': 'block'}}",
		"error: policy.json: unregistered.action: \"block\" is not one of drop, reject, "
		"throttle");
	REFUSED("{'unregistered': {}}",
		"error: policy.json: unregistered.action: missing (required)");
	LOADED("{'rate_classes': {'a': {}, 'slow': {'conn_per_sec': 1}},"
	       " 'unregistered': {'action': 'throttle', 'rate': 'slow'}}", &p);
	assert_int_equal(p.unreg_action, SG_UNREG_THROTTLE);
	assert_int_equal(p.unreg_class, 1);
	sg_policy_free(&p);
	LOADED("{'rate_classes': {'open': {}}, 'unregistered': {'action': 'throttle',"
	       " 'rate': 'open'}}", &p,
	       "warning: policy.json: unregistered.rate: class \"open\" sets no limit: "
	       "unregistered sources may use approved relays without any limit",);
	assert_int_equal(p.unreg_class, 0);
	sg_policy_free(&p);
}

static void test_ban_invalid(void **state)
{
	(void)state;
	REFUSED("{'ban': {'violations': 0, 'window_sec': 0, 'duration_sec': -1}}",
		"error: policy.json: ban.violations: must be an integer from 1 to 1000000, not 0",
		"error: policy.json: ban.window_sec: must be greater than 0, not 0",
		"error: policy.json: ban.duration_sec: -1 is below the minimum of 0");
	REFUSED("{'ban': {}}",
		"error: policy.json: ban.violations: missing (required)",
		"error: policy.json: ban.window_sec: missing (required)",
		"error: policy.json: ban.duration_sec: missing (required)");
	REFUSED("{'ban': {'violations': 2.5, 'window_sec': 1, 'duration_sec': 1}}",
		"error: policy.json: ban.violations: must be an integer from 1 to 1000000, not 2.5");
}

/* Every number that becomes nanoseconds in the data plane is bounded so
 * that the conversion cannot wrap 64 bits: at the maxima the compiled
 * values are exact, and one step beyond each maximum is refused. */
static void test_ns_conversions_bounded(void **state)
{
	struct sg_config *cfg = calloc(1, sizeof(*cfg));
	struct sg_policy p;

	(void)state;
	assert_non_null(cfg);
	REFUSED("{'ban': {'violations': 1, 'window_sec': 86401, 'duration_sec': 315360001},"
		" 'events': {'interval_sec': 3601}}",
		"error: policy.json: ban.window_sec: 86401 is above the maximum of 86400",
		"error: policy.json: ban.duration_sec: 315360001 is above the maximum of 315360000",
		"error: policy.json: events.interval_sec: 3601 is above the maximum of 3600");
	LOADED("{'ban': {'violations': 1000000, 'window_sec': 86400, 'duration_sec': 315360000},"
	       " 'events': {'interval_sec': 3600},"
	       " 'rate_classes': {'slow': {'conn_per_sec': 0.001, 'conn_burst': 86.4,"
	       " 'bytes_per_sec': 1000, 'bytes_burst': 86400000},"
	       " 'fast': {'conn_per_sec': 1e9, 'conn_burst': 8.64e13,"
	       " 'bytes_per_sec': 1e12, 'bytes_burst': 8.64e16}}}", &p, );
	sg_compile_config(&p, 1, cfg);
	assert_true(cfg->ban_window_ns == 86400ull * 1000000000ull);
	assert_true(cfg->ban_duration_ns == 315360000ull * 1000000000ull);
	assert_true(cfg->event_interval_ns == 3600ull * 1000000000ull);
	for (size_t i = 0; i < p.n_classes; i++) {
		const struct sg_rate *r = &cfg->classes[i];

		/* A day's burst at most, and costs that a 256 KiB packet (a
		 * big GSO one on TC) cannot overflow when multiplied. */
		assert_true(r->conn_tau_ns > 0 && r->conn_tau_ns <= 86400ull * 1000000000ull);
		assert_true(r->byte_tau_ns > 0 && r->byte_tau_ns <= 86400ull * 1000000000ull);
		assert_true(r->conn_cost > 0 && r->conn_cost <= UINT64_MAX / 2);
		assert_true(r->byte_cost > 0 && r->byte_cost <= UINT64_MAX / (256u << 10));
	}
	/* The slowest class: 1000 s per connection, scaled, exactly. */
	assert_true(cfg->classes[0].conn_cost == 1000000000000ull << SG_RATE_SHIFT ||
		    cfg->classes[1].conn_cost == 1000000000000ull << SG_RATE_SHIFT);
	sg_policy_free(&p);
	free(cfg);
}

static void test_relay_cap_invalid(void **state)
{
	(void)state;
	REFUSED("{" RELAYS ", 'relay_cap': {'nosuch': {'conn_per_sec': 1}, 'r': {}}}",
		"error: policy.json: relay_cap.nosuch: no relay group named \"nosuch\" "
		"(defined: r)",
		"error: policy.json: relay_cap.r.conn_per_sec: missing (required)");
}

/* ---- trusted -------------------------------------------------------- */

/* The issue's own example message. */
static void test_trusted_bad_prefix(void **state)
{
	(void)state;
	REFUSED("{" RELAYS ", 'trusted': [" ENTRY("10.0.0.1") "," ENTRY("10.0.0.2") ","
		ENTRY("10.0.0.3") "," ENTRY("10.0.0.300") "]}",
		"error: policy.json: trusted[3].addr: \"10.0.0.300\" is not an IP prefix");
}

static void test_trusted_host_bits(void **state)
{
	(void)state;
	REFUSED("{" RELAYS ", 'trusted': [" ENTRY("10.20.1.5/24") "," ENTRY("2001:db8::1/64") "]}",
		"error: policy.json: trusted[0].addr: \"10.20.1.5/24\" has host bits set (did you "
		"mean 10.20.1.0/24?)",
		"error: policy.json: trusted[1].addr: \"2001:db8::1/64\" has host bits set (did you "
		"mean 2001:db8::/64?)");
}

static void test_trusted_relays_invalid(void **state)
{
	(void)state;
	REFUSED("{" RELAYS ", 'trusted': [{'addr': '10.0.0.1', 'relays': [], 'ticket': 'T',"
		" 'owner': 'o'}, {'addr': '10.0.0.2', 'relays': ['r', 'nosuch', 'r', 7],"
		" 'ticket': 'T', 'owner': 'o'}, {'addr': '10.0.0.3', 'ticket': 'T', 'owner': 'o'},"
		" {'addr': '10.0.0.4', 'relays': 'r', 'ticket': 'T', 'owner': 'o'}]}",
		"error: policy.json: trusted[0].relays: must name at least one relay group",
		"error: policy.json: trusted[1].relays[1]: no relay group named \"nosuch\" "
		"(defined: r)",
		"error: policy.json: trusted[1].relays[2]: \"r\" is listed twice",
		"error: policy.json: trusted[1].relays[3]: must be a relay group name, not 7",
		"error: policy.json: trusted[2].relays: missing (required)",
		"error: policy.json: trusted[3].relays: must be an array, not \"r\"");
	REFUSED("{'trusted': [{'addr': '10.0.0.1', 'relays': ['r'], 'ticket': 'T',"
		" 'owner': 'o'}]}",
		"error: policy.json: trusted[0].relays[0]: no relay group named \"r\" "
		"(the policy defines none)");
}

static void test_trusted_rate_invalid(void **state)
{
	(void)state;
	REFUSED("{" RELAYS ", 'rate_classes': {'default': {}, 'bulk': {}}, 'trusted': ["
		"{'addr': '10.0.0.1', 'relays': ['r'], 'rate': 'fast', 'ticket': 'T', 'owner': 'o'},"
		"{'addr': '10.0.0.2', 'relays': ['r'], 'rate': 5, 'ticket': 'T', 'owner': 'o'}]}",
		"error: policy.json: trusted[0].rate: no rate class named \"fast\" "
		"(defined: default, bulk)",
		"error: policy.json: trusted[1].rate: must be a rate class name or null, not 5");
}

static void test_trusted_required_text(void **state)
{
	(void)state;
	REFUSED("{" RELAYS ", 'trusted': [{'addr': '10.0.0.1', 'relays': ['r']},"
		" {'addr': '10.0.0.2', 'relays': ['r'], 'ticket': '', 'owner': ''},"
		" {'addr': '10.0.0.3', 'relays': ['r'], 'ticket': 42, 'owner': null},"
		" {'relays': ['r'], 'ticket': 'T', 'owner': 'o'}]}",
		"error: policy.json: trusted[0].ticket: missing (required)",
		"error: policy.json: trusted[0].owner: missing (required)",
		"error: policy.json: trusted[1].ticket: must not be empty",
		"error: policy.json: trusted[1].owner: must not be empty",
		"error: policy.json: trusted[2].ticket: must be a string, not 42",
		"error: policy.json: trusted[2].owner: must be a string, not null",
		"error: policy.json: trusted[3].addr: missing (required)");
}

static void test_trusted_text_limits(void **state)
{
	char json[4096], t65[66], o129[130], c257[258], n513[514];
	struct sg_policy p;

	(void)state;
	memset(t65, 'T', 65);
	t65[65] = '\0';
	memset(o129, 'o', 129);
	o129[129] = '\0';
	memset(c257, 'c', 257);
	c257[257] = '\0';
	memset(n513, 'n', 513);
	n513[513] = '\0';
	snprintf(json, sizeof(json), "{" RELAYS ", 'trusted': [{'addr': '10.0.0.1',"
		 " 'relays': ['r'], 'ticket': '%s', 'owner': '%s', 'contact': '%s', 'note': '%s'}]}",
		 t65, o129, c257, n513);
	REFUSED(json,
		"error: policy.json: trusted[0].ticket: is 65 characters long, at most 64",
		"error: policy.json: trusted[0].owner: is 129 characters long, at most 128",
		"error: policy.json: trusted[0].contact: is 257 characters long, at most 256",
		"error: policy.json: trusted[0].note: is 513 characters long, at most 512");
	/* At the limits, and counted in characters, not bytes. */
	t65[64] = '\0';
	o129[128] = '\0';
	snprintf(json, sizeof(json), "{" RELAYS ", 'trusted': [{'addr': '10.0.0.1',"
		 " 'relays': ['r'], 'ticket': '%s', 'owner': '%s',"
		 " 'note': '\xc3\xa9\xc3\xa9\xc3\xa9'}]}", t65, o129);
	LOADED(json, &p);
	assert_int_equal(strlen(p.trusted[0].ticket), 64);
	assert_string_equal(sg_entry_note(&p.trusted[0]), "\xc3\xa9\xc3\xa9\xc3\xa9");
	sg_policy_free(&p);
}

static void test_trusted_control_chars(void **state)
{
	(void)state;
	REFUSED("{" RELAYS ", 'trusted': [{'addr': '10.0.0.1', 'relays': ['r'],"
		" 'ticket': 'T-1\\nforged line', 'owner': 'o\\u0085'}]}",
		"error: policy.json: trusted[0].ticket: must not contain control characters",
		"error: policy.json: trusted[0].owner: must not contain control characters");
}

static void test_trusted_expires_invalid(void **state)
{
	(void)state;
	REFUSED("{" RELAYS ", 'trusted': [{'addr': '10.0.0.1', 'relays': ['r'], 'ticket': 'T',"
		" 'owner': 'o', 'expires': '2027-06-30'}, {'addr': '10.0.0.2', 'relays': ['r'],"
		" 'ticket': 'T', 'owner': 'o', 'expires': 1814313600}]}",
		"error: policy.json: trusted[0].expires: \"2027-06-30\" is not an RFC 3339 time "
		"(like 2027-06-30T00:00:00Z)",
		"error: policy.json: trusted[1].expires: must be a string, not 1814313600");
}

/* Dates the data plane's nanosecond clock cannot hold are refused, not
 * wrapped (a 9999 "never" used to expire at once); "never" is no
 * "expires" at all. */
static void test_trusted_expires_after_2262(void **state)
{
	struct sg_policy p;

	(void)state;
	REFUSED("{" RELAYS ", 'trusted': [{'addr': '10.0.0.1', 'relays': ['r'], 'ticket': 'T',"
		" 'owner': 'o', 'expires': '9999-12-31T23:59:59Z'}, {'addr': '10.0.0.2',"
		" 'relays': ['r'], 'ticket': 'T', 'owner': 'o', 'expires': '2262-01-01T00:00:01Z'}]}",
		"error: policy.json: trusted[0].expires: 9999-12-31T23:59:59Z is after "
		"2262-01-01T00:00:00Z, the last expiry the data plane's clock can hold; for an "
		"entry that never expires, leave \"expires\" out",
		"error: policy.json: trusted[1].expires: 2262-01-01T00:00:01Z is after "
		"2262-01-01T00:00:00Z, the last expiry the data plane's clock can hold; for an "
		"entry that never expires, leave \"expires\" out");
	LOADED("{" RELAYS ", 'trusted': [{'addr': '10.0.0.1', 'relays': ['r'], 'ticket': 'T',"
	       " 'owner': 'o', 'expires': '2262-01-01T00:00:00Z'}]}", &p, );
	assert_int_equal(p.trusted[0].expires, 9214646400LL);
	sg_policy_free(&p);
}

static void test_trusted_duplicates(void **state)
{
	(void)state;
	/* The same prefix however it is written ("/32"); IPv4-mapped text
	 * is refused outright (test_v4_alias_refused). */
	REFUSED("{" RELAYS ", 'trusted': [" ENTRY("10.20.1.5") "," ENTRY("10.20.1.0/24") ","
		ENTRY("10.20.1.5/32") "," ENTRY("2001:db8::/32") "," ENTRY("::ffff:10.20.1.5") ","
		ENTRY("2001:db8:0::/32") "]}",
		"error: policy.json: trusted[4].addr: \"::ffff:10.20.1.5\" is an IPv4-mapped IPv6 "
		"address, which smtpgate treats as the IPv4 address 10.20.1.5: write 10.20.1.5 "
		"instead",
		"error: policy.json: trusted[2].addr: 10.20.1.5 is listed twice (trusted[0] and "
		"trusted[2])",
		"error: policy.json: trusted[5].addr: 2001:db8::/32 is listed twice (trusted[3] and "
		"trusted[5])");
}

/* IPv4 is kept as ::ffff:a.b.c.d, so an IPv6 prefix over ::ffff:0:0/96
 * would silently take in IPv4 sources: refused everywhere a prefix or
 * address is written, naming the JSON path and what to write. */
#define OVER_V4(text) "\"" text "\" contains ::ffff:0:0/96, where smtpgate keeps IPv4 " \
	"addresses, so it would match every IPv4 source as well: write IPv6 prefixes that " \
	"leave ::ffff:0:0/96 out (2000::/3 is all global unicast IPv6) and IPv4 prefixes for " \
	"IPv4 (0.0.0.0/0 is all of it)"

static void test_v4_alias_refused(void **state)
{
	(void)state;
	REFUSED("{'scope': ['::/0', '::ffff:10.20.0.0/112']}",
		"error: policy.json: scope[0]: " OVER_V4("::/0"),
		"error: policy.json: scope[1]: \"::ffff:10.20.0.0/112\" is an IPv4-mapped IPv6 "
		"prefix, which smtpgate treats as the IPv4 prefix 10.20.0.0/16: write 10.20.0.0/16 "
		"instead");
	REFUSED("{'relays': {'r': [{'addr': '::ffff:192.0.2.25'}]}}",
		"error: policy.json: relays.r[0].addr: \"::ffff:192.0.2.25\" is an IPv4-mapped IPv6 "
		"address, which smtpgate treats as the IPv4 address 192.0.2.25: write 192.0.2.25 "
		"instead");
	REFUSED("{" RELAYS ", 'trusted': [" ENTRY("2001:db8::/32") "," ENTRY("::/64") ","
		ENTRY("10.0.0.0/ 8") "]}",
		"error: policy.json: trusted[1].addr: " OVER_V4("::/64"),
		"error: policy.json: trusted[2].addr: \"10.0.0.0/ 8\": prefix length must be 0-32");
}

static void test_trusted_not_object(void **state)
{
	(void)state;
	REFUSED("{'trusted': ['10.0.0.1']}",
		"error: policy.json: trusted[0]: must be an object, not \"10.0.0.1\"");
}

static void test_trusted_too_many(void **state)
{
	size_t n = SG_MAX_TRUSTED + 1, off;
	char *json = malloc(n * 3 + 32), want[128];

	(void)state;
	off = (size_t)sprintf(json, "{'trusted': [");
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(json + off, "%s{}", i ? "," : "");
	sprintf(json + off, "]}");
	snprintf(want, sizeof(want), "error: policy.json: trusted: lists %d entries, at most %d",
		 SG_MAX_TRUSTED + 1, SG_MAX_TRUSTED);
	REFUSED(json, want);
	free(json);
}

/* Errors in several sections are all reported, not just the first. */
static void test_all_problems_reported(void **state)
{
	struct sg_diag d = { 0 };
	struct sg_policy p;

	(void)state;
	assert_int_equal(parse("{'mode': 'x', 'ports': [0], 'scope': ['x'], 'relays': {'r': 1},"
			       " 'rate_classes': {'c': {'conn_burst': 1}}, 'unregistered': {},"
			       " 'ban': {}, 'trusted': [{}], 'events': {'interval_sec': -1}}",
			       &p, &d), -1);
	assert_int_equal(d.n_errors, 14);
	assert_int_equal(d.n, 14);
	sg_diag_free(&d);
}

/* A NULL diag still refuses (the count is kept internally). */
static void test_null_diag(void **state)
{
	struct sg_policy p;
	const char *bad = "{\"mode\": \"x\"}";

	(void)state;
	assert_int_equal(sg_policy_parse("policy.json", bad, strlen(bad), &opts, &p, NULL), -1);
}

/* ---- files ---------------------------------------------------------- */

static void test_load_file_and_sha256(void **state)
{
	const char *path = write_file("policy.json", "{}", 0644);
	struct sg_diag d = { 0 };
	struct sg_policy p;
	char sha[65];

	(void)state;
	assert_int_equal(sg_policy_load(path, &opts, &p, sha, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(sha, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
	assert_int_equal(p.n_ports, 1);
	sg_policy_free(&p);
}

/* Messages about content name the file by its basename. */
static void test_load_uses_basename(void **state)
{
	const char *path = write_file("site.json", "{\"mode\": \"on\"}", 0644);

	(void)state;
	assert_int_equal(LOAD(path, &opts,
			      "error: site.json: mode: \"on\" is not one of enforce, monitor",), -1);
}

static void test_load_missing(void **state)
{
	char path[256], want[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/nosuch.json", tmpdir);
	snprintf(want, sizeof(want), "error: %s: no such file", path);
	assert_int_equal(LOAD(path, &opts, want,), -1);
}

static void test_load_symlink_refused(void **state)
{
	char link[256], want[512];
	const char *path = write_file("real.json", "{}", 0644);

	(void)state;
	snprintf(link, sizeof(link), "%s/link.json", tmpdir);
	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	snprintf(want, sizeof(want), "error: %s: is a symbolic link; refusing to follow it "
		 "(name the file itself)", link);
	assert_int_equal(LOAD(link, &opts, want,), -1);
}

static void test_load_writable_refused(void **state)
{
	static const struct {
		mode_t mode;
		const char *what;
	} cases[] = {
		{ 0664, "group-writable (mode 0664)" },
		{ 0646, "world-writable (mode 0646)" },
		{ 0666, "group- and world-writable (mode 0666)" },
	};
	char want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_file("policy.json", "{}", cases[i].mode);

		snprintf(want, sizeof(want), "error: %s: is %s, so others could change what it "
			 "allows; fix with: chmod go-w %s", path, cases[i].what, path);
		assert_int_equal(LOAD(path, &opts, want,), -1);
	}
	/* Read-only for everyone is fine. */
	assert_int_equal(LOAD(write_file("policy.json", "{}", 0444), &opts,), 0);
}

static void test_load_owner(void **state)
{
	const char *path = write_file("policy.json", "{}", 0644);
	struct sg_load_opts strict = { .now_unix = NOW };
	char want[512];

	(void)state;
	assert_int_equal(LOAD(path, &strict,), 0);     /* root-owned */
	assert_int_equal(chown(path, 1, 1), 0);
	snprintf(want, sizeof(want), "error: %s: is owned by uid 1, not root; fix with: "
		 "chown root %s", path, path);
	assert_int_equal(LOAD(path, &strict, want,), -1);
	assert_int_equal(LOAD(path, &opts,), 0);       /* allow_any_owner */
}

static void test_load_not_regular(void **state)
{
	char dir[256], fifo[256], want[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/dir.json", tmpdir);
	mkdir(dir, 0755);
	snprintf(want, sizeof(want), "error: %s: is a directory, not a file", dir);
	assert_int_equal(LOAD(dir, &opts, want,), -1);
	snprintf(fifo, sizeof(fifo), "%s/fifo.json", tmpdir);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	snprintf(want, sizeof(want), "error: %s: is not a regular file", fifo);
	assert_int_equal(LOAD(fifo, &opts, want,), -1);    /* and does not hang */
}

static void test_load_too_large(void **state)
{
	const char *path = write_file("huge.json", "", 0644);
	char want[512];
	int fd = open(path, O_WRONLY);

	(void)state;
	/* Sparse: costs no disk. */
	assert_int_equal(ftruncate(fd, (off_t)SG_MAX_FILE_BYTES + 1), 0);
	close(fd);
	snprintf(want, sizeof(want), "error: %s: is %lld bytes, larger than the limit of %u MiB",
		 path, (long long)SG_MAX_FILE_BYTES + 1, SG_MAX_FILE_BYTES >> 20);
	assert_int_equal(LOAD(path, &opts, want,), -1);
	unlink(path);
}

static void test_open_trusted_file_codes(void **state)
{
	struct sg_err err = { 0 };
	char link[256];
	const char *path = write_file("codes.json", "{}", 0600);
	int fd = sg_open_trusted_file(path, &opts, &err);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(link, sizeof(link), "%s/codes-link.json", tmpdir);
	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(sg_open_trusted_file(link, &opts, &err), -ELOOP);
	assert_int_equal(err.code, -ELOOP);
	chmod(path, 0620);
	assert_int_equal(sg_open_trusted_file(path, &opts, &err), -EPERM);
}

/* ---- sha256 (OpenSSL), FIPS 180-4 examples --------------------------- */

static void test_sha256_vectors(void **state)
{
	char hex[65], *million = malloc(1000000);

	(void)state;
	assert_int_equal(sg_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(sg_sha256_hex("", 0, hex), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(sg_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
				       56, hex), 0);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', 1000000);
	assert_int_equal(sg_sha256_hex(million, 1000000, hex), 0);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

/* ---- shared helpers --------------------------------------------------- */

static void test_valid_names(void **state)
{
	char n63[64], n64[65];

	(void)state;
	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	assert_true(sg_valid_name("internal"));
	assert_true(sg_valid_name("A-z_0.9"));
	assert_true(sg_valid_name(n63));
	assert_false(sg_valid_name(n64));
	assert_false(sg_valid_name(""));
	assert_false(sg_valid_name("a b"));
	assert_false(sg_valid_name("a/b"));
	assert_false(sg_valid_name("caf\xc3\xa9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_shipped_policies),
		cmocka_unit_test(test_throttle_example),
		cmocka_unit_test(test_invalid_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_monitor_and_reject),
		cmocka_unit_test(test_rate_default),
		cmocka_unit_test(test_burst_defaults),
		cmocka_unit_test(test_ban_until_removed),
		cmocka_unit_test(test_events_extension),
		cmocka_unit_test(test_expired_entry_is_a_warning),
		cmocka_unit_test(test_empty_group_is_a_warning),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_top_level_not_object),
		cmocka_unit_test(test_unknown_keys_everywhere),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_mode_invalid),
		cmocka_unit_test(test_ports_invalid),
		cmocka_unit_test(test_scope_invalid),
		cmocka_unit_test(test_scope_too_many),
		cmocka_unit_test(test_relays_invalid),
		cmocka_unit_test(test_relay_ports),
		cmocka_unit_test(test_relay_duplicate),
		cmocka_unit_test(test_groups_limit),
		cmocka_unit_test(test_relay_keys_limit),
		cmocka_unit_test(test_classes_invalid),
		cmocka_unit_test(test_classes_limit),
		cmocka_unit_test(test_burst_too_short),
		cmocka_unit_test(test_prefix_lens_limit),
		cmocka_unit_test(test_unregistered_invalid),
		cmocka_unit_test(test_ban_invalid),
		cmocka_unit_test(test_ns_conversions_bounded),
		cmocka_unit_test(test_relay_cap_invalid),
		cmocka_unit_test(test_trusted_bad_prefix),
		cmocka_unit_test(test_trusted_host_bits),
		cmocka_unit_test(test_trusted_relays_invalid),
		cmocka_unit_test(test_trusted_rate_invalid),
		cmocka_unit_test(test_trusted_required_text),
		cmocka_unit_test(test_trusted_text_limits),
		cmocka_unit_test(test_trusted_control_chars),
		cmocka_unit_test(test_trusted_expires_invalid),
		cmocka_unit_test(test_trusted_expires_after_2262),
		cmocka_unit_test(test_trusted_duplicates),
		cmocka_unit_test(test_v4_alias_refused),
		cmocka_unit_test(test_trusted_not_object),
		cmocka_unit_test(test_trusted_too_many),
		cmocka_unit_test(test_all_problems_reported),
		cmocka_unit_test(test_null_diag),
		cmocka_unit_test(test_load_file_and_sha256),
		cmocka_unit_test(test_load_uses_basename),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_load_symlink_refused),
		cmocka_unit_test(test_load_writable_refused),
		cmocka_unit_test(test_load_owner),
		cmocka_unit_test(test_load_not_regular),
		cmocka_unit_test(test_load_too_large),
		cmocka_unit_test(test_open_trusted_file_codes),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_valid_names),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
