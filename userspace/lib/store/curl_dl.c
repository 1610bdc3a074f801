// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libcurl loaded on first use (see curl_dl.h for why): dlopen of
 * libcurl.so.4, one dlsym per function the etcd client calls, then
 * curl_global_init, once per process.  The library stays loaded until
 * the process ends (curl_global_cleanup is never called either: the
 * watch thread may still use it).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "curl_dl.h"

struct sg_curl_api sg_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
/* The first load's outcome, for every caller. */
static struct sg_err load_err;

static void load(void)
{
	const char *why;
	CURLcode cc;
	void *lib;

	/* RTLD_NOW: a symbol missing is found here, not in the middle of a
	 * request; RTLD_LOCAL: curl's symbols stay out of the global scope. */
	lib = dlopen(SG_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		why = dlerror();
		sg_errf(&load_err, -ENOENT, "cannot load %s, which the fleet store's etcd client "
			"needs (Debian: install libcurl4): %s", SG_CURL_SONAME,
			why ? why : "(dlerror() says nothing)");
		return;
	}
#define SG_CURL_SYM(name)                                                             \
	dlerror();                                                                     \
	*(void **)&sg_curl.name = dlsym(lib, "curl_" #name);                           \
	if (!sg_curl.name) {                                                           \
		why = dlerror();                                                       \
		sg_errf(&load_err, -ENOENT, "%s has no curl_" #name " (too old?): %s",    \
			SG_CURL_SONAME, why ? why : "(dlerror() says nothing)");          \
		goto fail;                                                             \
	}
	SG_CURL_FUNCS(SG_CURL_SYM)
#undef SG_CURL_SYM
	cc = sg_curl.global_init(CURL_GLOBAL_DEFAULT);
	if (cc == CURLE_OK)
		return;
	sg_errf(&load_err, -EIO, "%s: curl_global_init: %s", SG_CURL_SONAME,
		sg_curl.easy_strerror(cc));
fail:
	/* No pointer into a library that is not usable. */
	memset(&sg_curl, 0, sizeof(sg_curl));
	dlclose(lib);
}

int sg_curl_load(struct sg_err *err)
{
	pthread_once(&load_once, load);
	if (load_err.code)
		return sg_errf(err, load_err.code, "%s", load_err.msg);
	return 0;
}
