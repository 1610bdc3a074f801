/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few places that split work with a second thread (reading a large
 * trusted[], placing its entries in a new generation) ask here first.
 */
#ifndef SG_THREADS_H
#define SG_THREADS_H

#include <stdbool.h>
#include <stddef.h>

/* Below this many items a second thread costs about what it saves. */
#define SG_SECOND_THREAD_MIN 8192

/* Work over n items is worth a second thread: enough of them, and a
 * second CPU this process may run on. */
bool sg_second_thread_worth(size_t n);

#endif
