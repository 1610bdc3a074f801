// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet store's etcd client against a real cluster, one phase per
 * run; tests/e2e/test_store_etcd.sh starts the cluster, kills members
 * between phases and turns these TAP lines into its own.
 *
 *   store_etcd_check PHASE
 *     basic        load (hand-written invalid records refused and counted),
 *                  create, conflicting create, a two-gateway race, a stale
 *                  delete, watch from a revision, the local cache saved
 *     live         a change reaches a running watch; cancel ends it
 *     failover     changes and loads still work (the leader was killed)
 *     partition    the same past a member cut off from its peers
 *     unreachable  a clear error within the time budget; the cache loads
 *     tls          wrong CA, no client certificate, wrong password
 *     follow       the follower thread: changes wake its fd, status, stop
 *     token        an expired token is renewed unseen (load and watch)
 *     compacted    a watch from a compacted revision says so; a follower
 *                  hands over the whole state instead
 *
 * Environment: SG_T_ENDPOINTS (comma-separated), SG_T_PREFIX, SG_T_CA,
 * SG_T_CERT, SG_T_KEY, SG_T_USER, SG_T_PASSWORD_FILE, SG_T_WRONG_CA,
 * SG_T_BAD_PASSWORD_FILE, SG_T_DIR (scratch), SG_T_UNREACHABLE
 * (endpoints nothing answers on).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "store/store.h"

static int tap_n, tap_failed;

static void check(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - %s\n", ok ? "ok" : "not ok", ++tap_n, name);
	if (!ok) {
		tap_failed++;
		printf("# ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		printf("not ok %d - set-up: %s is not set\n", ++tap_n, name);
		exit(1);
	}
	return v;
}

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* The test's config: endpoints from a comma-separated list. */
static struct sg_store_config *config(const char *endpoints)
{
	struct sg_store_config *c = calloc(1, sizeof(*c));
	char *list = strdup(endpoints), *save = NULL;

	c->endpoints = calloc(SG_STORE_MAX_ENDPOINTS, sizeof(char *));
	for (char *t = strtok_r(list, ",", &save); t && c->n_endpoints < SG_STORE_MAX_ENDPOINTS;
	     t = strtok_r(NULL, ",", &save))
		c->endpoints[c->n_endpoints++] = strdup(t);
	free(list);
	c->prefix = strdup(env("SG_T_PREFIX"));
	c->ca = env_or_null("SG_T_CA") ? strdup(env("SG_T_CA")) : NULL;
	c->cert = env_or_null("SG_T_CERT") ? strdup(env("SG_T_CERT")) : NULL;
	c->key = env_or_null("SG_T_KEY") ? strdup(env("SG_T_KEY")) : NULL;
	c->username = env_or_null("SG_T_USER") ? strdup(env("SG_T_USER")) : NULL;
	c->password_file = env_or_null("SG_T_PASSWORD_FILE") ? strdup(env("SG_T_PASSWORD_FILE"))
							     : NULL;
	/* SG_T_TIMEOUT_MS: longer under valgrind (the checks of the time
	 * budget then fail, the rest must not). */
	c->timeout_ms = env_or_null("SG_T_TIMEOUT_MS") ? (unsigned)atoi(env("SG_T_TIMEOUT_MS"))
						       : 2000;
	return c;
}

static struct sg_store *open_store(struct sg_store_config *c, const char *gw)
{
	struct sg_err err = { 0 };
	struct sg_store *s = NULL;

	if (sg_store_open(c, gw, &s, &err)) {
		printf("not ok %d - set-up: opening the store: %s\n", ++tap_n, err.msg);
		exit(1);
	}
	return s;
}

static char *approval(const char *addr, const char *ticket)
{
	char *v = NULL;

	if (asprintf(&v, "{\"addr\":\"%s\",\"relays\":[\"internal\"],\"ticket\":\"%s\","
		     "\"owner\":\"payroll\",\"created\":\"2026-12-06T10:00:00Z\","
		     "\"created_by\":\"alice (uid 1000)\"}", addr, ticket) < 0)
		abort();
	return v;
}

static int apply(struct sg_store *s, const char *name, const char *value, int64_t expect,
		 int64_t *rev, struct sg_err *err)
{
	struct sg_store_change c = {
		.kind = SG_STORE_APPROVAL, .name = name, .value = value,
		.expect_mod_revision = expect,
		.actor = { .uid = 1000, .user = "alice", .command = value ? "trust.add" : "trust.del",
			   .ticket = "CHG-7" },
	};

	return sg_store_apply(s, &c, rev, err);
}

static char *path_in_dir(const char *file)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", env("SG_T_DIR"), file) < 0)
		abort();
	return p;
}

