// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the audit trail's readers, end to end as
 * `smtpgatectl audit [--since S] [--limit N] [--json]` runs them: the
 * client's option parsing (userspace/ctl/audit.c and options_parse.c,
 * compiled into this target with the socket call replaced by a direct
 * call), the daemon's
 * `audit` command reading audit.jsonl line by line (control_read.c,
 * through sgd_control_handle), and the client's table or JSON output
 * (userspace/ctl/output.c).
 *
 * Input: line 1 is --since (empty: none), line 2 is --limit (empty:
 * none), byte 0 of line 1 with bit 7 set asks for --json; the rest is
 * audit.jsonl.  Properties: the daemon's reply is a well-formed reply;
 * every record it returns is an object with a parseable time at or after
 * since, at most limit of them.
 *
 * The report's reader of audit.jsonl and events.jsonl (with their
 * rotations) has a target of its own: fuzz_report.c.
 */
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include "fuzz_common.h"
#include "control_cmd.h"
#include "daemon.h"
#include "load.h"
#include "log.h"

/* The client's command and its option parser, as smtpgatectl has them
 * (its output helpers, output.c, are linked into every target). */
#include "../../userspace/ctl/audit.c"
#include "../../userspace/ctl/options_parse.c"
#include "../../userspace/ctl/options_table.c"

static struct sgd d = { .epfd = -1, .sigfd = -1, .timerfd = -1, .lock_fd = -1 };
static const struct sgd_peer reader = { .uid = 1000, .gid = 1000, .pid = 2, .user = "reader",
					.role = SGD_ROLE_READ };
static char since_opt[64], limit_opt[64];
static long long want_since, want_limit;

/* ---- what smtpgatectl's main.c, help.c and client.c would do ------- */

void ctl_help(FILE *f, const char *what)
{
	(void)f;
	(void)what;
}

/* smtpgatectl-full's: the input never asks for --fleet. */
int ctl_audit_fleet(struct ctl *c, long long since, long long limit, json_t **out)
{
	(void)c;
	(void)since;
	(void)limit;
	*out = NULL;
	fz_check(false, "--fleet given");
	return CTL_FAILED;
}

int ctl_usage(struct ctl *c, const char *fmt, ...)
{
	(void)c;
	(void)fmt;
	return CTL_USAGE;
}

int ctl_fail(struct ctl *c, int code, const char *fmt, ...)
{
	(void)c;
	(void)fmt;
	return code;
}

/* The round trip through the socket, minus the socket. */
int ctl_call(struct ctl *c, const char *command, json_t *args, json_t **result)
{
	json_t *req = json_pack("{s:s, s:o}", "command", command, "args", args), *reply, *arr;
	json_t *since = json_object_get(args, "since"), *limit = json_object_get(args, "limit");
	char *text;
	size_t i;
	json_t *rec;
	long long t;

	(void)c;
	fz_check(req != NULL, "request");
	want_since = since ? json_integer_value(since) : 0;
	want_limit = limit ? json_integer_value(limit) : 10000;
	text = sgd_control_handle(&d, &reader, req);
	json_decref(req);
	fz_check(text != NULL, "no reply");
	/* The reply is one line on the wire: it must parse back whole. */
	reply = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	fz_check(json_is_object(reply), "no reply");
	if (!json_is_true(json_object_get(reply, "ok"))) {
		fz_check(json_is_string(json_object_get(reply, "error")), "error without text");
		json_decref(reply);
		return CTL_FAILED;
	}
	arr = json_object_get(reply, "result");
	fz_check(json_is_array(arr), "audit result is not an array");
	fz_check((long long)json_array_size(arr) <= want_limit, "%zu records, limit %lld",
		 json_array_size(arr), want_limit);
	json_array_foreach(arr, i, rec) {
		const char *when = json_string_value(json_object_get(rec, "time"));

		fz_check(json_is_object(rec) && when && !sg_parse_rfc3339(when, &t) &&
			 t >= want_since, "record %zu is not a record at or after %lld", i,
			 want_since);
	}
	*result = json_incref(arr);
	json_decref(reply);
	return CTL_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[256];

	(void)argc;
	(void)argv;
	umask(077);
	fz_quiet_stdout();
	pthread_mutex_init(&d.lock, NULL);
	sg_host_config_init(&d.cfg);
	snprintf(d.audit_path, sizeof(d.audit_path), "%s", fz_path(path, sizeof(path),
								   "audit.jsonl"));
	return 0;
}

/* Copies the next line of [*p, end) into buf (cut to its size). */
static void take_line(const char **p, const char *end, char *buf, size_t cap)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

	snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), *p);
	*p += nl ? len + 1 : len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *argv[6] = { "audit" };
	struct ctl c = { .what = "audit", .argc = 1, .argv = argv };

	if (size && data[0] & 0x80) {
		c.json = true;
		p++;
	}
	take_line(&p, end, since_opt, sizeof(since_opt));
	take_line(&p, end, limit_opt, sizeof(limit_opt));
	fz_write_file(d.audit_path, (const uint8_t *)p, (size_t)(end - p));
	if (since_opt[0]) {
		argv[c.argc++] = "--since";
		argv[c.argc++] = since_opt;
	}
	if (limit_opt[0]) {
		argv[c.argc++] = "--limit";
		argv[c.argc++] = limit_opt;
	}
	ctl_cmd_audit(&c);
	ctl_args_free(&c);
	fflush(stdout);
	return 0;
}
