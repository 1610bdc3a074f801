// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Placeholder until the metrics server lands (issue: monitoring). */
#include "metrics.h"

int sgd_metrics_start(struct sgd *d)
{
	(void)d;
	return 0;
}

void sgd_metrics_stop(struct sgd *d)
{
	(void)d;
}