/* ---- basic ------------------------------------------------------------- */

struct collect {
	struct sg_store_event ev[64];
	char *values[64];
	size_t n, stop_after;
};

static int collect_cb(void *ctx, const struct sg_store_event *ev)
{
	struct collect *c = ctx;

	if (ev->rec.kind == SG_STORE_SYNC)
		return 0;
	if (c->n < 64) {
		c->ev[c->n] = *ev;
		c->values[c->n] = ev->rec.value ? strdup(ev->rec.value) : NULL;
		c->ev[c->n].rec.value = c->values[c->n];
		c->n++;
	}
	return c->n >= c->stop_after ? 1 : 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->values[i]);
}

static void phase_basic(void)
{
	struct sg_store_config *cfg = config(env("SG_T_ENDPOINTS"));
	struct sg_store *gw1 = open_store(cfg, "gw1"), *gw2 = open_store(cfg, "gw2");
	struct sg_store_state st = { 0 }, st2 = { 0 };
	struct sg_err err = { 0 }, err2 = { 0 };
	char *v1 = approval("10.1.2.9", "CHG-1"), *v2 = approval("10.1.2.9", "CHG-2");
	char *v3 = approval("10.1.3.0/24", "CHG-3"), *cache = path_in_dir("cache.json");
	const struct sg_store_rec *r;
	int64_t rev = 0, rev1 = 0, rev2 = 0, from;
	struct collect col = { .stop_after = 8 };
	uint64_t refused = 0;
	int rc, rc1, rc2;

	rc = sg_store_load(gw1, &st, &err);
	check(!rc, "load: the store answers", "%s", err.msg);
	/* The script wrote three invalid records by hand, and one valid. */
	check(st.n_refused == 3, "load: the 3 hand-written invalid records are refused and counted",
	      "n_refused %zu", st.n_refused);
	for (size_t i = 0; i < st.n_refused && i < 8; i++)
		printf("# refused %s: %s\n", st.refusals[i].key, st.refusals[i].why);
	check(st.n == 1 && sg_store_state_find(&st, SG_STORE_APPROVAL, "10.7.7.7"),
	      "load: the valid hand-written record loads", "%zu records", st.n);
	check(st.revision > 0, "load: the state has a revision", "%lld", (long long)st.revision);
	from = st.revision + 1;

	rc = apply(gw1, "10.1.2.9", v1, 0, &rev1, &err);
	check(!rc && rev1 > st.revision, "txn: a new approval is created", "rc %d: %s", rc, err.msg);
	rc = apply(gw2, "10.1.2.9", v2, 0, &rev, &err);
	check(rc == SG_STORE_ECONFLICT && strstr(err.msg, "already exists"),
	      "txn: creating it again is a conflict with a clear message", "rc %d: %s", rc, err.msg);
	printf("# %s\n", err.msg);

	/* Both gateways saw rev1; both change it; exactly one wins. */
	rc1 = apply(gw1, "10.1.2.9", v1, rev1, &rev, &err);
	rc2 = apply(gw2, "10.1.2.9", v2, rev1, &rev2, &err2);
	check(!rc1 && rc2 == SG_STORE_ECONFLICT && strstr(err2.msg, "changed by another gateway"),
	      "race: the first writer wins, the second gets a conflict naming the revision",
	      "gw1 %d (%s), gw2 %d (%s)", rc1, err.msg, rc2, err2.msg);
	printf("# %s\n", err2.msg);
	rc = apply(gw2, "10.1.2.9", NULL, rev1, NULL, &err);
	check(rc == SG_STORE_ECONFLICT, "txn: a delete at a stale revision is refused",
	      "rc %d: %s", rc, err.msg);
	rc = apply(gw2, "10.1.2.9/32", NULL, rev, NULL, &err);
	check(rc == -EINVAL, "txn: a name not in canonical form is refused before sending",
	      "rc %d: %s", rc, err.msg);
	rc = apply(gw2, "10.1.3.0/24", v3, 0, &rev2, &err);
	check(!rc, "txn: a second gateway creates another approval", "%s", err.msg);
	rc = apply(gw2, "10.1.2.9", NULL, rev, &rev2, &err);
	check(!rc, "txn: a delete at the current revision is made", "%s", err.msg);

	/* From the revision of the load: four changes, each with its audit
	 * record, in order (a txn's events in the order of its operations). */
	rc = sg_store_watch(gw1, from, 3000, collect_cb, &col, &refused, &err);
	check(rc == 1 && col.n == 8, "watch: 4 changes and 4 audit records from the revision",
	      "rc %d, %zu events: %s", rc, col.n, err.msg);
	if (col.n == 8) {
		bool order = true;

		for (size_t i = 1; i < col.n; i++)
			order &= col.ev[i].revision >= col.ev[i - 1].revision;
		for (size_t i = 0; i < col.n; i += 2)
			order &= col.ev[i].rec.kind == SG_STORE_APPROVAL &&
				 col.ev[i + 1].rec.kind == SG_STORE_AUDIT &&
				 col.ev[i].revision == col.ev[i + 1].revision;
		check(order && col.ev[0].revision == rev1,
		      "watch: in revision order, each change with its audit record",
		      "first %d %s @%lld", col.ev[0].rec.kind, col.ev[0].rec.name,
		      (long long)col.ev[0].revision);
		check(!strcmp(col.ev[6].rec.name, "10.1.2.9") && !col.ev[6].rec.value &&
		      col.ev[6].revision == rev2, "watch: the deletion comes as a deletion",
		      "%s value %s @%lld", col.ev[6].rec.name, col.ev[6].rec.value ? "set" : "none",
		      (long long)col.ev[6].revision);
		check(col.ev[1].rec.value && strstr(col.ev[1].rec.value, "\"gateway\":\"gw1\"") &&
		      strstr(col.ev[1].rec.value, "\"user\":\"alice\"") &&
		      strstr(col.ev[1].rec.value, "\"before\":null") &&
		      strstr(col.ev[1].rec.value, "\"after\":{"),
		      "audit: the record names the gateway, the user, before and after",
		      "%s", col.ev[1].rec.value ? col.ev[1].rec.value : "(none)");
		printf("# audit record: %s\n", col.ev[1].rec.value ? col.ev[1].rec.value : "");
	}
	collect_free(&col);

	rc = sg_store_load(gw2, &st2, &err);
	r = rc ? NULL : sg_store_state_find(&st2, SG_STORE_APPROVAL, "10.1.3.0/24");
	check(r && st2.n == 2 && st2.revision >= rev2 && !sg_store_state_find(&st2,
	      SG_STORE_APPROVAL, "10.1.2.9"),
	      "load: another gateway reads the same state", "rc %d, %zu records: %s", rc, st2.n,
	      err.msg);
	rc = sg_store_cache_save(cache, cfg->prefix, &st2, &err);
	check(!rc, "cache: the state is saved for a start without the store", "%s", err.msg);
	sg_store_state_free(&st);
	sg_store_state_free(&st2);
	free(v1);
	free(v2);
	free(v3);
	free(cache);
	sg_store_close(gw1);
	sg_store_close(gw2);
	sg_store_config_free(cfg);
}

