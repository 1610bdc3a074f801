// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "prefault.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PREFAULT_MIN (1u << 20)

void sg_prefault(void *p, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(page - 1);

	if (len < PREFAULT_MIN || end <= start)
		return;
	/* The range is the caller's (malloc'd): populating keeps its
	 * contents, so a failure changes nothing. */
	(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}
