// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "notify.h"

#ifdef SG_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

void sgd_notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void sgd_notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading policy");
}

void sgd_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping; enforcement stays in force");
}

void sgd_notify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}
#else
void sgd_notify_ready(const char *status) { (void)status; }
void sgd_notify_reloading(void) {}
void sgd_notify_stopping(void) {}
void sgd_notify_status(const char *status) { (void)status; }
#endif