/* ---- live -------------------------------------------------------------- */

struct live {
	struct sg_store *s;
	int64_t from;
	struct collect col;
	int rc;
	long long seen_ms;
	struct sg_err err;
};

static int live_cb(void *ctx, const struct sg_store_event *ev)
{
	struct live *l = ctx;

	if (ev->rec.kind == SG_STORE_APPROVAL && !l->seen_ms)
		l->seen_ms = now_ms();
	collect_cb(&l->col, ev);
	return 0;
}

static void *live_thread(void *arg)
{
	struct live *l = arg;

	l->rc = sg_store_watch(l->s, l->from, 10000, live_cb, l, NULL, &l->err);
	return NULL;
}

static void phase_live(void)
{
	struct sg_store_config *cfg = config(env("SG_T_ENDPOINTS"));
	struct sg_store *gw1 = open_store(cfg, "gw1"), *gw2 = open_store(cfg, "gw2");
	struct sg_store_state st = { 0 };
	struct live l = { .s = gw2, .col = { .stop_after = 1000 } };
	struct sg_err err = { 0 };
	char *v = approval("10.1.4.4", "CHG-4");
	long long t0, t1;
	pthread_t th;
	int64_t rev;
	int rc;

	rc = sg_store_load(gw2, &st, &err);
	check(!rc, "live: load", "%s", err.msg);
	l.from = st.revision + 1;
	pthread_create(&th, NULL, live_thread, &l);
	usleep(300 * 1000);     /* the watch is established */
	t0 = now_ms();
	rc = apply(gw1, "10.1.4.4", v, 0, &rev, &err);
	check(!rc, "live: a change on gw1", "%s", err.msg);
	for (int i = 0; i < 100 && !__atomic_load_n(&l.seen_ms, __ATOMIC_ACQUIRE); i++)
		usleep(10 * 1000);
	check(l.seen_ms && l.seen_ms - t0 < 1000, "live: gw2's watch sees it within 1 s",
	      "seen after %lld ms", l.seen_ms ? l.seen_ms - t0 : -1);
	printf("# propagation to the watch: %lld ms\n", l.seen_ms - t0);
	t1 = now_ms();
	sg_store_watch_cancel(gw2);
	pthread_join(th, NULL);
	check(l.rc == -EINTR && now_ms() - t1 < 500, "live: cancel ends the watch promptly",
	      "rc %d after %lld ms: %s", l.rc, now_ms() - t1, l.err.msg);
	collect_free(&l.col);
	sg_store_state_free(&st);
	free(v);
	sg_store_close(gw1);
	sg_store_close(gw2);
	sg_store_config_free(cfg);
}

