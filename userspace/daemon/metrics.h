/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Prometheus /metrics (libmicrohttpd) and the optional textfile output. */
#ifndef SGD_METRICS_H
#define SGD_METRICS_H

#include "daemon.h"

int sgd_metrics_start(struct sgd *d);
void sgd_metrics_stop(struct sgd *d);

#endif
