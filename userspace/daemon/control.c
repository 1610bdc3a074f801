// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Placeholder until the control server lands (issue: smtpgatectl). */
#include "control.h"

int sgd_control_start(struct sgd *d)
{
	(void)d;
	return 0;
}

void sgd_control_stop(struct sgd *d)
{
	(void)d;
}
