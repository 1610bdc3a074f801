// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgate.json: docs/policy.md's host config example, defaults, every validation error with
 * its exact message, and that a refused file leaves the caller's config
 * untouched.  JSON is written with single quotes (see write_config).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "dataplane.h"
#include "load.h"
#include "unit.h"

static const struct sg_load_opts opts = { .allow_any_owner = true };
static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	return ut_make_tmpdir(tmpdir, sizeof(tmpdir), "config");
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(tmpdir);
}

/* tmpdir/smtpgate.json with json (single quotes become double). */
static const char *write_config(const char *json, mode_t mode)
{
	return ut_write_json(tmpdir, "smtpgate.json", json, mode);
}

/* Loads json into *c (initialised here); diagnostics must be want. */
static int load(const char *json, struct sg_host_config *c, const char *const *want)
{
	struct sg_diag d = { 0 };
	int rc;

	sg_host_config_init(c);
	rc = sg_config_load(write_config(json, 0644), &opts, c, &d);
	ut_check_diag(&d, want);
	sg_diag_free(&d);
	return rc;
}

static void expect_refused(const char *json, const char *const *want)
{
	struct sg_host_config c;

	assert_int_equal(load(json, &c, want), -1);
	sg_host_config_free(&c);
}

#define REFUSED(json, ...) expect_refused((json), (const char *const[]){ __VA_ARGS__, NULL })
#define LOAD(json, c, ...) load((json), (c), (const char *const[]){ __VA_ARGS__ NULL })
#define IFACE "'interfaces': [{'name': 'srv0', 'hook': 'xdp'}]"

static char *read_text(const char *path)
{
	char *text = ut_read_text(path);

	assert_non_null(text);
	return text;
}

/* ---- valid files and defaults ----------------------------------------- */

static void test_spec_example(void **state)
{
	char *text = read_text("policies/example.smtpgate.json");
	struct sg_host_config c;
	char path[256];

	(void)state;
	assert_int_equal(LOAD(text, &c), 0);
	snprintf(path, sizeof(path), "%s/smtpgate.json", tmpdir);
	assert_string_equal(c.path, path);
	assert_string_equal(c.policy_path, "/etc/smtpgate/policy.json");
	assert_int_equal(c.n_ifaces, 2);
	assert_string_equal(c.ifaces[0].name, "srv0");
	assert_int_equal(c.ifaces[0].hook, SG_HOOK_XDP);
	assert_int_equal(c.ifaces[0].xdp_mode, SG_XDP_AUTO);
	assert_string_equal(c.ifaces[1].name, "uplink0");
	assert_int_equal(c.ifaces[1].hook, SG_HOOK_TC_EGRESS);
	assert_string_equal(c.metrics_listen, "127.0.0.1:9725");
	assert_int_equal(c.top_sources, 20);
	assert_int_equal(c.expiry_series, 10000);
	assert_string_equal(c.metrics_textfile, "/var/lib/node_exporter/textfile/smtpgate.prom");
	assert_string_equal(c.control_socket, "/run/smtpgate/control.sock");
	assert_string_equal(c.admin_group, "smtpgate-admin");
	assert_string_equal(c.read_group, "smtpgate-read");
	assert_string_equal(c.pin_dir, "/sys/fs/bpf/smtpgate");
	assert_string_equal(c.state_dir, "/var/lib/smtpgate");
	assert_string_equal(c.log_dir, "/var/log/smtpgate");
	sg_host_config_free(&c);
	free(text);
}

static void test_init_defaults(void **state)
{
	struct sg_host_config c;

	(void)state;
	sg_host_config_init(&c);
	assert_null(c.path);
	assert_string_equal(c.policy_path, "/etc/smtpgate/policy.json");
	assert_int_equal(c.n_ifaces, 0);
	assert_null(c.ifaces);
	assert_string_equal(c.metrics_listen, "127.0.0.1:9725");
	assert_int_equal(c.top_sources, 20);
	assert_null(c.metrics_textfile);
	assert_string_equal(c.control_socket, "/run/smtpgate/control.sock");
	assert_string_equal(c.admin_group, "smtpgate-admin");
	assert_string_equal(c.read_group, "smtpgate-read");
	assert_string_equal(c.pin_dir, "/sys/fs/bpf/smtpgate");
	assert_string_equal(c.state_dir, "/var/lib/smtpgate");
	assert_string_equal(c.log_dir, "/var/log/smtpgate");
	sg_host_config_free(&c);
	assert_null(c.policy_path);
}

