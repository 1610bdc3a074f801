// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the control request parser and dispatcher, in
 * process, for every verb, as an admin and as a read-only peer.
 *
 * The daemon's own code answers: a struct sgd set up as smtpgated does
 * (policy.json and approvals in a scratch directory, audit.jsonl on
 * tmpfs) over a real data plane, opened privately (sg_dp_open without a
 * pin dir: real maps and programs, nothing pinned, nothing attached).
 * Real maps rather than a stand-in because the handlers' map code
 * (trust.add's Bloom bit and in-place update, ban.add, the generation
 * switch of a new prefix length, reload) is what a request reaches; the
 * price is the RCU grace period of a generation switch (see
 * docs/testing.md for the exec/s).
 *
 * Input: byte 0 picks the peer (bit 0: admin, else read-only); the rest
 * is up to 8 request lines, each answered as the socket code does
 * (json_loadb with duplicate keys refused, then sgd_control_handle).
 * Properties: every reply is {"ok": true, "result": ...} or
 * {"ok": false, "code": <documented code>, "error": "..."}; a read-only
 * peer never gets a change through; nothing leaks or crashes.
 * State is reset (approvals, bans, policy) before an input when the
 * previous one changed anything, so each input starts from the same
 * daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <sys/stat.h>
#include "approvals_journal.h"
#include "fuzz_common.h"
#include "control_cmd.h"
#include "daemon.h"
#include "log.h"

#define MAX_LINES 8

static const char policy_json[] =
	"{\"mode\": \"enforce\", \"ports\": [25, 465, 587],"
	" \"scope\": [\"10.20.0.0/16\", \"2001:db8:20::/48\"],"
	" \"relays\": {\"internal\": [{\"addr\": \"10.0.0.25\", \"ports\": [25]}],"
	"  \"external\": [{\"addr\": \"192.0.2.25\"}, {\"addr\": \"2001:db8::25\"}]},"
	" \"rate_classes\": {\"default\": {\"conn_per_sec\": 10, \"conn_burst\": 50},"
	"  \"bulk\": {\"bytes_per_sec\": 1000000}},"
	" \"unregistered\": {\"action\": \"drop\"},"
	" \"ban\": {\"violations\": 200, \"window_sec\": 10, \"duration_sec\": 600},"
	" \"trusted\": [{\"addr\": \"10.20.1.5\", \"relays\": [\"internal\"],"
	"  \"ticket\": \"POL-1\", \"owner\": \"app\", \"expires\": \"2099-01-01T00:00:00Z\"},"
	"  {\"addr\": \"10.20.8.0/24\", \"relays\": [\"external\"], \"rate\": \"bulk\","
	"  \"ticket\": \"POL-2\", \"owner\": \"web\"}]}";

static struct sgd d = { .epfd = -1, .sigfd = -1, .timerfd = -1, .lock_fd = -1 };
static const struct sgd_peer admin = { .uid = 0, .gid = 0, .pid = 1, .user = "root",
				       .role = SGD_ROLE_ADMIN };
static const struct sgd_peer reader = { .uid = 1000, .gid = 1000, .pid = 2, .user = "reader",
					.role = SGD_ROLE_READ };
static bool dirty, quiet;
static int saved_stderr = -1, devnull = -1;

static char *dup_path(const char *name)
{
	char buf[256];
	char *s = strdup(fz_path(buf, sizeof(buf), name));

	if (!s)
		abort();
	return s;
}

static void set_str(char **dst, char *value)
{
	free(*dst);
	*dst = value;
}

/* The daemon logs to stderr; libFuzzer's progress and the sanitizers'
 * reports keep a copy of the real stderr. */
