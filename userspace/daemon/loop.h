/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The event loop: epoll over whatever fds the parts of the daemon watch. */
#ifndef SGD_LOOP_H
#define SGD_LOOP_H

#include <stdint.h>
#include "daemon.h"

typedef void (*sgd_watch_fn)(struct sgd *d, void *arg, uint32_t events);

/* Watches fd for `events` (EPOLLIN...); fn runs in the loop thread. */
int sgd_watch_add(struct sgd *d, int fd, uint32_t events, sgd_watch_fn fn, void *arg);
void sgd_watch_del(struct sgd *d, int fd);
/* Runs until d->stop. */
int sgd_loop_run(struct sgd *d);
int sgd_loop_init(struct sgd *d);
void sgd_loop_fini(struct sgd *d);

#endif
