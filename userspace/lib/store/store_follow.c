// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Following the fleet store from a thread of its own, so the daemon's
 * single event loop never blocks on etcd: the thread keeps a watch open,
 * queues what it sees, and signals an eventfd the loop polls.  After an
 * outage it resumes from the revision after the last it queued, so
 * nothing is missed or seen twice; after a compaction (or if the loop
 * falls so far behind that the queue would pass its bound) it drops the
 * queue, loads the whole state and queues that instead.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "store.h"

/* The loop applies items far faster than etcd produces them; a queue
 * this long means it is stuck, and a reload is cheaper than the queue. */
#define QUEUE_MAX 100000
#define RETRY_MS 1000
#define STEP_MS 100
#define RESYNC 1        /* a callback's "stop and load everything" */

struct node {
	struct sg_store_item it;
	struct node *next;
};

struct sg_store_follower {
	struct sg_store *s;
	pthread_t thread;
	int efd;
	volatile int stop;
	volatile int recheck;   /* sg_store_follow_recheck: a cancel that is not a stop */
	int64_t next;           /* the thread's: the revision to watch from */
	uint64_t refused;       /* the thread's, copied into st */

	pthread_mutex_t lock;   /* the queue and st */
	struct node *head, *tail;
	size_t n;
	struct sg_store_follow_status st;
};

void sg_store_item_free(struct sg_store_item *it)
{
	free(it->ev.rec.value);
	it->ev.rec.value = NULL;
	sg_store_state_free(&it->state);
}

static void clear_queue(struct sg_store_follower *f)
{
	while (f->head) {
		struct node *n = f->head;

		f->head = n->next;
		sg_store_item_free(&n->it);
		free(n);
	}
	f->tail = NULL;
	f->n = 0;
}

/* Queues an item (taking what it owns) and wakes the loop.  Returns 0,
 * RESYNC if the queue is full (it was dropped: load everything), or
 * -ENOMEM. */
