// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet store without a server: smtpgate.json's "store" key (every
 * error at its JSON path), record keys and values as untrusted input,
 * base64, the in-memory state, and the local cache (round trip, another
 * site's cache, a tampered record).  The etcd client itself is tested
 * against a real cluster by tests/e2e/test_store_etcd.sh.
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
#include "load.h"
#include "store/base64.h"
#include "store/store.h"
#include "unit.h"

static const struct sg_load_opts opts = { .allow_any_owner = true };
static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	return ut_make_tmpdir(tmpdir, sizeof(tmpdir), "store");
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(tmpdir);
}

/* tmpdir/smtpgate.json holding json (single quotes become double). */
static const char *write_config(const char *json)
{
	return ut_write_json(tmpdir, "smtpgate.json", json, 0644);
}

static int load(const char *json, struct sg_host_config *c, const char *const *want)
{
	struct sg_diag d = { 0 };
	int rc;

	sg_host_config_init(c);
	rc = sg_config_load(write_config(json), &opts, c, &d);
	ut_check_diag(&d, want);
	sg_diag_free(&d);
	return rc;
}

static void expect_refused(const char *store, const char *const *want)
{
	struct sg_host_config c;
	char json[2048];

	snprintf(json, sizeof(json), "{'interfaces': [{'name': 'srv0', 'hook': 'xdp'}], "
		 "'store': %s}", store);
	assert_int_equal(load(json, &c, want), -1);
	assert_null(c.store);
	sg_host_config_free(&c);
}

#define REFUSED(store, ...) expect_refused((store), (const char *const[]){ __VA_ARGS__, NULL })
#define ETCD(rest) "{'etcd': {'endpoints': ['https://198.18.0.1:2379'], " rest "}}"
#define E "error: smtpgate.json: "

/* ---- the "store" key -------------------------------------------------- */

static void test_config_full(void **state)
{
	struct sg_host_config c;

	(void)state;
	assert_int_equal(load("{'interfaces': [{'name': 'srv0', 'hook': 'xdp'}], 'store': {'etcd': "
			      "{'endpoints': ['https://198.18.0.1:2379', 'https://etcd-2.example:2379/',"
			      " 'https://[2001:db8::3]:2379'], 'prefix': '/smtpgate/site-a/', 'tls': "
			      "{'ca': '/etc/smtpgate/ca.pem', 'cert': '/etc/smtpgate/gw.pem', 'key': "
			      "'/etc/smtpgate/gw-key.pem'}, 'username': 'gw-site-a', 'password_file': "
			      "'/etc/smtpgate/etcd-password', 'timeout_ms': 1500}}}", &c,
			      (const char *const[]){ NULL }), 0);
	assert_non_null(c.store);
	assert_int_equal(c.store->n_endpoints, 3);
	assert_string_equal(c.store->endpoints[1], "https://etcd-2.example:2379/");
	assert_string_equal(c.store->prefix, "/smtpgate/site-a/");
	assert_string_equal(c.store->ca, "/etc/smtpgate/ca.pem");
	assert_string_equal(c.store->cert, "/etc/smtpgate/gw.pem");
	assert_string_equal(c.store->key, "/etc/smtpgate/gw-key.pem");
	assert_string_equal(c.store->username, "gw-site-a");
	assert_string_equal(c.store->password_file, "/etc/smtpgate/etcd-password");
	assert_int_equal(c.store->timeout_ms, 1500);
	sg_host_config_free(&c);
}

static void test_config_absent_and_minimal(void **state)
{
	struct sg_host_config c;

	(void)state;
	assert_int_equal(load("{'interfaces': [{'name': 'srv0', 'hook': 'xdp'}]}", &c,
			      (const char *const[]){ NULL }), 0);
	assert_null(c.store);
	sg_host_config_free(&c);
	assert_int_equal(load("{'interfaces': [{'name': 'srv0', 'hook': 'xdp'}], 'store': {'etcd': "
			      "{'endpoints': ['http://127.0.0.1:2379'], 'prefix': '/sg/'}}}", &c,
			      (const char *const[]){ NULL }), 0);
	assert_non_null(c.store);
	assert_null(c.store->ca);
	assert_null(c.store->username);
	assert_int_equal(c.store->timeout_ms, SG_STORE_DEFAULT_TIMEOUT_MS);
	sg_host_config_free(&c);
}