static void test_empty_file_defaults(void **state)
{
	struct sg_host_config c;

	(void)state;
	assert_int_equal(LOAD("{}", &c,
			      "warning: smtpgate.json: no interfaces: nothing will be enforced",), 0);
	assert_string_equal(c.policy_path, "/etc/smtpgate/policy.json");
	assert_string_equal(c.pin_dir, "/sys/fs/bpf/smtpgate");
	assert_int_equal(c.top_sources, 20);
	sg_host_config_free(&c);
}

static void test_interfaces(void **state)
{
	struct sg_host_config c;

	(void)state;
	assert_int_equal(LOAD("{'interfaces': [{'name': 'a', 'hook': 'xdp', 'xdp_mode': 'native'},"
			      " {'name': 'a', 'hook': 'tc-egress'}, {'name': 'b', 'hook': 'xdp',"
			      " 'xdp_mode': 'generic'}, {'name': 'abcdefghijklmno', 'hook': "
			      "'tc-ingress'}]}", &c), 0);
	assert_int_equal(c.n_ifaces, 4);
	assert_int_equal(c.ifaces[0].xdp_mode, SG_XDP_NATIVE);
	assert_int_equal(c.ifaces[1].hook, SG_HOOK_TC_EGRESS);
	assert_int_equal(c.ifaces[2].xdp_mode, SG_XDP_GENERIC);
	assert_string_equal(c.ifaces[3].name, "abcdefghijklmno");
	assert_int_equal(c.ifaces[3].hook, SG_HOOK_TC_INGRESS);
	sg_host_config_free(&c);
}

static void test_metrics_forms(void **state)
{
	static const char *const ok[] = { "off", "[::1]:9725", "0.0.0.0:1", "[2001:db8::1]:65535" };
	struct sg_host_config c;
	char json[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		/* expiry_series: 0 lists none, 1048576 every entry. */
		snprintf(json, sizeof(json), "{" IFACE ", 'metrics': {'listen': '%s', "
			 "'top_sources': 1000, 'expiry_series': %d}}", ok[i], i % 2 ? 1048576 : 0);
		assert_int_equal(LOAD(json, &c), 0);
		assert_string_equal(c.metrics_listen, ok[i]);
		assert_int_equal(c.top_sources, 1000);
		assert_int_equal(c.expiry_series, i % 2 ? 1048576 : 0);
		sg_host_config_free(&c);
	}
}

