// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The approvals journal (approvals_journal.h): records replayed over the
 * snapshot, compaction, a torn last line, a bad record, and crash safety:
 * a worker process makes a sequence of changes (with compactions between
 * them) under the fault-injection preload (tests/preload/faultinject.c),
 * failing or crashing at the Nth write, fdatasync/fsync, ftruncate or
 * rename of the state directory, for every N until the worker runs past
 * the last such call.  After each run, what sg_approvals_load() reads
 * must hold every change the worker had acknowledged, none it had
 * refused, and the one in flight at a crash either whole or not at all;
 * approvals.json alone must still be a valid snapshot; and reopening the
 * journal and appending must work (no line glued onto a torn one).
 *
 * The worker is this program run as "test_approvals_journal worker DIR".
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "approvals_journal.h"
#include "load.h"
#include "unit.h"

#define NOW 1767225600LL        /* 2026-01-01T00:00:00Z */
#define N_PREFIX 12
#define N_OPS 24
#define CRASH_STATUS 86         /* faultinject.c's _exit status */

static const struct sg_load_opts opts = { .allow_any_owner = true, .now_unix = NOW };
static char tmpdir[64];

static const char *const policy_json =
	"{\"relays\": {\"internal\": [{\"addr\": \"198.18.0.25\"}],"
	"              \"external\": [{\"addr\": \"2001:db8::25\"}]},"
	" \"rate_classes\": {\"default\": {\"conn_per_sec\": 5}, \"bulk\": {}},"
	" \"trusted\": [{\"addr\": \"198.18.9.9\", \"relays\": [\"internal\"],"
	"               \"ticket\": \"POL-1\", \"owner\": \"policy\"}]}";

static void make_policy(struct sg_policy *p)
{
	struct sg_diag d = { 0 };

	if (sg_policy_parse("policy.json", policy_json, strlen(policy_json), &opts, p, &d)) {
		sg_diag_print(&d, stderr);
		abort();
	}
	sg_diag_free(&d);
}

static void prefix_of(int idx, char *buf, size_t len)
{
	snprintf(buf, len, "198.18.1.%d", idx);
}

static struct sg_trusted_entry approval(int idx, const char *ticket)
{
	/* Static: the entry is returned, and whoever adds it copies it. */
	static struct sg_trusted_extra x = {
		.created = NOW - 60, .created_by = (char *)"alice (uid 1000)",
	};
	struct sg_trusted_entry t = {
		.groups = 1, .rate_class = SG_ENTRY_CLASS(1), .origin = SG_ORIGIN_APPROVAL,
		.ticket = (char *)ticket, .owner = (char *)"team", .extra = &x,
	};
	char text[32];

	prefix_of(idx, text, sizeof(text));
	if (sg_prefix_parse(text, &t.prefix, NULL))
		abort();
	return t;
}

/* Which prefix op k is about: a fixed, mixed order. */
static int op_prefix(int k)
{
	return 1 + (k * 7 + k / 5) % N_PREFIX;
}

/* ---- the model: prefix index -> ticket ("" = absent) ---- */

struct model {
	char ticket[N_PREFIX + 1][16];
};

/* Op k: deletes the prefix if it is approved, else adds it (ticket T-k). */
static void model_apply(struct model *m, int k)
{
	int idx = op_prefix(k);

	if (m->ticket[idx][0])
		m->ticket[idx][0] = '\0';
	else
		snprintf(m->ticket[idx], sizeof(m->ticket[idx]), "T-%d", k);
}

/* The approvals as loaded from dir/approvals.json (+ journal). */
static int load_model(const char *json_path, struct model *m)
{
	struct sg_trusted_entry *e = NULL;
	struct sg_diag d = { 0 };
	struct sg_policy p;
	size_t n = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	make_policy(&p);
	rc = sg_approvals_load(json_path, &p, &opts, &e, &n, &d);
	if (rc)
		sg_diag_print(&d, stderr);
	for (size_t i = 0; i < n; i++) {
		int idx = e[i].prefix.addr.b[15];

		if (idx < 1 || idx > N_PREFIX || m->ticket[idx][0])
			rc = -1;        /* a prefix the test never approves, or twice */
		else
			snprintf(m->ticket[idx], sizeof(m->ticket[idx]), "%s", e[i].ticket);
		sg_trusted_entry_free(&e[i]);
	}
	free(e);
	sg_diag_free(&d);
	sg_policy_free(&p);
	return rc;
}

