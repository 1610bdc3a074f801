// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One thread, one epoll: signals (signalfd), a one-second timer, the ring
 * buffer, link events and the control socket.  Everything that changes
 * the policy runs here, so changes are serialised without locks.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "fleet.h"
#include "log.h"
#include "loop.h"
#include "usage_history.h"

struct watch {
	int fd;
	sgd_watch_fn fn;
	void *arg;
	struct watch *next;
};

static struct watch *watches;

int sgd_watch_add(struct sgd *d, int fd, uint32_t events, sgd_watch_fn fn, void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(w);
		return -errno;
	}
	w->next = watches;
	watches = w;
	return 0;
}

/* Unwatching only marks the watch dead: a later event of the same epoll
 * batch may still point at it.  Dead watches are freed between batches. */
void sgd_watch_del(struct sgd *d, int fd)
{
	for (struct watch *w = watches; w; w = w->next) {
		if (w->fd == fd && w->fn) {
			epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
			w->fn = NULL;
			return;
		}
	}
}

static void reap_dead_watches(void)
{
	for (struct watch **p = &watches; *p;) {
		struct watch *w = *p;

		if (w->fn) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		free(w);
	}
}

static void on_signal(struct sgd *d, void *arg, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)arg;
	(void)events;
	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			sgd_notice("SIGHUP from pid %u (uid %u): reloading %s", si.ssi_pid,
				   si.ssi_uid, d->cfg.policy_path);
			sgd_reload_on_signal(d, si.ssi_uid, (int)si.ssi_pid);
			break;
		case SIGTERM:
		case SIGINT:
			sgd_notice("%s: stopping; enforcement stays in force",
				   si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			d->stop = true;
			break;
		default:
			break;
		}
	}
}

static void on_tick(struct sgd *d, void *arg, uint32_t events)
{
	uint64_t expirations;

	(void)arg;
	(void)events;
	if (read(d->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	d->ticks++;
	/* Expiry changes the policy: not while a reload replaces it (the
	 * kernel enforces every deadline meanwhile); the next tick does it. */
	if (!sgd_reload_busy(d))
		sgd_expire_due(d);
	sgd_events_tick(d);
	if (d->store)
		sgd_fleet_tick(d);
	sgd_history_tick(d); /* usage history and state events (usage_history.h) */
	/* A safety net under the link watcher: netlink can overrun. */
	if (d->ticks % 5 == 0)
		sgd_ensure_attached(d, NULL);
}

int sgd_loop_init(struct sgd *d)
{
	struct itimerspec every_second = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	sigset_t set;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->sigfd < 0 || d->timerfd < 0 ||
	    timerfd_settime(d->timerfd, 0, &every_second, NULL)) {
		sgd_err("event loop: %s", strerror(errno));
		return -1;
	}
	if (sgd_watch_add(d, d->sigfd, EPOLLIN, on_signal, NULL) ||
	    sgd_watch_add(d, d->timerfd, EPOLLIN, on_tick, NULL))
		return -1;
	return 0;
}

int sgd_loop_run(struct sgd *d)
{
	struct epoll_event ev[16];

	while (!d->stop) {
		int n = epoll_wait(d->epfd, ev, 16, 1000);

		if (n < 0 && errno != EINTR) {
			sgd_err("epoll: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n && !d->stop; i++) {
			struct watch *w = ev[i].data.ptr;

			if (w->fn)
				w->fn(d, w->arg, ev[i].events);
		}
		reap_dead_watches();
	}
	return 0;
}

void sgd_loop_fini(struct sgd *d)
{
	for (struct watch *w = watches; w; w = w->next)
		sgd_watch_del(d, w->fd);
	reap_dead_watches();
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->epfd >= 0)
		close(d->epfd);
}
