// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <pthread.h>
#include <sched.h>
#include "threads.h"

bool sg_second_thread_worth(size_t n)
{
	cpu_set_t set;

	return n >= SG_SECOND_THREAD_MIN && !sched_getaffinity(0, sizeof(set), &set) &&
	       CPU_COUNT(&set) >= 2;
}

struct task {
	void (*fn)(void *);
	void *arg;
};

static void *run_task(void *arg)
{
	struct task *t = arg;

	t->fn(t->arg);
	return NULL;
}

bool sg_run_beside(void (*here)(void *), void *here_arg, void (*there)(void *),
		   void *there_arg)
{
	struct task t = { there, there_arg };
	pthread_t second;
	bool threaded = !pthread_create(&second, NULL, run_task, &t);

	here(here_arg);
	if (threaded)
		pthread_join(second, NULL);
	else
		there(there_arg);
	return threaded;
}
