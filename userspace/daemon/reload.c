// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A reload that never stalls the loop.  Reading, parsing, validating and
 * compiling a large policy and filling the data plane's inactive
 * generation take seconds; the loop meanwhile keeps answering `status`,
 * `stats` and the like, and the metrics threads never depended on it.
 *
 * A reload is three steps (daemon.h, struct sgd_next):
 *
 *   1. worker thread: load policy.json and the approvals (sgd_next_load)
 *   2. loop: the gate (the audit record, written before the change)
 *   3. worker thread: build the inactive generation and switch the data
 *      plane to it with its one write (sgd_next_apply, sg_dp_apply)
 *   4. loop: commit (the policy in memory, the sha, the snapshot for the
 *      metrics), then the requester's reply
 *
 * Each worker step ends by writing an eventfd the loop watches; the loop
 * joins the thread, so whatever the worker wrote is visible to it.
 *
 * What the worker may touch: the config and load options (never change
 * after start), the approvals files and d->fleet (nothing writes them
 * while a reload runs: changes wait, and the fleet watch is paused), the
 * data plane's inactive generation, and its userspace index of slots
 * (sg_dp_apply replaces it at the end).  So while a reload runs the loop
 * must not change the policy or read that index: control requests that
 * would wait (control_dispatch.c), the fleet watch is paused (fleet.c), expiry
 * waits a tick (loop.c), ban events are held (events.c), and `status`
 * and `stats` count automatic bans from the map itself.  When the
 * reload ends they resume in that order: the fleet's changes first (they
 * came first), then the control requests in their order of arrival, then
 * a reload that SIGHUP asked for meanwhile.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "control.h"
#include "fleet.h"
#include "log.h"
#include "loop.h"
#include "notify.h"

enum step { R_IDLE, R_LOADING, R_APPLYING };

struct sgd_reloader {
	struct sgd *d;
	int efd;                /* the worker's "step done" */
	pthread_t thread;
	bool thread_running;    /* a thread to join */
	enum step step;
	int rc;                 /* the worker step's result */
	struct sgd_next next;
	sgd_reload_gate gate;
	sgd_reload_done done;
	void *ctx;
	int64_t started_ms;     /* monotonic */
};

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A worker yields to the loop: on a busy machine the loop's answers
 * matter more than the reload's speed (nice applies per thread on
 * Linux; raising one's own nice needs no privilege). */
#define WORKER_NICE 10

static void yield_to_loop(void)
{
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE))
		sgd_debug("reload: worker nice %d: %s", WORKER_NICE, strerror(errno));
}

/* With --test-mode only: while the file this environment variable names
 * exists (at most 2 minutes), the worker holds before loading, so that
 * an e2e test can act during a reload however fast the machine is. */
#define RELOAD_HOLD_ENV "SMTPGATED_TEST_RELOAD_HOLD"

static void test_hold(const struct sgd *d)
{
	const char *path = d->opts.allow_any_owner ? getenv(RELOAD_HOLD_ENV) : NULL;

	for (int i = 0; path && i < 12000 && !access(path, F_OK); i++)
		usleep(10 * 1000);
}

static void *worker(void *arg)
{
	struct sgd_reloader *rl = arg;
	uint64_t one = 1;

	if (rl->step == R_LOADING)
		test_hold(rl->d);
	if (rl->step == R_LOADING)
		rl->rc = sgd_next_load(rl->d, &rl->next);
	else
		rl->rc = sgd_next_apply(rl->d, &rl->next);
	/* An eventfd write of 1 cannot fail short of a counter overflow. */
	if (write(rl->efd, &one, sizeof(one)) != sizeof(one))
		sgd_err("reload: cannot wake the loop: %s", strerror(errno));
	return NULL;
}

static void *worker_thread(void *arg)
{
	yield_to_loop();
	return worker(arg);
}

/* Runs the current step on a thread; without one (out of threads), in
 * the loop: slower for the clients, never a lost reload. */
static void spawn(struct sgd_reloader *rl)
{
	sigset_t all, old;
	int rc;

	/* The loop takes its signals from a signalfd: the worker must not
	 * be where one is delivered. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&rl->thread, NULL, worker_thread, rl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc) {
		rl->thread_running = true;
		return;
	}
	sgd_warn("reload: no worker thread (%s): reloading in the loop", strerror(rc));
	worker(rl);
}

/* After a reload: what waited for it, in the order it came. */
static void resume_waiting(struct sgd *d)
{
	if (d->store)
		sgd_fleet_resume(d);
	sgd_events_resume(d);
	sgd_control_resume(d);
	if (!sgd_reload_busy(d))
		sgd_reload_signal_pending(d);
}

static void *free_policy(void *arg)
{
	struct sg_policy *p = arg;

	yield_to_loop();
	sg_policy_free(p);
	free(p);
	/* The memory back to the system, not kept for a next reload: the
	 * daemon's size at rest is one policy's. */
	malloc_trim(0);
	return NULL;
}

/* The policy a commit replaced: a million strings to free, which would
 * hold the loop for a while, so a detached thread frees them (nothing
 * refers to them any more); without one, the loop does. */
static void free_replaced(struct sgd_next *n)
{
	struct sg_policy *old = malloc(sizeof(*old));
	pthread_attr_t attr;
	pthread_t t;
	int rc = -1;

	if (old && !pthread_attr_init(&attr)) {
		sigset_t all, prev;

		*old = n->policy;
		sg_policy_init(&n->policy);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &prev);
		rc = pthread_create(&t, &attr, free_policy, old);
		pthread_sigmask(SIG_SETMASK, &prev, NULL);
		pthread_attr_destroy(&attr);
		if (rc) {
			n->policy = *old;
			free(old);
		}
	} else {
		free(old);
	}
	sgd_next_free(n);
}