static int enqueue(struct sg_store_follower *f, struct sg_store_item *it)
{
	struct node *n = calloc(1, sizeof(*n));
	uint64_t one = 1;
	int rc = 0;

	if (!n)
		return -ENOMEM;
	n->it = *it;
	memset(it, 0, sizeof(*it));
	pthread_mutex_lock(&f->lock);
	if (f->n >= QUEUE_MAX && n->it.type != SG_STORE_ITEM_STATE) {
		clear_queue(f);
		sg_store_item_free(&n->it);
		free(n);
		rc = RESYNC;
	} else {
		if (f->tail)
			f->tail->next = n;
		else
			f->head = n;
		f->tail = n;
		f->n++;
		/* Under the lock, so a take that empties the queue and resets
		 * the eventfd cannot miss this item. */
		if (write(f->efd, &one, sizeof(one)) != sizeof(one))
			rc = -errno;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static void mark_up(struct sg_store_follower *f, int64_t revision)
{
	pthread_mutex_lock(&f->lock);
	f->st.up = true;
	f->st.error[0] = '\0';
	f->st.last_sync = (int64_t)time(NULL);
	if (revision > f->st.revision)
		f->st.revision = revision;
	pthread_mutex_unlock(&f->lock);
}

static int on_event(void *ctx, const struct sg_store_event *ev)
{
	struct sg_store_follower *f = ctx;
	struct sg_store_item it = { .type = SG_STORE_ITEM_EVENT, .ev = *ev };
	int rc;

	if (__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
		return -EINTR;
	mark_up(f, ev->revision);
	if (ev->rec.kind == SG_STORE_SYNC && !ev->revision)
		return 0;       /* established: nothing for the loop to apply */
	if (ev->rec.value && !(it.ev.rec.value = strdup(ev->rec.value)))
		return -ENOMEM;
	rc = enqueue(f, &it);
	if (!rc && ev->revision >= f->next)
		f->next = ev->revision + 1;
	return rc;
}

static void mark_down(struct sg_store_follower *f, const char *why)
{
	pthread_mutex_lock(&f->lock);
	f->st.up = false;
	f->st.reconnects++;
	snprintf(f->st.error, sizeof(f->st.error), "%s", why);
	pthread_mutex_unlock(&f->lock);
}

/* Sleeps RETRY_MS unless asked to stop. */
static void pause_retry(struct sg_store_follower *f)
{
	for (int i = 0; i < RETRY_MS / STEP_MS && !__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE); i++)
		usleep(STEP_MS * 1000);
}

/* Loads everything and queues it as one item. */
static int resync(struct sg_store_follower *f, struct sg_err *err)
{
	struct sg_store_item it = { .type = SG_STORE_ITEM_STATE };
	int rc = sg_store_load(f->s, &it.state, err);

	if (rc)
		return rc;
	f->refused += it.state.n_refused;
	f->next = it.state.revision + 1;
	mark_up(f, it.state.revision);
	pthread_mutex_lock(&f->lock);
	clear_queue(f);         /* the state supersedes whatever waits */
	pthread_mutex_unlock(&f->lock);
	rc = enqueue(f, &it);
	sg_store_item_free(&it);
	return rc;
}

static void *follow(void *arg)
{
	struct sg_store_follower *f = arg;
	bool need_resync = false;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		struct sg_err err = { 0 };
		uint64_t refused = 0;
		bool resynced = false;
		int rc;

		if (need_resync) {
			rc = resync(f, &err);
			need_resync = rc != 0;
			resynced = !rc;
		} else {
			rc = sg_store_watch(f->s, f->next, 0, on_event, f, &refused, &err);
			f->refused += refused;
			if (rc == RESYNC || rc == SG_STORE_ECOMPACTED) {
				need_resync = true;
				continue;
			}
		}
		pthread_mutex_lock(&f->lock);
		f->st.refused = f->refused;
		pthread_mutex_unlock(&f->lock);
		if (__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
			break;
		if (rc == -EINTR && __atomic_exchange_n(&f->recheck, 0, __ATOMIC_ACQ_REL)) {
			/* Watch again at once: it says soon enough whether
			 * the store still answers. */
			mark_down(f, "re-checking the store after a request to it failed");
			continue;
		}
		if (rc == -EINTR)
			break;
		if (rc) {
			mark_down(f, err.msg[0] ? err.msg : "the watch ended");
			pause_retry(f);
		} else if (!resynced) {
			/* A watch without a time limit ends only with an error;
			 * should one ever end cleanly, do not spin. */
			pause_retry(f);
		}
	}
	return NULL;
}

int sg_store_follow_start(struct sg_store *s, int64_t from_rev, struct sg_store_follower **out,
			  struct sg_err *err)
{
	struct sg_store_follower *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return sg_errf(err, -ENOMEM, "out of memory");
	f->s = s;
	f->next = from_rev > 0 ? from_rev : 1;
	f->st.revision = f->next - 1;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		rc = sg_errf(err, -errno, "eventfd: %s", strerror(errno));
		free(f);
		return rc;
	}
	pthread_mutex_init(&f->lock, NULL);
	rc = pthread_create(&f->thread, NULL, follow, f);
	if (rc) {
		close(f->efd);
		pthread_mutex_destroy(&f->lock);
		free(f);
		return sg_errf(err, -rc, "starting the store's watch thread: %s", strerror(rc));
	}
	*out = f;
	return 0;
}

int sg_store_follow_fd(const struct sg_store_follower *f)
{
	return f->efd;
}

size_t sg_store_follow_take(struct sg_store_follower *f, struct sg_store_item *items, size_t max)
{
	size_t n = 0;
	uint64_t count;

	pthread_mutex_lock(&f->lock);
	while (f->head && n < max) {
		struct node *node = f->head;

		f->head = node->next;
		items[n++] = node->it;
		free(node);
		f->n--;
	}
	if (!f->head) {
		f->tail = NULL;
		/* Empty: reset the eventfd (non-blocking; nothing to read is
		 * fine). */
		if (read(f->efd, &count, sizeof(count)) < 0)
			count = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

void sg_store_follow_status(struct sg_store_follower *f, struct sg_store_follow_status *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->st;
	pthread_mutex_unlock(&f->lock);
}

void sg_store_follow_stop(struct sg_store_follower *f)
{
	if (!f)
		return;
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	sg_store_watch_cancel(f->s);
	pthread_join(f->thread, NULL);
	clear_queue(f);
	close(f->efd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void sg_store_follow_recheck(struct sg_store_follower *f)
{
	__atomic_store_n(&f->recheck, 1, __ATOMIC_RELEASE);
	sg_store_watch_cancel(f->s);
}