/* ---- the worker ---- */

static void ack(const char *path, const char *fmt, ...)
{
	char line[64];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		_exit(3);
	close(fd);
}

/* Makes the N_OPS changes as the daemon does: memory first, then the
 * journal, undoing memory when the journal refuses; a compaction after
 * every 12th.  Writes "k ok" / "k fail" to DIR/ack after each. */
static int worker(const char *dir)
{
	char json[PATH_MAX], ackp[PATH_MAX], tickets[N_OPS][16];
	struct sg_err err = { 0 };
	struct sg_journal *j;
	struct sg_policy p;
	int rc;

	snprintf(json, sizeof(json), "%s/state/approvals.json", dir);
	snprintf(ackp, sizeof(ackp), "%s/ack", dir);
	make_policy(&p);
	{
		struct sg_trusted_entry *e = NULL;
		struct sg_diag d = { 0 };
		size_t n = 0;

		if (sg_approvals_load(json, &p, &opts, &e, &n, &d)) {
			sg_diag_free(&d);
			sg_policy_free(&p);
			return 2;
		}
		for (size_t i = 0; i < n; i++) {
			sg_policy_add_trusted(&p, &e[i]);
			sg_trusted_entry_free(&e[i]);
		}
		free(e);
		sg_diag_free(&d);
	}
	if (sg_journal_open(&j, json, &err)) {
		ack(ackp, "open fail\n");
		sg_policy_free(&p);
		return 0;
	}
	ack(ackp, "open ok\n");
	for (int k = 0; k < N_OPS; k++) {
		struct sg_trusted_entry t;
		long i;

		snprintf(tickets[k], sizeof(tickets[k]), "T-%d", k);
		t = approval(op_prefix(k), tickets[k]);
		i = sg_policy_find_trusted(&p, &t.prefix);
		if (i >= 0) {
			struct sg_policy saved;

			sg_policy_init(&saved);
			sg_policy_add_trusted(&saved, &p.trusted[i]);
			sg_policy_remove_trusted(&p, (size_t)i);
			rc = sg_journal_del(j, &t.prefix, &err);
			if (rc < 0)
				sg_policy_add_trusted(&p, &saved.trusted[0]);
			sg_policy_free(&saved);
		} else {
			sg_policy_add_trusted(&p, &t);
			rc = sg_journal_add(j, &p, &t, &err);
			if (rc < 0)
				sg_policy_remove_trusted(&p, p.n_trusted - 1);
		}
		ack(ackp, "%d %s\n", k, rc < 0 ? "fail" : "ok");
		if (k % 12 == 11)
			sg_journal_compact(j, &p, &err);
	}
	ack(ackp, "done\n");
	sg_journal_close(j);
	sg_policy_free(&p);
	return 0;
}

/* ---- running it under faults ---- */

static char preload[PATH_MAX], self[PATH_MAX];

static void find_programs(void)
{
	char exe[PATH_MAX], *dir;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(self, sizeof(self), "%s", exe);
	dir = dirname(exe);
	snprintf(preload, sizeof(preload), "%s/../preload/faultinject.so", dir);
	assert_int_equal(access(preload, R_OK), 0);
}