static int count_cb(void *ctx, const struct sg_store_event *ev)
{
	if (ev->rec.kind != SG_STORE_SYNC)
		++*(int *)ctx;
	return 0;
}

/* ---- follow: the thread the daemon will use ------------------------------ */

/* Waits (bounded) for the follower's fd and takes what is there. */
static size_t take(struct sg_store_follower *f, struct sg_store_item *items, size_t max,
		   int timeout_ms)
{
	struct pollfd p = { .fd = sg_store_follow_fd(f), .events = POLLIN };

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	return sg_store_follow_take(f, items, max);
}

static void phase_follow(void)
{
	struct sg_store_config *cfg = config(env("SG_T_ENDPOINTS"));
	struct sg_store *gw1 = open_store(cfg, "gw1"), *gw2 = open_store(cfg, "gw2");
	struct sg_store_follower *f = NULL;
	struct sg_store_follow_status st;
	struct sg_store_state state = { 0 };
	struct sg_store_item items[16];
	struct sg_err err = { 0 };
	char *v = approval("10.1.8.8", "CHG-8");
	size_t n = 0, got = 0;
	int64_t rev = 0;
	long long t0;
	int rc;

	rc = sg_store_load(gw2, &state, &err);
	if (!rc)
		rc = sg_store_follow_start(gw2, state.revision + 1, &f, &err);
	check(!rc, "follow: a follower starts from the loaded revision", "%s", err.msg);
	if (rc)
		goto out;
	rc = apply(gw1, "10.1.8.8", v, 0, &rev, &err);
	t0 = now_ms();
	while (got < 2 && now_ms() - t0 < 2000) {
		n = take(f, items + got, 16 - got, 200);
		got += n;
	}
	check(!rc && got >= 2 && items[0].type == SG_STORE_ITEM_EVENT &&
	      items[0].ev.rec.kind == SG_STORE_APPROVAL && items[0].ev.revision == rev &&
	      items[1].ev.rec.kind == SG_STORE_AUDIT,
	      "follow: the change and its audit record wake the loop's fd, in order",
	      "rc %d, %zu items: %s", rc, got, err.msg);
	sg_store_follow_status(f, &st);
	check(st.up && st.revision >= rev && st.last_sync > 0 && !st.error[0],
	      "follow: the status says up, at the change's revision, synced now",
	      "up %d, revision %lld (want %lld), error \"%s\"", st.up, (long long)st.revision,
	      (long long)rev, st.error);
	for (size_t i = 0; i < got; i++)
		sg_store_item_free(&items[i]);
	t0 = now_ms();
	sg_store_follow_stop(f);
	check(now_ms() - t0 < 500, "follow: stop ends the thread promptly", "%lld ms",
	      now_ms() - t0);
out:
	sg_store_state_free(&state);
	free(v);
	sg_store_close(gw1);
	sg_store_close(gw2);
	sg_store_config_free(cfg);
}

/* ---- token: etcd's tokens expire (the test cluster: after 2 s idle) --- */

