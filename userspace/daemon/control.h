/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The control socket smtpgatectl talks to. */
#ifndef SGD_CONTROL_H
#define SGD_CONTROL_H

#include "daemon.h"

int sgd_control_start(struct sgd *d);
void sgd_control_stop(struct sgd *d);
/* After a reload: runs the requests that waited for it, in their order
 * of arrival, until one starts another reload. */
void sgd_control_resume(struct sgd *d);

#endif