/* A fresh DIR/state with a snapshot of two approvals made before. */
static void fresh(const char *dir)
{
	char path[PATH_MAX + 16];
	struct sg_err err = { 0 };
	struct sg_policy p;
	struct sg_trusted_entry a = approval(op_prefix(0), "PRE-1");
	struct sg_trusted_entry b = approval(op_prefix(1), "PRE-2");

	ut_remove_tmpdir(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	make_policy(&p);
	assert_int_equal(sg_policy_add_trusted(&p, &a), 0);
	assert_int_equal(sg_policy_add_trusted(&p, &b), 0);
	snprintf(path, sizeof(path), "%s/state/approvals.json", dir);
	assert_int_equal(sg_approvals_save(path, &p, &err), 0);
	sg_policy_free(&p);
}

/* Runs the worker with the fault; returns its exit status (or 128+sig). */
static int run_worker(const char *dir, const char *call, const char *action, int nth,
		      const char *log)
{
	char pattern[PATH_MAX + 16], nths[16];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		snprintf(pattern, sizeof(pattern), "%s/state*", dir);
		snprintf(nths, sizeof(nths), "%d", nth);
		setenv("LD_PRELOAD", preload, 1);
		setenv("SG_FI_CALL", call, 1);
		setenv("SG_FI_PATH", pattern, 1);
		setenv("SG_FI_NTH", nths, 1);
		setenv("SG_FI_ACTION", action, 1);
		setenv("SG_FI_LOG", log, 1);
		/* ASan's runtime must come first; the shim only needs to be there. */
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
		execl(self, self, "worker", dir, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* What the acks say: the model of every acknowledged change, and the op
 * in flight (-1: none) when the worker stopped. */
static void read_acks(const char *dir, struct model *m, int *in_flight, bool *done)
{
	char path[PATH_MAX + 8], line[64];
	FILE *f;
	int next = 0;

	memset(m, 0, sizeof(*m));
	snprintf(m->ticket[op_prefix(0)], 16, "PRE-1");
	snprintf(m->ticket[op_prefix(1)], 16, "PRE-2");
	*done = false;
	*in_flight = -1;
	snprintf(path, sizeof(path), "%s/ack", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		int k;
		char what[8];

		if (!strcmp(line, "done\n"))
			*done = true;
		if (sscanf(line, "%d %7s", &k, what) != 2)
			continue;
		assert_int_equal(k, next);
		if (!strcmp(what, "ok"))
			model_apply(m, k);
		next = k + 1;
	}
	fclose(f);
	if (!*done && next < N_OPS)
		*in_flight = next;
}

static bool same(const struct model *a, const struct model *b)
{
	for (int i = 1; i <= N_PREFIX; i++)
		if (strcmp(a->ticket[i], b->ticket[i]))
			return false;
	return true;
}

static void print_model(const char *label, const struct model *m)
{
	fprintf(stderr, "# %s:", label);
	for (int i = 1; i <= N_PREFIX; i++)
		if (m->ticket[i][0])
			fprintf(stderr, " .%d=%s", i, m->ticket[i]);
	fprintf(stderr, "\n");
}

/* After a run: the checks of the file comment. */
static void verify(const char *dir, const char *what)
{
	char json[PATH_MAX], copy_dir[PATH_MAX + 8], copy[PATH_MAX + 32];
	struct model want, with, got, after;
	struct sg_trusted_entry t = approval(N_PREFIX, "AFTER");
	struct sg_err err = { 0 };
	struct sg_journal *j;
	struct sg_policy p;
	int in_flight;
	bool done;
	char *text;

	snprintf(json, sizeof(json), "%s/state/approvals.json", dir);
	read_acks(dir, &want, &in_flight, &done);
	with = want;
	if (in_flight >= 0)
		model_apply(&with, in_flight);
	if (load_model(json, &got) || !(same(&got, &want) || same(&got, &with))) {
		fprintf(stderr, "# %s: in flight %d\n", what, in_flight);
		print_model("acknowledged", &want);
		print_model("loaded", &got);
		fail_msg("%s: the approvals loaded are not the acknowledged ones", what);
	}

	/* approvals.json alone: a valid snapshot. */
	snprintf(copy_dir, sizeof(copy_dir), "%s/alone", dir);
	assert_int_equal(mkdir(copy_dir, 0700), 0);
	snprintf(copy, sizeof(copy), "%s/approvals.json", copy_dir);
	text = ut_read_text(json);
	assert_non_null(text);
	{
		FILE *f = fopen(copy, "w");

		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	free(text);
	assert_int_equal(load_model(copy, &after), 0);

	/* A restart: open (cuts a torn line off), one more change, read back. */
	make_policy(&p);
	assert_int_equal(sg_journal_open(&j, json, &err), 0);
	if (!got.ticket[N_PREFIX][0]) {
		assert_int_equal(sg_journal_add(j, &p, &t, &err), 0);
		snprintf(got.ticket[N_PREFIX], 16, "AFTER");
	} else {
		assert_int_equal(sg_journal_del(j, &t.prefix, &err), 0);
		got.ticket[N_PREFIX][0] = '\0';
	}
	sg_journal_close(j);
	sg_policy_free(&p);
	if (load_model(json, &after) || !same(&after, &got)) {
		print_model("want", &got);
		print_model("loaded", &after);
		fail_msg("%s: after reopening and one more change", what);
	}
}

static bool file_empty(const char *path)
{
	struct stat st;

	return stat(path, &st) || st.st_size == 0;
}

static void faults(const char *call, const char *action)
{
	char dir[PATH_MAX], log[PATH_MAX + 8], what[128];
	int nth, status;

	find_programs();
	snprintf(dir, sizeof(dir), "%s/%s-%s", tmpdir, call, action);
	for (nth = 1; nth < 1000; nth++) {
		fresh(dir);
		snprintf(log, sizeof(log), "%s.log", dir);
		unlink(log);
		status = run_worker(dir, call, action, nth, log);
		snprintf(what, sizeof(what), "%s %s at call %d", action, call, nth);
		if (file_empty(log)) {
			/* Past the last such call: the worker ran clean. */
			assert_int_equal(status, 0);
			verify(dir, what);
			break;
		}
		if (status != 0 && status != CRASH_STATUS)
			fail_msg("%s: the worker exited with %d", what, status);
		verify(dir, what);
	}
	/* Two compactions at least make two of each call: all were seen. */
	fprintf(stderr, "# %s %s: %d fault points\n", action, call, nth - 1);
	assert_true(nth > 2 && nth < 1000);
	ut_remove_tmpdir(dir);
}

static void test_fail_write(void **s) { (void)s; faults("write", "fail"); }
static void test_torn_write(void **s) { (void)s; faults("write", "torn"); }
static void test_crash_write(void **s) { (void)s; faults("write", "crash"); }
static void test_fail_fsync(void **s) { (void)s; faults("fsync", "fail"); }
static void test_crash_fsync(void **s) { (void)s; faults("fsync", "crash"); }
static void test_fail_truncate(void **s) { (void)s; faults("truncate", "fail"); }
static void test_crash_truncate(void **s) { (void)s; faults("truncate", "crash"); }
static void test_fail_rename(void **s) { (void)s; faults("rename", "fail"); }
static void test_crash_rename(void **s) { (void)s; faults("rename", "crash"); }

/* ---- the format, without faults ---- */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Replay: adds replace, dels remove, the last record of a prefix wins;
 * replaying over a snapshot that already has the changes (a crash
 * between compaction's rename and the emptying) changes nothing. */
static void test_replay(void **state)
{
	char dir[PATH_MAX], json[PATH_MAX + 32], jpath[PATH_MAX + 32];
	struct model m;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/replay", tmpdir);
	fresh(dir);
	snprintf(json, sizeof(json), "%s/state/approvals.json", dir);
	snprintf(jpath, sizeof(jpath), "%s/state/approvals.journal", dir);
#define BY ",\"owner\":\"o\",\"created\":\"2026-01-01T00:00:00Z\",\"created_by\":\"a\"}}\n"
	write_text(jpath,
		   "{\"op\":\"add\",\"approval\":{\"addr\":\"198.18.1.5\",\"relays\":[\"internal\"],"
		   "\"ticket\":\"A\"" BY
		   "{\"op\":\"del\",\"addr\":\"198.18.1.1\"}\n"
		   "{\"op\":\"add\",\"approval\":{\"addr\":\"198.18.1.5\",\"relays\":[\"external\"],"
		   "\"ticket\":\"B\"" BY
		   "{\"op\":\"add\",\"approval\":{\"addr\":\"198.18.1.8\",\"relays\":[\"internal\"],"
		   "\"ticket\":\"PRE-2x\"" BY);
#undef BY
	assert_int_equal(load_model(json, &m), 0);
	/* op_prefix(0) = 1 (PRE-1, deleted), op_prefix(1) = 8 (PRE-2, replaced) */
	assert_string_equal(m.ticket[5], "B");
	assert_string_equal(m.ticket[1], "");
	assert_string_equal(m.ticket[8], "PRE-2x");

	/* Compact by hand without emptying the journal: the same set. */
	{
		struct sg_trusted_entry *e = NULL;
		struct sg_diag d = { 0 };
		struct sg_err err = { 0 };
		struct sg_policy p;
		struct model again;
		size_t n = 0;

		make_policy(&p);
		assert_int_equal(sg_approvals_load(json, &p, &opts, &e, &n, &d), 0);
		for (size_t i = 0; i < n; i++) {
			sg_policy_add_trusted(&p, &e[i]);
			sg_trusted_entry_free(&e[i]);
		}
		free(e);
		assert_int_equal(sg_approvals_save(json, &p, &err), 0);
		sg_policy_free(&p);
		assert_int_equal(load_model(json, &again), 0);
		assert_true(same(&again, &m));
	}
	ut_remove_tmpdir(dir);
}

/* A torn last line is ignored (with a warning) and cut off on open; a
 * bad complete line is an error; an approval added and removed again
 * may name a group the policy has lost. */
static void test_torn_and_bad_lines(void **state)
{
	char dir[PATH_MAX], json[PATH_MAX + 32], jpath[PATH_MAX + 32];
	struct sg_trusted_entry *e = NULL;
	struct sg_diag d = { 0 };
	struct sg_err err = { 0 };
	struct sg_journal *j;
	struct sg_policy p;
	struct model m;
	size_t n = 0;
	char *text;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/torn", tmpdir);
	fresh(dir);
	snprintf(json, sizeof(json), "%s/state/approvals.json", dir);
	snprintf(jpath, sizeof(jpath), "%s/state/approvals.journal", dir);
	write_text(jpath,
		   "{\"op\":\"add\",\"approval\":{\"addr\":\"198.18.1.5\",\"relays\":[\"gone\"],"
		   "\"ticket\":\"A\",\"owner\":\"o\"}}\n"
		   "{\"op\":\"del\",\"addr\":\"198.18.1.5\"}\n"
		   "{\"op\":\"add\",\"approval\":{\"addr\":\"198.18.1.6\",\"rel");
	make_policy(&p);
	assert_int_equal(sg_approvals_load(json, &p, &opts, &e, &n, &d), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.lines[0], "approvals.journal: line 3: an incomplete last record"));
	for (size_t i = 0; i < n; i++)
		sg_trusted_entry_free(&e[i]);
	free(e);
	sg_diag_free(&d);

	assert_int_equal(sg_journal_open(&j, json, &err), 0);
	assert_int_equal(sg_journal_records(j), 2);
	{
		struct sg_trusted_entry t = approval(6, "C");

		assert_int_equal(sg_journal_add(j, &p, &t, &err), 0);
	}
	sg_journal_close(j);
	text = ut_read_text(jpath);
	assert_non_null(text);
	assert_null(strstr(text, "\"rel{"));
	free(text);
	assert_int_equal(load_model(json, &m), 0);
	assert_string_equal(m.ticket[6], "C");

	/* A complete line that is not a record: refused, saying where. */
	write_text(jpath, "{\"op\":\"del\",\"addr\":\"198.18.1.1\"}\n{\"op\":\"put\"}\n");
	e = NULL;
	n = 0;
	assert_int_equal(sg_approvals_load(json, &p, &opts, &e, &n, &d), -1);
	assert_true(d.n_errors >= 1);
	assert_non_null(strstr(d.lines[0], "approvals.journal: line 2: op: \"put\""));
	sg_diag_free(&d);
	free(e);
	sg_policy_free(&p);
	ut_remove_tmpdir(dir);
}

/* The journal grows by one line a change; compaction folds it into
 * approvals.json and empties it. */
static void test_compaction(void **state)
{
	char dir[PATH_MAX], json[PATH_MAX + 32], jpath[PATH_MAX + 32];
	struct sg_err err = { 0 };
	struct sg_journal *j;
	struct sg_policy p;
	struct model m;
	char *before, *after;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/compact", tmpdir);
	fresh(dir);
	snprintf(json, sizeof(json), "%s/state/approvals.json", dir);
	snprintf(jpath, sizeof(jpath), "%s/state/approvals.journal", dir);
	before = ut_read_text(json);
	make_policy(&p);
	assert_int_equal(sg_journal_open(&j, json, &err), 0);
	for (int idx = 2; idx <= 6; idx++) {
		struct sg_trusted_entry t = approval(idx, "J");

		assert_int_equal(sg_policy_add_trusted(&p, &t), 0);
		assert_int_equal(sg_journal_add(j, &p, &t, &err), 0);
	}
	assert_int_equal(sg_journal_records(j), 5);
	assert_false(sg_journal_wants_compaction(j, &p));
	after = ut_read_text(json);
	assert_string_equal(before, after);     /* the snapshot is not rewritten */
	free(after);
	assert_int_equal(load_model(json, &m), 0);
	assert_string_equal(m.ticket[4], "J");
	assert_string_equal(m.ticket[1], "PRE-1");

	/* p lacks the snapshot's two: compaction writes what it is given. */
	assert_int_equal(sg_journal_compact(j, &p, &err), 0);
	assert_int_equal(sg_journal_records(j), 0);
	assert_true(file_empty(jpath));
	assert_int_equal(load_model(json, &m), 0);
	assert_string_equal(m.ticket[4], "J");
	assert_string_equal(m.ticket[1], "");
	sg_journal_close(j);
	sg_policy_free(&p);
	free(before);
	ut_remove_tmpdir(dir);
}

/* trust.import's batch: one append of n lines, all or none. */
static void test_batch(void **state)
{
	char dir[PATH_MAX], json[PATH_MAX + 32], jpath[PATH_MAX + 32];
	struct sg_trusted_entry batch[4];
	struct sg_err err = { 0 };
	struct sg_journal *j;
	struct sg_policy p;
	struct model m;
	struct stat st;
	char *text;
	int lines = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/batch", tmpdir);
	fresh(dir);
	snprintf(json, sizeof(json), "%s/state/approvals.json", dir);
	snprintf(jpath, sizeof(jpath), "%s/state/approvals.journal", dir);
	make_policy(&p);
	assert_int_equal(sg_journal_open(&j, json, &err), 0);
	for (int k = 0; k < 4; k++)
		batch[k] = approval(7 + k, "B");
	assert_int_equal(sg_journal_add_batch(j, &p, batch, 4, &err), 0);
	assert_int_equal(sg_journal_records(j), 4);
	text = ut_read_text(jpath);
	for (char *c = text; *c; c++)
		lines += *c == '\n';
	free(text);
	assert_int_equal(lines, 4);
	assert_int_equal(load_model(json, &m), 0);
	for (int idx = 7; idx <= 10; idx++)
		assert_string_equal(m.ticket[idx], "B");
	assert_string_equal(m.ticket[1], "PRE-1");      /* the snapshot's stay */

	/* A failed append leaves nothing of the batch. */
	assert_int_equal(stat(jpath, &st), 0);
	setenv("SG_TEST_FAIL_JOURNAL_WRITE", "1", 1);
	batch[0] = approval(11, "C");
	batch[1] = approval(12, "C");
	assert_int_equal(sg_journal_add_batch(j, &p, batch, 2, &err), -EIO);
	unsetenv("SG_TEST_FAIL_JOURNAL_WRITE");
	assert_int_equal(sg_journal_records(j), 4);
	{
		struct stat st2;

		assert_int_equal(stat(jpath, &st2), 0);
		assert_int_equal(st2.st_size, st.st_size);
	}
	assert_int_equal(load_model(json, &m), 0);
	assert_string_equal(m.ticket[11], "");
	/* An empty batch writes nothing. */
	assert_int_equal(sg_journal_add_batch(j, &p, batch, 0, &err), 0);
	assert_int_equal(sg_journal_records(j), 4);
	sg_journal_close(j);
	sg_policy_free(&p);
	ut_remove_tmpdir(dir);
}

static int make_tmpdir(void **state)
{
	(void)state;
	return ut_make_tmpdir(tmpdir, sizeof(tmpdir), "journal");
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return ut_remove_tmpdir(tmpdir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_torn_and_bad_lines),
		cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_fail_write),
		cmocka_unit_test(test_torn_write),
		cmocka_unit_test(test_crash_write),
		cmocka_unit_test(test_fail_fsync),
		cmocka_unit_test(test_crash_fsync),
		cmocka_unit_test(test_fail_truncate),
		cmocka_unit_test(test_crash_truncate),
		cmocka_unit_test(test_fail_rename),
		cmocka_unit_test(test_crash_rename),
	};

	if (argc == 3 && !strcmp(argv[1], "worker"))
		return worker(argv[2]);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
