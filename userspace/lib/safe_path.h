/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The daemon's own directories and the files it creates in them (state,
 * logs, lock, control socket, pins).  It runs as root: a directory that
 * someone else may write lets them plant a symbolic link where the
 * daemon is about to create or append to a file, and so make root
 * write anywhere.  So the directories must be writable by root alone,
 * and files are opened without following a final symbolic link.
 */
#ifndef SG_SAFE_PATH_H
#define SG_SAFE_PATH_H

#include <stdbool.h>
#include <sys/types.h>
#include "err.h"

/* Refuses a directory that is group- or world-writable, or owned by
 * someone other than root or this process's user (unless
 * allow_any_owner, for tests).  `what` names it as the config does
 * ("paths.state_dir").  A symbolic link to a directory is followed:
 * the directory it leads to is checked.  0 or a negative errno. */
int sg_check_private_dir(const char *what, const char *path, bool allow_any_owner,
			 struct sg_err *err);

/* Opens path with flags (O_CREAT and the access mode are the caller's)
 * and O_NOFOLLOW, O_NONBLOCK (a planted FIFO must not hang us), O_NOCTTY
 * and O_CLOEXEC added, then refuses anything but a regular file with
 * one link.  The file descriptor, or a negative errno with err set. */
int sg_open_own_file(const char *path, int flags, mode_t mode, struct sg_err *err);

#endif