static void phase_token(void)
{
	struct sg_store_config *cfg = config(env("SG_T_ENDPOINTS"));
	struct sg_store *gw1 = open_store(cfg, "gw1");
	struct sg_store_state st = { 0 };
	struct sg_err err = { 0 };
	int rc, n = 0;

	rc = sg_store_load(gw1, &st, &err);
	check(!rc, "token: a load authenticates", "%s", err.msg);
	sleep(3);
	rc = sg_store_load(gw1, &st, &err);
	check(!rc, "token: after the token expired, the next load authenticates again, unseen",
	      "rc %d: %s", rc, err.msg);
	sleep(3);
	rc = sg_store_watch(gw1, st.revision + 1, 500, count_cb, &n, NULL, &err);
	check(!rc, "token: so does a watch", "rc %d: %s", rc, err.msg);
	sg_store_state_free(&st);
	sg_store_close(gw1);
	sg_store_config_free(cfg);
}

/* ---- failover ---------------------------------------------------------- */

static void phase_failover(void)
{
	struct sg_store_config *cfg = config(env("SG_T_ENDPOINTS"));
	struct sg_store *gw1 = open_store(cfg, "gw1");
	struct sg_store_state st = { 0 };
	struct sg_err err = { 0 };
	char *v = approval("10.1.5.5", "CHG-5");
	long long t0 = now_ms(), took;
	int64_t rev = 0;
	int rc;

	/* The first endpoint is the killed leader's. */
	rc = apply(gw1, "10.1.5.5", v, 0, &rev, &err);
	took = now_ms() - t0;
	check(!rc, "failover: a change is made with the leader dead", "rc %d after %lld ms: %s",
	      rc, took, err.msg);
	check(sg_store_failovers(gw1) >= 1, "failover: counted",
	      "%llu", (unsigned long long)sg_store_failovers(gw1));
	printf("# change made after %lld ms\n", took);
	rc = sg_store_load(gw1, &st, &err);
	check(!rc && sg_store_state_find(&st, SG_STORE_APPROVAL, "10.1.5.5"),
	      "failover: a load sees it", "rc %d: %s", rc, err.msg);
	sg_store_state_free(&st);
	free(v);
	sg_store_close(gw1);
	sg_store_config_free(cfg);
}

/* ---- partition: the first member is cut off from its peers ------------- */

static void phase_partition(void)
{
	struct sg_store_config *cfg = config(env("SG_T_ENDPOINTS"));
	struct sg_store *gw1 = open_store(cfg, "gw1");
	struct sg_store_state st = { 0 };
	struct sg_err err = { 0 };
	char *v = approval("10.1.5.6", "CHG-56");
	long long t0 = now_ms(), took;
	int rc;

	/* It accepts the connection but cannot reach a quorum: the try on
	 * it must end within its share of the budget. */
	rc = apply(gw1, "10.1.5.6", v, 0, NULL, &err);
	took = now_ms() - t0;
	check(!rc && took < (long long)cfg->timeout_ms,
	      "partition: a change is made within the budget past a member without quorum",
	      "rc %d after %lld ms: %s", rc, took, err.msg);
	printf("# change made after %lld ms\n", took);
	rc = sg_store_load(gw1, &st, &err);
	check(!rc && sg_store_state_find(&st, SG_STORE_APPROVAL, "10.1.5.6"),
	      "partition: a load sees it", "rc %d: %s", rc, err.msg);
	sg_store_state_free(&st);
	free(v);
	sg_store_close(gw1);
	sg_store_config_free(cfg);
}

/* ---- unreachable ------------------------------------------------------- */

static void phase_unreachable(void)
{
	struct sg_store_config *cfg = config(env("SG_T_UNREACHABLE"));
	struct sg_store *gw1 = open_store(cfg, "gw1");
	struct sg_store_state st = { 0 };
	struct sg_err err = { 0 };
	char *cache = path_in_dir("cache.json"), *v = approval("10.1.6.6", "CHG-6");
	long long t0 = now_ms(), took;
	int rc;

	rc = sg_store_load(gw1, &st, &err);
	took = now_ms() - t0;
	check(rc == SG_STORE_EUNAVAILABLE && strstr(err.msg, "no endpoint answered within 2000 ms")
	      && strstr(err.msg, cfg->endpoints[0]) && strstr(err.msg, cfg->endpoints[1]),
	      "unreachable: a clear error naming every endpoint", "rc %d: %s", rc, err.msg);
	printf("# %s\n", err.msg);
	check(took >= 1500 && took < 3000, "unreachable: within the 2 s budget",
	      "took %lld ms", took);
	t0 = now_ms();
	rc = apply(gw1, "10.1.6.6", v, 0, NULL, &err);
	check(rc == SG_STORE_EUNAVAILABLE && now_ms() - t0 < 3000,
	      "unreachable: a change is refused within the budget", "rc %d: %s", rc, err.msg);
	rc = sg_store_cache_load(cache, cfg->prefix, &st, &err);
	check(!rc && st.n == 2 && st.revision > 0 &&
	      sg_store_state_find(&st, SG_STORE_APPROVAL, "10.1.3.0/24"),
	      "unreachable: the local cache gives the last state and its revision",
	      "rc %d, %zu records, revision %lld: %s", rc, st.n, (long long)st.revision, err.msg);
	sg_store_state_free(&st);
	free(cache);
	free(v);
	sg_store_close(gw1);
	sg_store_config_free(cfg);
}