static void test_config_errors(void **state)
{
	(void)state;
	REFUSED("{'consul': {}}",
		E "store: unknown key \"consul\"",
		E "store.etcd: missing (required)");
	REFUSED("{'etcd': {'endpoints': [], 'prefix': '/sg/'}}",
		E "store.etcd.endpoints: lists 0 endpoints; list 1 to 16 (every member of the "
		"cluster, for failover)");
	REFUSED("{'etcd': {'endpoints': ['198.18.0.1:2379', 'https://a:b', 'https://h:2379/v3', "
		"'https://h:1', 'https://h:1', 7], 'prefix': '/sg/'}}",
		E "store.etcd.endpoints[0]: \"198.18.0.1:2379\" must start with https:// (or http://)",
		E "store.etcd.endpoints[1]: \"https://a:b\" needs a port from 1 to 65535",
		E "store.etcd.endpoints[2]: \"https://h:2379/v3\" must be only scheme, host and port "
		"(no path)",
		E "store.etcd.endpoints[4]: \"https://h:1\" is listed twice",
		E "store.etcd.endpoints[5]: must be a URL string like \"https://198.18.0.1:2379\"");
	REFUSED(ETCD("'prefix': 'smtpgate'"),
		E "store.etcd.prefix: \"smtpgate\" must be a directory like \"/smtpgate/site-a/\": "
		"3 to 128 of A-Z a-z 0-9 _ . - /, starting and ending with '/', no \"//\"");
	REFUSED(ETCD("'prefix': '/a//b/'"),
		E "store.etcd.prefix: \"/a//b/\" must be a directory like \"/smtpgate/site-a/\": "
		"3 to 128 of A-Z a-z 0-9 _ . - /, starting and ending with '/', no \"//\"");
	REFUSED("{'etcd': {'endpoints': ['http://198.18.0.1:2379'], 'prefix': '/sg/', "
		"'tls': {'ca': 'ca.pem', 'cert': '/c.pem'}}}",
		E "store.etcd.tls.ca: \"ca.pem\" must be an absolute path",
		E "store.etcd.tls: cert and key go together (the client certificate and its key)",
		E "store.etcd.tls: is set, but not every endpoint is https://");
	REFUSED(ETCD("'prefix': '/sg/', 'username': 'gw'"),
		E "store.etcd: username and password_file go together");
	REFUSED("{'etcd': {'endpoints': ['http://198.18.0.1:2379'], 'prefix': '/sg/', "
		"'username': 'gw', 'password_file': '/p'}}",
		E "store.etcd.username: needs https:// endpoints: the password would cross the "
		"network in clear");
	REFUSED(ETCD("'prefix': '/sg/', 'timeout_ms': 5, 'endpoint': 1"),
		E "store.etcd: unknown key \"endpoint\" (did you mean \"endpoints\"?)",
		E "store.etcd.timeout_ms: must be an integer from 100 to 60000, not 5");
}

/* ---- keys and values -------------------------------------------------- */

static void key_ok(const char *suffix, int kind, const char *name)
{
	char got[SG_STORE_NAME_MAX];
	struct sg_err err = { 0 };
	int k = 0;

	assert_int_equal(sg_store_key_parse(suffix, strlen(suffix), &k, got, sizeof(got), &err), 0);
	assert_int_equal(k, kind);
	assert_string_equal(got, name);
}

static void key_bad(const char *suffix, const char *why)
{
	char got[SG_STORE_NAME_MAX];
	struct sg_err err = { 0 };
	int k = 0;

	assert_int_equal(sg_store_key_parse(suffix, strlen(suffix), &k, got, sizeof(got), &err),
			 -EINVAL);
	assert_string_equal(err.msg, why);
}