static void test_parse_listen(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sg_err err = { 0 };
	unsigned len = 0;
	char buf[64];

	(void)state;
	assert_int_equal(sg_parse_listen("127.0.0.1:9725", &ss, &len, &err), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(s4->sin_port), 9725);
	assert_int_equal(ntohl(s4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(sg_parse_listen("[2001:db8::5]:80", &ss, &len, &err), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(s6->sin6_port), 80);
	inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::5");
	assert_int_equal(sg_parse_listen("localhost:80", NULL, NULL, &err), -EINVAL);
	assert_string_equal(err.msg, "\"localhost:80\": the host must be an IPv4 address or "
			    "an [IPv6] address");
}

/* ---- errors ------------------------------------------------------------ */

static void test_syntax_and_top_level(void **state)
{
	(void)state;
	REFUSED("{'policy': }",
		"error: smtpgate.json: line 1, column 12: unexpected token near '}'");
	REFUSED("[]", "error: smtpgate.json: the top level must be a JSON object ({...})");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	REFUSED("{" IFACE ", 'polcy': '/x', 'groups': {}}",
		"error: smtpgate.json: unknown key \"polcy\" (did you mean \"policy\"?)",
		"error: smtpgate.json: unknown key \"groups\"");
	REFUSED("{'interfaces': [{'name': 'srv0', 'hook': 'xdp', 'mode': 'native'}]}",
		"error: smtpgate.json: interfaces[0]: unknown key \"mode\"");
	REFUSED("{" IFACE ", 'metrics': {'listen': 'off', 'port': 1},"
		" 'control': {'sock': '/x'}, 'paths': {'pin': '/x'}}",
		"error: smtpgate.json: metrics: unknown key \"port\"",
		"error: smtpgate.json: control: unknown key \"sock\" (did you mean \"socket\"?)",
		"error: smtpgate.json: paths: unknown key \"pin\" (did you mean \"pin_dir\"?)");
}

static void test_interface_errors(void **state)
{
	(void)state;
	REFUSED("{'interfaces': [{'name': 'abcdefghijklmnop', 'hook': 'xdp'},"
		" {'name': 'a/b', 'hook': 'tc'}, {'hook': 'xdp'}, {'name': 'c'},"
		" {'name': 'd', 'hook': 'tc-egress', 'xdp_mode': 'native'},"
		" {'name': 'e', 'hook': 'xdp', 'xdp_mode': 'fast'}, 'srv0']}",
		"error: smtpgate.json: interfaces[0].name: \"abcdefghijklmnop\" is not an interface "
		"name (1 to 15 characters, no '/', ':' or spaces)",
		"error: smtpgate.json: interfaces[1].name: \"a/b\" is not an interface name (1 to 15 "
		"characters, no '/', ':' or spaces)",
		"error: smtpgate.json: interfaces[1].hook: \"tc\" is not one of xdp, tc-ingress, "
		"tc-egress",
		"error: smtpgate.json: interfaces[2].name: missing (required)",
		"error: smtpgate.json: interfaces[3].hook: missing (required)",
		"error: smtpgate.json: interfaces[4].xdp_mode: only allowed with hook \"xdp\"",
		"error: smtpgate.json: interfaces[5].xdp_mode: \"fast\" is not one of auto, native, "
		"generic",
		"error: smtpgate.json: interfaces[6]: must be an object like {\"name\": \"srv0\", "
		"\"hook\": \"xdp\"}, not \"srv0\"");
}

static void test_interface_duplicate(void **state)
{
	(void)state;
	REFUSED("{'interfaces': [{'name': 'srv0', 'hook': 'xdp'}, {'name': 'srv0', 'hook':"
		" 'tc-ingress'}, {'name': 'srv0', 'hook': 'xdp', 'xdp_mode': 'generic'}]}",
		"error: smtpgate.json: interfaces[2]: srv0 with hook xdp is listed twice "
		"(interfaces[0] and interfaces[2])");
}

static void test_interface_limit(void **state)
{
	char json[8192];
	size_t off;

	(void)state;
	off = (size_t)snprintf(json, sizeof(json), "{'interfaces': [");
	for (int i = 0; i < 65; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off,
					"%s{'name': 'v%d', 'hook': 'xdp'}", i ? "," : "", i);
	snprintf(json + off, sizeof(json) - off, "]}");
	REFUSED(json, "error: smtpgate.json: interfaces: lists 65 attachments, at most 64");
}

static void test_metrics_errors(void **state)
{
	(void)state;
	REFUSED("{" IFACE ", 'metrics': {'listen': 'localhost:9725', 'top_sources': 0,"
		" 'textfile': 'smtpgate.prom'}}",
		"error: smtpgate.json: metrics.listen: \"localhost:9725\": the host must be an IPv4 "
		"address or an [IPv6] address",
		"error: smtpgate.json: metrics.top_sources: must be an integer from 1 to 1000, not 0",
		"error: smtpgate.json: metrics.textfile: \"smtpgate.prom\" must be an absolute path");
	REFUSED("{" IFACE ", 'metrics': {'listen': '127.0.0.1', 'top_sources': 1001}}",
		"error: smtpgate.json: metrics.listen: \"127.0.0.1\" is not HOST:PORT (or \"off\")",
		"error: smtpgate.json: metrics.top_sources: must be an integer from 1 to 1000, "
		"not 1001");
	REFUSED("{" IFACE ", 'metrics': {'expiry_series': 1048577}}",
		"error: smtpgate.json: metrics.expiry_series: must be an integer from 0 to 1048576, "
		"not 1048577");
	REFUSED("{" IFACE ", 'metrics': {'expiry_series': -1}}",
		"error: smtpgate.json: metrics.expiry_series: must be an integer from 0 to 1048576, "
		"not -1");
	REFUSED("{" IFACE ", 'metrics': {'listen': '::1:9725'}}",
		"error: smtpgate.json: metrics.listen: \"::1:9725\": write an IPv6 address in "
		"brackets: [ADDR]:PORT");
	REFUSED("{" IFACE ", 'metrics': {'listen': '127.0.0.1:0'}}",
		"error: smtpgate.json: metrics.listen: \"127.0.0.1:0\": the port must be 1-65535");
	REFUSED("{" IFACE ", 'metrics': {'listen': '[::1]:99999'}}",
		"error: smtpgate.json: metrics.listen: \"[::1]:99999\": the port must be 1-65535");
	REFUSED("{" IFACE ", 'metrics': {'listen': '[::g]:80'}}",
		"error: smtpgate.json: metrics.listen: \"[::g]:80\": \"::g\" is not an IPv6 address");
	REFUSED("{" IFACE ", 'metrics': {'listen': '[::1]9725'}}",
		"error: smtpgate.json: metrics.listen: \"[::1]9725\" is not HOST:PORT ([IPv6]:PORT "
		"for IPv6)");
}

static void test_control_errors(void **state)
{
	char json[512], longpath[120];

	(void)state;
	REFUSED("{" IFACE ", 'control': {'socket': 'control.sock', 'admin_group': 'bad group',"
		" 'read_group': '-x'}}",
		"error: smtpgate.json: control.socket: \"control.sock\" must be an absolute path",
		"error: smtpgate.json: control.admin_group: \"bad group\" is not a group name (1 to "
		"32 of A-Z a-z 0-9 _ . -, not starting with -)",
		"error: smtpgate.json: control.read_group: \"-x\" is not a group name (1 to 32 of "
		"A-Z a-z 0-9 _ . -, not starting with -)");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(json, sizeof(json), "{" IFACE ", 'control': {'socket': '%s'}}", longpath);
	REFUSED(json, "error: smtpgate.json: control.socket: is 119 characters long; a unix "
		"socket path has at most 107");
}

static void test_path_errors(void **state)
{
	(void)state;
	REFUSED("{" IFACE ", 'policy': 'policy.json', 'paths': {'pin_dir': 'bpf',"
		" 'state_dir': './state', 'log_dir': 5}}",
		"error: smtpgate.json: policy: \"policy.json\" must be an absolute path",
		"error: smtpgate.json: paths.pin_dir: \"bpf\" must be an absolute path",
		"error: smtpgate.json: paths.state_dir: \"./state\" must be an absolute path",
		"error: smtpgate.json: paths.log_dir: must be a string, not 5");
}

/* A refused file leaves the caller's config exactly as it was. */
static void test_refusal_leaves_config(void **state)
{
	struct sg_diag d = { 0 };
	struct sg_host_config c;
	const char *path;

	(void)state;
	sg_host_config_init(&c);
	path = write_config("{" IFACE ", 'paths': {'state_dir': '/srv/state'},"
			    " 'metrics': {'top_sources': 0}}", 0644);
	assert_int_equal(sg_config_load(path, &opts, &c, &d), -1);
	assert_string_equal(c.state_dir, "/var/lib/smtpgate");
	assert_int_equal(c.n_ifaces, 0);
	assert_null(c.path);
	sg_diag_free(&d);
	/* And a good one replaces it whole. */
	path = write_config("{" IFACE ", 'paths': {'state_dir': '/srv/state'}}", 0644);
	assert_int_equal(sg_config_load(path, &opts, &c, &d), 0);
	assert_string_equal(c.state_dir, "/srv/state");
	assert_string_equal(c.log_dir, "/var/log/smtpgate");
	assert_int_equal(c.n_ifaces, 1);
	sg_diag_free(&d);
	sg_host_config_free(&c);
}

static void test_file_checks(void **state)
{
	struct sg_load_opts strict = { 0 };
	struct sg_diag d = { 0 };
	struct sg_host_config c;
	char want[512], link[256];
	const char *path;

	(void)state;
	sg_host_config_init(&c);
	path = write_config("{" IFACE "}", 0664);
	assert_int_equal(sg_config_load(path, &opts, &c, &d), -1);
	snprintf(want, sizeof(want), "%s: is group-writable (mode 0664), so others could change "
		 "what it allows; fix with: chmod go-w %s", path, path);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.lines[0], want);
	sg_diag_free(&d);

	path = write_config("{" IFACE "}", 0644);
	assert_int_equal(chown(path, 1, 1), 0);
	assert_int_equal(sg_config_load(path, &strict, &c, &d), -1);
	snprintf(want, sizeof(want), "%s: is owned by uid 1, not root; fix with: chown root %s",
		 path, path);
	assert_string_equal(d.lines[0], want);
	sg_diag_free(&d);

	snprintf(link, sizeof(link), "%s/link.json", tmpdir);
	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(sg_config_load(link, &opts, &c, &d), -1);
	snprintf(want, sizeof(want), "%s: is a symbolic link; refusing to follow it (name the "
		 "file itself)", link);
	assert_string_equal(d.lines[0], want);
	sg_diag_free(&d);

	snprintf(link, sizeof(link), "%s/missing.json", tmpdir);
	assert_int_equal(sg_config_load(link, &opts, &c, &d), -1);
	snprintf(want, sizeof(want), "%s: no such file", link);
	assert_string_equal(d.lines[0], want);
	sg_diag_free(&d);
	sg_host_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_empty_file_defaults),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_metrics_forms),
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_syntax_and_top_level),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_interface_errors),
		cmocka_unit_test(test_interface_duplicate),
		cmocka_unit_test(test_interface_limit),
		cmocka_unit_test(test_metrics_errors),
		cmocka_unit_test(test_control_errors),
		cmocka_unit_test(test_path_errors),
		cmocka_unit_test(test_refusal_leaves_config),
		cmocka_unit_test(test_file_checks),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