static void mute(bool on)
{
	if (!quiet)
		return;
	fflush(stderr);
	if (dup2(on ? devnull : saved_stderr, 2) < 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[256];
	struct sgd_policy_read first;
	struct sg_err err = { 0 };

	(void)argc;
	(void)argv;
	umask(077);
	quiet = !getenv("SG_FUZZ_VERBOSE");
	if (quiet) {
		saved_stderr = dup(2);
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (saved_stderr < 0 || devnull < 0)
			abort();
		__sanitizer_set_report_fd((void *)(intptr_t)saved_stderr);
	}
	fz_quiet_stdout();
	pthread_mutex_init(&d.lock, NULL);
	sgd_log_init(false, false);
	d.load_opts.allow_any_owner = true;
	sg_host_config_init(&d.cfg);
	set_str(&d.cfg.policy_path, dup_path("policy.json"));
	set_str(&d.cfg.state_dir, dup_path(""));
	set_str(&d.cfg.log_dir, dup_path(""));
	set_str(&d.cfg.control_socket, dup_path("control.sock"));
	set_str(&d.cfg.pin_dir, dup_path("no-pins"));
	fz_write_file(d.cfg.policy_path, (const uint8_t *)policy_json, strlen(policy_json));
	snprintf(d.approvals_path, sizeof(d.approvals_path), "%s",
		 fz_path(path, sizeof(path), "approvals.json"));
	snprintf(d.audit_path, sizeof(d.audit_path), "%s", fz_path(path, sizeof(path),
								   "audit.jsonl"));
	snprintf(d.events_path, sizeof(d.events_path), "%s", fz_path(path, sizeof(path),
								     "events.jsonl"));
	if (sg_dp_open(&d.dp, NULL, &err)) {
		fprintf(stderr, "fuzz_control: open data plane: %s\n", err.msg);
		abort();
	}
	d.started = time(NULL);
	sgd_policy_read(&d, &first);
	if (sgd_policy_start(&d, &first)) {
		fprintf(stderr, "fuzz_control: the fixed policy was refused\n");
		abort();
	}
	return 0;
}

/* ---- reset between inputs ------------------------------------------- */

struct ban_addrs {
	struct sg_addr a[256];
	size_t n;
};

static int collect_ban(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	struct ban_addrs *l = ctx;

	(void)b;
	if (l->n < sizeof(l->a) / sizeof(l->a[0]))
		l->a[l->n++] = *a;
	return 0;
}

static void reset(void)
{
	static struct ban_addrs bans;
	struct sg_err err = { 0 };
	struct sg_diag diag = { 0 };
	char msg[4096], path[PATH_MAX];
	int rc;

	do {
		bans.n = 0;
		sg_dp_ban_foreach(d.dp, collect_ban, &bans);
		for (size_t i = 0; i < bans.n; i++)
			sg_dp_ban_del(d.dp, &bans.a[i], &err);
	} while (bans.n == sizeof(bans.a) / sizeof(bans.a[0]));
	/* The approvals are approvals.json and its journal: both go. */
	sgd_approvals_close(&d);
	if (unlink(d.approvals_path) && errno != ENOENT)
		abort();
	if (sg_approvals_journal_path(d.approvals_path, path, sizeof(path)) ||
	    (unlink(path) && errno != ENOENT))
		abort();
	rc = sgd_reload(&d, &diag, NULL, NULL);
	sgd_diag_text(&diag, msg, sizeof(msg));
	sg_diag_free(&diag);
	fz_check(!rc, "reset: reload refused: %s", msg);
}

/* ---- one request ----------------------------------------------------- */

static bool known_code(const char *code)
{
	static const char *const codes[] = { SGD_E_INVALID, SGD_E_DENIED, SGD_E_NOT_FOUND,
					     SGD_E_CONFLICT, SGD_E_FAILED };

	for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(code, codes[i]))
			return true;
	return false;
}

static void check_reply(json_t *reply, const struct sgd_peer *peer, const char *command)
{
	json_t *ok = json_object_get(reply, "ok");
	const struct sgd_command *cmd = command ? sgd_command_find(command) : NULL;

	fz_check(json_is_object(reply) && json_is_boolean(ok), "reply without \"ok\"");
	if (json_is_true(ok)) {
		fz_check(json_object_get(reply, "result") != NULL, "ok reply without a result");
		fz_check(cmd != NULL, "ok reply to an unknown command");
		fz_check(!cmd->change || peer->role == SGD_ROLE_ADMIN,
			 "a read-only peer got \"%s\" through", command);
		if (cmd->change)
			dirty = true;
	} else {
		const char *code = json_string_value(json_object_get(reply, "code"));

		fz_check(known_code(code), "reply code \"%s\"", code ? code : "(none)");
		fz_check(json_is_string(json_object_get(reply, "error")), "error reply without "
			 "an error");
		if (cmd && cmd->change && peer->role != SGD_ROLE_ADMIN)
			fz_check(!strcmp(code, SGD_E_DENIED) || !strcmp(code, SGD_E_INVALID),
				 "a read-only peer's \"%s\" refused as %s", command, code);
	}
}

/* What conn_answer() does with a complete request line. */
static void answer(const char *line, size_t len, const struct sgd_peer *peer)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *reply;
	const char *command = NULL;

	mute(true);
	if (!req) {
		reply = sgd_control_refuse(&d, peer, SGD_E_INVALID, "not valid JSON", NULL);
	} else if (!json_is_object(req)) {
		reply = sgd_control_refuse(&d, peer, SGD_E_INVALID, "not an object", NULL);
	} else {
		char *text = sgd_control_handle(&d, peer, req);

		/* The reply goes on the wire as one line and must parse back. */
		fz_check(text != NULL, "no reply");
		fz_check(!strchr(text, '\n'), "reply holds a raw newline");
		reply = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		fz_check(reply != NULL, "reply line is not JSON: %.200s", text);
		free(text);
		command = json_string_value(json_object_get(req, "command"));
	}
	mute(false);
	fz_check(reply != NULL, "no reply");
	check_reply(reply, peer, command);
	/* The reply must serialise (it goes on the wire as one line). */
	{
		char *text = json_dumps(reply, JSON_COMPACT);

		fz_check(text != NULL, "reply does not serialise");
		fz_check(!strchr(text, '\n'), "reply holds a raw newline");
		free(text);
	}
	json_decref(reply);
	json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sgd_peer *peer;
	const char *p, *end;
	int lines = 0;

	if (size < 1 || size > SGD_CTL_MAX_REQUEST)
		return -1;
	if (dirty) {
		mute(true);
		reset();
		mute(false);
		dirty = false;
	}
	/* The audit log is read by `audit`: keep it to this input's lines. */
	if (truncate(d.audit_path, 0) && errno != ENOENT)
		abort();
	peer = data[0] & 1 ? &admin : &reader;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end && lines++ < MAX_LINES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		answer(p, len, peer);
		p += len + 1;
	}
	return 0;
}
