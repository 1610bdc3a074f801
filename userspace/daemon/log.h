/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Daemon logging.  To stderr, with sd-daemon "<N>" priority prefixes when
 * stderr is the journal (JOURNAL_STREAM set), so journald keeps levels;
 * also to syslog(3) when asked (--syslog) for hosts without journald.
 */
#ifndef SGD_LOG_H
#define SGD_LOG_H

#include <stdbool.h>
#include <syslog.h>

void sgd_log_init(bool use_syslog, bool verbose);
void sgd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sgd_err(...)    sgd_log(LOG_ERR, __VA_ARGS__)
#define sgd_warn(...)   sgd_log(LOG_WARNING, __VA_ARGS__)
#define sgd_notice(...) sgd_log(LOG_NOTICE, __VA_ARGS__)
#define sgd_info(...)   sgd_log(LOG_INFO, __VA_ARGS__)
#define sgd_debug(...)  sgd_log(LOG_DEBUG, __VA_ARGS__)

#endif
