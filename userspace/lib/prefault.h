/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backing a large array with memory in one system call before it is
 * filled.  Filled page by page, each first touch is a fault: on a VM a
 * trap and, with the daemon's threads on several CPUs, often a TLB
 * shootdown (an interrupt to the other CPUs) for the zero page a read
 * mapped first.  For a million-entry policy that is tens of thousands of
 * faults, some 5 % of a start measured on a 2-vCPU VM.
 */
#ifndef SG_PREFAULT_H
#define SG_PREFAULT_H

#include <stddef.h>

/* Populates the whole pages of [p, p + len) for writing when len is
 * large (smaller ranges are left to faults); best effort: a kernel
 * without MADV_POPULATE_WRITE (before 5.14) or without memory for it
 * leaves them to faults, as before. */
void sg_prefault(void *p, size_t len);

#endif