static void test_keys(void **state)
{
	char buf[SG_STORE_NAME_MAX + 16];

	(void)state;
	key_ok("approvals/10.1.2.0/24", SG_STORE_APPROVAL, "10.1.2.0/24");
	key_ok("approvals/2001:db8::9", SG_STORE_APPROVAL, "2001:db8::9");
	key_ok("bans/198.18.0.7", SG_STORE_BAN, "198.18.0.7");
	key_ok("audit/1796556000123456789-gw1", SG_STORE_AUDIT, "1796556000123456789-gw1");
	key_bad("approvals/10.1.2.9/32", "approvals/10.1.2.9/32: the name must be written 10.1.2.9");
	key_bad("approvals/10.1.2.1/24", "approvals/10.1.2.1/24: \"10.1.2.1/24\" is not an IP "
		"prefix");
	key_bad("bans/2001:DB8::1", "bans/2001:DB8::1: the name must be written 2001:db8::1");
	key_bad("policy/x", "policy/x: not a key this smtpgate knows (approvals/, bans/, audit/)");
	key_bad("audit/12-gw", "audit/12-gw: an audit key is <19 digits>-<gateway>");
	assert_int_equal(sg_store_key_suffix(SG_STORE_BAN, "10.0.0.1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "bans/10.0.0.1");
}

static void test_values(void **state)
{
	struct sg_err err = { 0 };
	char big[SG_STORE_VALUE_MAX + 64];

	(void)state;
	assert_int_equal(sg_store_value_check(SG_STORE_APPROVAL, "10.1.2.9",
					      "{\"addr\": \"10.1.2.9/32\"}", 23, &err), 0);
	assert_int_equal(sg_store_value_check(SG_STORE_APPROVAL, "10.1.2.9",
					      "{\"addr\": \"10.1.2.8\"}", 20, &err), -EINVAL);
	assert_string_equal(err.msg, "approvals/10.1.2.9: addr: \"10.1.2.8\" is not the key's "
			    "prefix");
	assert_int_equal(sg_store_value_check(SG_STORE_BAN, "10.0.0.1", "[1]", 3, &err), -EINVAL);
	assert_string_equal(err.msg, "bans/10.0.0.1: the value must be a JSON object");
	assert_int_equal(sg_store_value_check(SG_STORE_BAN, "10.0.0.1", "{\"a\":1,\"a\":2}", 13,
					      &err), -EINVAL);
	memset(big, ' ', sizeof(big));
	assert_int_equal(sg_store_value_check(SG_STORE_BAN, "10.0.0.1", big, sizeof(big), &err),
			 -EMSGSIZE);
}

static void test_base64(void **state)
{
	unsigned char out[64];
	char enc[64];

	(void)state;
	sg_b64_encode("/smtpgate/a", 11, enc);
	assert_string_equal(enc, "L3NtdHBnYXRlL2E=");
	assert_int_equal(sg_b64_decode(enc, strlen(enc), out), 11);
	assert_string_equal((char *)out, "/smtpgate/a");
	sg_b64_encode("ab", 2, enc);
	assert_string_equal(enc, "YWI=");
	sg_b64_encode("", 0, enc);
	assert_string_equal(enc, "");
	assert_int_equal(sg_b64_decode("YWI=", 4, out), 2);
	assert_int_equal(sg_b64_decode("YWJ=", 4, out), -1);   /* not canonical */
	assert_int_equal(sg_b64_decode("YW=I", 4, out), -1);
	assert_int_equal(sg_b64_decode("YWI", 3, out), -1);
	assert_int_equal(sg_b64_decode("!!!!", 4, out), -1);
}

/* ---- state and cache -------------------------------------------------- */

#define APPROVAL(a) "{\"addr\":\"" a "\",\"relays\":[\"internal\"],\"ticket\":\"CHG-1\"," \
	"\"owner\":\"payroll\",\"created\":\"2026-12-01T10:00:00Z\",\"created_by\":\"alice (uid 1000)\"}"

static void fill(struct sg_store_state *st)
{
	memset(st, 0, sizeof(*st));
	st->revision = 42;
	assert_int_equal(sg_store_state_set(st, SG_STORE_BAN, "198.18.0.7",
					    "{\"addr\":\"198.18.0.7\",\"expires\":null}", 41), 0);
	assert_int_equal(sg_store_state_set(st, SG_STORE_APPROVAL, "10.1.2.9",
					    APPROVAL("10.1.2.9"), 40), 0);
	assert_int_equal(sg_store_state_set(st, SG_STORE_APPROVAL, "10.1.0.0/16",
					    APPROVAL("10.1.0.0/16"), 39), 0);
}

static void test_state(void **state)
{
	struct sg_store_state st;

	(void)state;
	fill(&st);
	assert_int_equal(st.n, 3);
	/* sorted by kind, then name */
	assert_string_equal(st.recs[0].name, "10.1.0.0/16");
	assert_string_equal(st.recs[2].name, "198.18.0.7");
	assert_int_equal(sg_store_state_find(&st, SG_STORE_APPROVAL, "10.1.2.9")->mod_revision, 40);
	assert_null(sg_store_state_find(&st, SG_STORE_BAN, "10.1.2.9"));
	assert_int_equal(sg_store_state_set(&st, SG_STORE_APPROVAL, "10.1.2.9", NULL, 43), 0);
	assert_int_equal(st.n, 2);
	for (int i = 0; i < 100; i++) {
		char name[32];

		snprintf(name, sizeof(name), "10.2.0.%d", i);
		assert_int_equal(sg_store_state_set(&st, SG_STORE_APPROVAL, name, "{}", i + 1), 0);
	}
	assert_int_equal(st.n, 102);
	sg_store_state_free(&st);
}

static void test_cache(void **state)
{
	struct sg_store_state st, back = { 0 };
	struct sg_err err = { 0 };
	char path[128], *text, *p;
	FILE *f;

	(void)state;
	fill(&st);
	snprintf(path, sizeof(path), "%s/store-cache.json", tmpdir);
	assert_int_equal(sg_store_cache_save(path, "/sg/a/", &st, &err), 0);
	assert_int_equal(sg_store_cache_load(path, "/sg/a/", &back, &err), 0);
	assert_int_equal(back.revision, 42);
	assert_int_equal(back.n, 3);
	assert_int_equal(back.n_refused, 0);
	assert_int_equal(sg_store_state_find(&back, SG_STORE_BAN, "198.18.0.7")->mod_revision, 41);
	sg_store_state_free(&back);
	/* another site's cache is not ours to enforce */
	assert_int_equal(sg_store_cache_load(path, "/sg/b/", &back, &err), -ESTALE);
	assert_int_equal(back.n, 0);
	/* a record edited by hand into something invalid is refused alone */
	text = ut_read_text(path);
	assert_non_null(text);
	p = strstr(text, "\"addr\":\"10.1.2.9\"");
	assert_non_null(p);
	memcpy(p, "\"addr\":\"10.1.2.8\"", 17);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	assert_int_equal(sg_store_cache_load(path, "/sg/a/", &back, &err), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(back.n_refused, 1);
	assert_string_equal(back.refusals[0].why, "approvals/10.1.2.9: addr: \"10.1.2.8\" is not "
			    "the key's prefix");
	sg_store_state_free(&back);
	snprintf(path, sizeof(path), "%s/none.json", tmpdir);
	assert_int_equal(sg_store_cache_load(path, "/sg/a/", &back, &err), -ENOENT);
	sg_store_state_free(&st);
}

static void test_approval_against_policy(void **state)
{
	struct sg_store_rec r = { .kind = SG_STORE_APPROVAL, .name = "10.1.2.9",
				  .value = APPROVAL("10.1.2.9"), .mod_revision = 5 };
	struct sg_trusted_entry t;
	struct sg_err err = { 0 };
	struct sg_policy p;

	(void)state;
	r.len = strlen(r.value);
	sg_policy_init(&p);
	/* no relay group "internal" yet: refused, naming the record */
	assert_int_equal(sg_store_approval_parse(&r, &p, 0, &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "approvals/10.1.2.9: relays"));
	assert_true(sg_policy_add_group(&p, "internal") >= 0);
	if (sg_store_approval_parse(&r, &p, 0, &t, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(t.ticket, "CHG-1");
	assert_int_equal(t.groups, 1);
	assert_int_equal(t.origin, SG_ORIGIN_APPROVAL);
	sg_trusted_entry_free(&t);
	sg_policy_free(&p);
}

/* What this gateway writes, every other gateway reads back as it was. */
static void test_values_round_trip(void **state)
{
	struct sg_trusted_extra x = { .note = "quarter end", .created = 1796556000,
				      .created_by = "alice (uid 1000)" };
	struct sg_trusted_entry t = { .groups = 2, .rate_class = SG_ENTRY_CLASS(0),
				      .expires = 1900000000, .origin = SG_ORIGIN_APPROVAL,
				      .ticket = "CHG-9", .owner = "payroll", .extra = &x };
	struct sg_rate_class rc = { .name = "slow", .conn_per_sec = 1 };
	struct sg_store_rec r = { .kind = SG_STORE_APPROVAL, .name = "10.1.2.0/24" };
	struct sg_trusted_entry back;
	struct sg_store_ban b;
	struct sg_err err = { 0 };
	struct sg_policy p;
	struct sg_addr a;

	(void)state;
	sg_policy_init(&p);
	assert_true(sg_policy_add_group(&p, "internal") >= 0);
	assert_true(sg_policy_add_group(&p, "partners") >= 0);
	assert_true(sg_policy_add_class(&p, &rc) >= 0);
	assert_int_equal(sg_prefix_parse("10.1.2.0/24", &t.prefix, NULL), 0);
	r.value = sg_store_approval_value(&p, &t);
	assert_non_null(r.value);
	r.len = strlen(r.value);
	if (sg_store_approval_parse(&r, &p, 1796556000, &back, &err))
		fail_msg("%s: %s", r.value, err.msg);
	assert_true(sg_prefix_equal(&back.prefix, &t.prefix));
	assert_int_equal(back.groups, 2);
	assert_int_equal(sg_entry_class(&back), 0);
	assert_int_equal(back.expires, t.expires);
	assert_int_equal(sg_entry_created(&back), x.created);
	assert_string_equal(back.ticket, "CHG-9");
	assert_string_equal(sg_entry_note(&back), "quarter end");
	assert_string_equal(sg_entry_created_by(&back), "alice (uid 1000)");
	assert_null(sg_entry_contact(&back));
	sg_trusted_entry_free(&back);
	free(r.value);

	assert_int_equal(sg_addr_parse("2001:db8::7", &a, NULL), 0);
	r = (struct sg_store_rec){ .kind = SG_STORE_BAN, .name = "2001:db8::7" };
	r.value = sg_store_ban_value(&a, 1900000000, "spam run", "INC-4", "bob (uid 1001)");
	assert_non_null(r.value);
	r.len = strlen(r.value);
	if (sg_store_ban_parse(&r, &b, &err))
		fail_msg("%s: %s", r.value, err.msg);
	assert_memory_equal(&b.addr, &a, sizeof(a));
	assert_int_equal(b.expires, 1900000000);
	free(r.value);
	r.value = sg_store_ban_value(&a, 0, NULL, NULL, NULL);
	r.len = strlen(r.value);
	assert_int_equal(sg_store_ban_parse(&r, &b, &err), 0);
	assert_int_equal(b.expires, 0);
	free(r.value);
	sg_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_full),
		cmocka_unit_test(test_config_absent_and_minimal),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_approval_against_policy),
		cmocka_unit_test(test_values_round_trip),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
