// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <sched.h>
#include "threads.h"

bool sg_second_thread_worth(size_t n)
{
	cpu_set_t set;

	return n >= SG_SECOND_THREAD_MIN && !sched_getaffinity(0, sizeof(set), &set) &&
	       CPU_COUNT(&set) >= 2;
}
