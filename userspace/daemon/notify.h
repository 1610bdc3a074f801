/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * systemd readiness (Type=notify).  Built without libsystemd these are
 * no-ops: the daemon works the same, only systemd is not told.
 */
#ifndef SGD_NOTIFY_H
#define SGD_NOTIFY_H

void sgd_notify_ready(const char *status);
void sgd_notify_reloading(void);
void sgd_notify_stopping(void);
void sgd_notify_status(const char *status);

#endif