/* ---- tls and credentials ----------------------------------------------- */

static void expect_refused(struct sg_store_config *cfg, const char *name, const char *want)
{
	struct sg_store *s = NULL;
	struct sg_store_state st = { 0 };
	struct sg_err err = { 0 };
	long long t0 = now_ms();
	int rc = sg_store_open(cfg, "gw1", &s, &err);

	if (!rc)
		rc = sg_store_load(s, &st, &err);
	check(rc == -EACCES && strstr(err.msg, want) && now_ms() - t0 < 2500, name,
	      "rc %d after %lld ms: %s", rc, now_ms() - t0, err.msg);
	printf("# %s\n", err.msg);
	sg_store_state_free(&st);
	sg_store_close(s);
}

static void phase_tls(void)
{
	struct sg_store_config *cfg = config(env("SG_T_ENDPOINTS"));
	char *keep;

	keep = cfg->ca;
	cfg->ca = strdup(env("SG_T_WRONG_CA"));
	expect_refused(cfg, "tls: a CA that did not sign the servers' certificates is a clear "
		       "error", "the server's certificate is not trusted");
	free(cfg->ca);
	cfg->ca = keep;
	keep = cfg->cert;
	cfg->cert = NULL;
	expect_refused(cfg, "tls: without a client certificate etcd refuses us, clearly", "TLS");
	cfg->cert = keep;
	keep = cfg->password_file;
	cfg->password_file = strdup(env("SG_T_BAD_PASSWORD_FILE"));
	expect_refused(cfg, "auth: a wrong password is a clear error",
		       "authenticating as \"gw-test\"");
	free(cfg->password_file);
	cfg->password_file = keep;
	sg_store_config_free(cfg);
}

/* ---- compacted --------------------------------------------------------- */


static void phase_compacted(void)
{
	struct sg_store_config *cfg = config(env("SG_T_ENDPOINTS"));
	struct sg_store *gw1 = open_store(cfg, "gw1");
	struct sg_err err = { 0 };
	int rc, n = 0;

	/* The script compacted the cluster up to its current revision. */
	rc = sg_store_watch(gw1, 2, 3000, count_cb, &n, NULL, &err);
	check(rc == SG_STORE_ECOMPACTED && n == 0 && strstr(err.msg, "load everything again"),
	      "compacted: a watch from an old revision says to load everything again",
	      "rc %d, %d events: %s", rc, n, err.msg);
	printf("# %s\n", err.msg);
	{
		struct sg_store_follower *f = NULL;
		struct sg_store_item it[4];
		size_t got = 0;

		rc = sg_store_follow_start(gw1, 2, &f, &err);
		if (!rc)
			got = take(f, it, 4, 3000);
		check(!rc && got == 1 && it[0].type == SG_STORE_ITEM_STATE && it[0].state.n >= 2,
		      "compacted: a follower from an old revision hands over the whole state",
		      "rc %d, %zu items, type %d: %s", rc, got, got ? it[0].type : 0, err.msg);
		for (size_t i = 0; i < got; i++)
			sg_store_item_free(&it[i]);
		sg_store_follow_stop(f);
	}
	sg_store_close(gw1);
	sg_store_config_free(cfg);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} phases[] = {
		{ "basic", phase_basic }, { "live", phase_live }, { "failover", phase_failover },
		{ "unreachable", phase_unreachable }, { "tls", phase_tls },
		{ "compacted", phase_compacted }, { "follow", phase_follow },
		{ "token", phase_token }, { "partition", phase_partition },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc == 2 && i < sizeof(phases) / sizeof(phases[0]); i++) {
		if (strcmp(argv[1], phases[i].name))
			continue;
		phases[i].fn();
		return tap_failed ? 1 : 0;
	}
	fprintf(stderr, "usage: %s basic|live|follow|token|partition|failover|unreachable|tls|"
		"compacted\n", argv[0]);
	return 2;
}