static void finish(struct sgd_reloader *rl, int rc, struct sg_diag *diag)
{
	struct sgd *d = rl->d;
	sgd_reload_done done = rl->done;
	void *ctx = rl->ctx;
	char summary[256];

	if (!rc) {
		sgd_reload_summary(d, summary, sizeof(summary));
		sgd_notice("%s (in %lld ms, off the loop)", summary,
			   (long long)(sg_mono_ms() - rl->started_ms));
	}
	pthread_mutex_lock(&d->lock);
	d->reload_since_ms = 0;
	d->reload_by[0] = '\0';
	d->reload_last_ms = (uint64_t)(sg_mono_ms() - rl->started_ms);
	pthread_mutex_unlock(&d->lock);
	free_replaced(&rl->next);
	rl->step = R_IDLE;
	rl->done = NULL;
	rl->ctx = NULL;
	sgd_notify_ready(rc ? "reload refused; previous policy in force" : "running");
	if (done)
		done(ctx, rc, diag);
	resume_waiting(d);
}

/* Moves the loader's lines into diag, as sgd_reload gives them. */
static void take_lines(struct sg_diag *diag, const struct sgd_next *n)
{
	for (size_t i = 0; i < n->diag.n; i++)
		sg_diag_add(diag, n->diag.is_error[i], "%s", n->diag.lines[i]);
	if (n->diag.n_errors && !diag->n_errors)
		diag->n_errors = n->diag.n_errors;
}

/* A worker step is done: take the next one. */
static void step_done(struct sgd_reloader *rl)
{
	struct sgd *d = rl->d;
	struct sg_diag diag = { 0 };
	struct sg_err err = { 0 };
	int64_t commit_ms;
	int refused = 0;

	if (rl->thread_running) {
		pthread_join(rl->thread, NULL);
		rl->thread_running = false;
	}
	take_lines(&diag, &rl->next);
	if (rl->step == R_LOADING) {
		if (rl->rc) {
			sgd_reload_failed(d, "the new policy is invalid (errors above)");
			goto failed;
		}
		if (d->stop)
			refused = sg_errf(&err, -ECANCELED, "smtpgated is stopping: the reload was "
					  "not made");
		else if (rl->gate)
			refused = rl->gate(rl->ctx, &err);
		if (refused) {
			sg_diag_add(&diag, true, "%s", err.msg);
			sgd_reload_failed(d, err.msg);
			goto failed;
		}
		sg_diag_free(&diag);
		rl->step = R_APPLYING;
		spawn(rl);
		return;
	}
	if (rl->rc) {
		sg_diag_add(&diag, true, "%s", rl->next.err.msg);
		sgd_reload_failed(d, rl->next.err.msg);
		goto failed;
	}
	commit_ms = sg_mono_ms();
	sgd_next_commit(d, &rl->next);
	sgd_debug("reload: committed on the loop in %lld ms",
		  (long long)(sg_mono_ms() - commit_ms));
	finish(rl, 0, &diag);
	sg_diag_free(&diag);
	return;
failed:
	finish(rl, -1, &diag);
	sg_diag_free(&diag);
}

static void on_step_done(struct sgd *d, void *arg, uint32_t events)
{
	struct sgd_reloader *rl = arg;
	uint64_t n;

	(void)d;
	(void)events;
	if (read(rl->efd, &n, sizeof(n)) != sizeof(n))
		return; /* spurious: nothing to take yet */
	step_done(rl);
}

int sgd_reload_init(struct sgd *d)
{
	struct sgd_reloader *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return -1;
	rl->d = d;
	rl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rl->efd < 0 || sgd_watch_add(d, rl->efd, EPOLLIN, on_step_done, rl)) {
		sgd_err("reload: eventfd: %s", strerror(errno));
		if (rl->efd >= 0)
			close(rl->efd);
		free(rl);
		return -1;
	}
	d->reloader = rl;
	return 0;
}

bool sgd_reload_busy(const struct sgd *d)
{
	return d->reloader && d->reloader->step != R_IDLE;
}

int sgd_reload_start(struct sgd *d, const char *by, sgd_reload_gate gate, sgd_reload_done done,
		     void *ctx)
{
	struct sgd_reloader *rl = d->reloader;

	if (!rl)
		return -ENOTSUP;
	if (rl->step != R_IDLE)
		return -EBUSY;
	sgd_notify_reloading();
	sgd_next_init(&rl->next);
	rl->gate = gate;
	rl->done = done;
	rl->ctx = ctx;
	rl->rc = 0;
	rl->started_ms = sg_mono_ms();
	rl->step = R_LOADING;
	pthread_mutex_lock(&d->lock);
	d->reload_since_ms = unix_ms();
	snprintf(d->reload_by, sizeof(d->reload_by), "%s", by);
	pthread_mutex_unlock(&d->lock);
	sgd_info("reload started (%s): loading %s off the loop", by, d->cfg.policy_path);
	spawn(rl);
	return 0;
}

void sgd_reload_fini(struct sgd *d)
{
	struct sgd_reloader *rl = d->reloader;
	uint64_t n;

	if (!rl)
		return;
	/* d->stop is set: a load that ends now is not applied, an apply
	 * that runs is waited for and committed (the data plane has
	 * switched, or will: memory must say so). */
	while (rl->step != R_IDLE) {
		if (rl->thread_running) {
			pthread_join(rl->thread, NULL);
			rl->thread_running = false;
		}
		if (read(rl->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			break;
		step_done(rl);
	}
	sgd_watch_del(d, rl->efd);
	close(rl->efd);
	free(rl);
	d->reloader = NULL;
}
