/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libcurl, loaded when the fleet store is used (dlopen) rather than
 * linked: linked, it and the ~40 libraries it needs (gnutls, krb5, ldap,
 * ssh2, nghttp2...) cost every smtpgated about 5 MiB of memory, though
 * most gateways have no fleet store and never make an HTTP request.
 * sg_curl_load() loads it the first time a store is opened
 * (sg_etcd_open), and the etcd client calls it through sg_curl.
 *
 * <curl/curl.h> still gives the types and constants: each pointer has the
 * type of the function it stands for (__typeof__), so a call through it
 * is checked as a direct call would be.  curl_easy_setopt and
 * curl_easy_getinfo are variadic, and curl reads their value as the type
 * the option says; sg_curl_setopt_* and sg_curl_getinfo_long take the
 * value with that type and refuse, at compile time, an option of another
 * kind (CURLOPTTYPE_*, CURLINFO_TYPEMASK).  Calling curl_* directly
 * does not link: nothing links -lcurl.
 */
#ifndef SG_CURL_DL_H
#define SG_CURL_DL_H

#include <curl/curl.h>
#include "err.h"

/* The soname of libcurl's ABI 4 (Debian: libcurl4). */
#define SG_CURL_SONAME "libcurl.so.4"

/* X(name) for curl_<name>: every libcurl function the etcd client calls. */
#define SG_CURL_FUNCS(X)                                                             \
	X(global_init) X(easy_strerror) X(easy_init) X(easy_cleanup) X(easy_setopt)   \
	X(easy_getinfo) X(easy_perform) X(multi_init) X(multi_cleanup)                \
	X(multi_add_handle) X(multi_remove_handle) X(multi_perform) X(multi_poll)     \
	X(multi_info_read) X(slist_append) X(slist_free_all)

struct sg_curl_api {
#define SG_CURL_FIELD(name) __typeof__(curl_##name) *name;
	SG_CURL_FUNCS(SG_CURL_FIELD)
#undef SG_CURL_FIELD
};

/* Filled by sg_curl_load; use only after it returned 0. */
extern struct sg_curl_api sg_curl;

/* Loads libcurl.so.4 and calls curl_global_init, once per process
 * (thread-safe; later calls return the first one's result).  Returns 0,
 * or -ENOENT (the library or one of its functions could not be loaded:
 * the message names libcurl.so.4 and says what dlerror() said) or -EIO
 * (curl_global_init failed). */
int sg_curl_load(struct sg_err *err);

/* ---- the variadic calls, typed ----------------------------------------- */

#define SG_CURL_OPT_OF(opt, type) ((opt) >= (type) && (opt) < (type) + 10000)

static inline CURLcode sg_curl_setopt_long_(CURL *c, CURLoption opt, long v)
{
	return sg_curl.easy_setopt(c, opt, v);
}

static inline CURLcode sg_curl_setopt_str_(CURL *c, CURLoption opt, const char *v)
{
	return sg_curl.easy_setopt(c, opt, v);
}

static inline CURLcode sg_curl_setopt_slist_(CURL *c, CURLoption opt, struct curl_slist *v)
{
	return sg_curl.easy_setopt(c, opt, v);
}

static inline CURLcode sg_curl_setopt_ptr_(CURL *c, CURLoption opt, void *v)
{
	return sg_curl.easy_setopt(c, opt, v);
}

static inline CURLcode sg_curl_setopt_write_(CURL *c, CURLoption opt, curl_write_callback v)
{
	return sg_curl.easy_setopt(c, opt, v);
}

static inline CURLcode sg_curl_getinfo_long_(CURL *c, CURLINFO info, long *v)
{
	return sg_curl.easy_getinfo(c, info, v);
}

/* A CURLOPTTYPE_LONG (or _VALUES) option. */
#define sg_curl_setopt_long(c, opt, v) __extension__({                                \
	_Static_assert(SG_CURL_OPT_OF(opt, CURLOPTTYPE_LONG), #opt " does not take a long"); \
	sg_curl_setopt_long_((c), (opt), (v)); })
/* A CURLOPTTYPE_STRINGPOINT option (curl copies the string). */
#define sg_curl_setopt_str(c, opt, v) __extension__({                                 \
	_Static_assert(SG_CURL_OPT_OF(opt, CURLOPTTYPE_STRINGPOINT),                    \
		       #opt " does not take a string");                                  \
	sg_curl_setopt_str_((c), (opt), (v)); })
/* A CURLOPTTYPE_SLISTPOINT option (kept by reference: free it after). */
#define sg_curl_setopt_slist(c, opt, v) __extension__({                               \
	_Static_assert(SG_CURL_OPT_OF(opt, CURLOPTTYPE_SLISTPOINT),                     \
		       #opt " does not take a curl_slist");                              \
	sg_curl_setopt_slist_((c), (opt), (v)); })
/* A CURLOPTTYPE_OBJECTPOINT or _CBPOINT option (a buffer, a callback's
 * data), kept by reference. */
#define sg_curl_setopt_ptr(c, opt, v) __extension__({                                 \
	_Static_assert(SG_CURL_OPT_OF(opt, CURLOPTTYPE_OBJECTPOINT),                    \
		       #opt " does not take a pointer");                                 \
	sg_curl_setopt_ptr_((c), (opt), (v)); })
/* CURLOPT_WRITEFUNCTION, the only callback set. */
#define sg_curl_setopt_write(c, opt, v) __extension__({                               \
	_Static_assert((opt) == CURLOPT_WRITEFUNCTION, #opt " is not CURLOPT_WRITEFUNCTION"); \
	sg_curl_setopt_write_((c), (opt), (v)); })
/* A CURLINFO_LONG item. */
#define sg_curl_getinfo_long(c, info, v) __extension__({                              \
	_Static_assert(((info) & CURLINFO_TYPEMASK) == CURLINFO_LONG,                  \
		       #info " is not a long");                                          \
	sg_curl_getinfo_long_((c), (info), (v)); })

#endif
