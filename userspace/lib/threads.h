/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few places that split work with a second thread (reading a large
 * trusted[], placing its entries in a new generation, opening the data
 * plane while policy.json is read) go through here.
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

/* Runs there(there_arg) in a second thread while here(here_arg) runs in
 * this one, and returns once both are done: true if they ran side by
 * side, false if no thread could be made (there() then ran here too,
 * after here()).  Either way both ran. */
bool sg_run_beside(void (*here)(void *), void *here_arg, void (*there)(void *),
		   void *there_arg);

#endif
