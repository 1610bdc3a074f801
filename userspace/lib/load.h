/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading smtpgate.json, policy.json and approvals.json with jansson.
 *
 * Validation reports every problem it finds, each naming the file, the
 * JSON path and the problem:
 *     policy.json: trusted[3].addr: "10.0.0.300" is not an IP prefix
 * Unknown keys are errors (a typo must not silently weaken a policy).
 * A file with any error is refused whole; warnings (an entry already
 * expired) do not refuse it.
 */
#ifndef SG_LOAD_H
#define SG_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "file_replace.h" /* SG_SAVED_NOT_DURABLE */
#include "policy.h"

struct sg_diag {
	char **lines;           /* "file: path: problem", errors and warnings in order */
	bool *is_error;
	size_t n;
	size_t n_errors;
	size_t n_warnings;
};

void sg_diag_free(struct sg_diag *d);
/* Prints every line to f, prefixed "error: " or "warning: ". */
void sg_diag_print(const struct sg_diag *d, void *file /* FILE * */);

struct sg_load_opts {
	/* Files are opened without following symlinks and refused if group-
	 * or world-writable; and if not owned by root unless this is set
	 * (tests run files from temporary directories). */
	bool allow_any_owner;
	/* Time used for "already expired" checks; 0 = now. */
	long long now_unix;
	/* Read a large trusted[] in this thread only (tests compare the
	 * two ways); otherwise two threads share it when two CPUs can. */
	bool one_thread;
	/* Parse approvals.json as one tree, not one approval at a time
	 * (tests compare the two ways). */
	bool read_whole;
};

/* Host config.  Returns 0, or -1 with errors in d.  *out must have been
 * sg_host_config_init'ed: on success it is replaced by the file's values
 * (defaults for what the file leaves out); on failure it is left exactly
 * as it was, so the caller still has usable defaults. */
int sg_config_load(const char *path, const struct sg_load_opts *o, struct sg_host_config *out,
		   struct sg_diag *d);

/* policy.json into *out (sg_policy_init'ed by the callee).  Returns 0 or
 * -1; *out is only filled on success.  The sha256 of the exact bytes read
 * is written to sha256_hex (65 bytes) if non-NULL. */
int sg_policy_load(const char *path, const struct sg_load_opts *o, struct sg_policy *out,
		   char *sha256_hex, struct sg_diag *d);
/* The same from a buffer (name is used in messages). */
int sg_policy_parse(const char *name, const char *json, size_t len,
		    const struct sg_load_opts *o, struct sg_policy *out, struct sg_diag *d);

/* How many times this process read a policy's trusted[] in two threads
 * (sg_load_opts.one_thread): for tests, which must know the fast way was
 * taken, not only that the result is right. */
unsigned long sg_load_two_thread_reads(void);

/* approvals.json: the trusted entries approved through smtpgatectl.
 * Relay and rate names are resolved against policy p; entries are
 * appended to *out (origin SG_ORIGIN_APPROVAL).  A missing file is an
 * empty registry.  The journal beside it (approvals_journal.h) is
 * applied over it: the result is the set of approvals in force. */
int sg_approvals_load(const char *path, const struct sg_policy *p,
		      const struct sg_load_opts *o, struct sg_trusted_entry **out, size_t *n,
		      struct sg_diag *d);
/* The same, appended to p itself (not yet indexed: sg_policy_index after
 * it), their texts in p's pool as policy.json's are (no copy of each, no
 * malloc per text).  0, or -1 with p's entries as they were. */
int sg_approvals_load_into(const char *path, struct sg_policy *p,
			   const struct sg_load_opts *o, struct sg_diag *d);
/* How many times this process read approvals.json's approvals one at a
 * time (not as one tree): for tests, as sg_load_two_thread_reads. */
unsigned long sg_approvals_streamed_reads(void);
/* Writes every SG_ORIGIN_APPROVAL entry of p durably: temp file, fsync,
 * rename, fsync the directory.  A crash at any instant leaves the old or
 * the new file.  Returns 0 (saved, durable); -errno with a message in err
 * if nothing changed (the file is as it was); or SG_SAVED_NOT_DURABLE,
 * with a message in err, if the new file is in place but the directory's
 * fsync failed: the save is done (a reload or restart reads the new
 * content) but a power loss may undo it. */
int sg_approvals_save(const char *path, const struct sg_policy *p, struct sg_err *err);

/* Opens a config/policy file safely (O_NOFOLLOW, regular file, not group-
 * or world-writable, owned by root unless allowed).  Returns an fd or
 * -errno with the reason in err. */
int sg_open_trusted_file(const char *path, const struct sg_load_opts *o, struct sg_err *err);

/* Parsing helpers shared with smtpgatectl: RFC 3339 -> unix seconds;
 * durations "30d", "12h", "90m", "45s", "2w" -> seconds. */
int sg_parse_rfc3339(const char *s, long long *unix_sec);
void sg_format_rfc3339(long long unix_sec, char *buf, size_t len);
int sg_parse_duration(const char *s, long long *seconds);

/* ---- limits and helpers the loaders share with smtpgatectl and the
 * control server (so that trust.add checks exactly what a file load
 * checks) ------------------------------------------------------------ */

/* Files larger than this are refused before parsing (a policy at the
 * SG_MAX_TRUSTED limit with entries of about 300 bytes is 315 MB; policy.json
 * is read through a window, never held whole: json_stream.h). */
#define SG_MAX_FILE_BYTES (384u << 20)

/* Limits of a trusted entry's text fields, in characters (UTF-8 code
 * points).  Shared with the control server so trust.add checks the same. */
#define SG_TICKET_MAX  64
#define SG_OWNER_MAX   128
#define SG_CONTACT_MAX 256
#define SG_NOTE_MAX    512
#define SG_CREATED_BY_MAX 256

/* Appends one line to d (errors and warnings in order).  A line that
 * cannot be stored for lack of memory is still counted, so a refusal
 * never turns into an acceptance. */
void sg_diag_add(struct sg_diag *d, bool is_error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Checks a ticket/owner/contact/note/created_by value the way the
 * loaders do: non-empty, at most max characters, no control characters.
 * Returns 0 or -EINVAL with the problem in err ("is 70 characters long,
 * at most 64"). */
int sg_check_text(const char *s, size_t max, struct sg_err *err);

/* Relay group and rate class names: [A-Za-z0-9_.-]{1,63}. */
bool sg_valid_name(const char *s);

/* Every character of s is one of [A-Za-z0-9_.-] (names, Unix groups). */
bool sg_name_chars_ok(const char *s);

/* The class a trusted entry gets when it names none: "default" if the
 * policy has a class of that name, else SG_NO_CLASS (unlimited). */
uint32_t sg_default_class(const struct sg_policy *p);

/* SHA-256 (Nettle) of buf as 64 lowercase hex digits + NUL.  Returns 0. */
int sg_sha256_hex(const void *buf, size_t len, char out[65]);
/* A 32-byte sha256 digest as 64 hex digits. */
void sg_sha256_hex_digest(const uint8_t md[32], char out[65]);

/* Reads a whole file opened by sg_open_trusted_file's rules into a
 * malloc'd buffer (NUL-terminated; *len excludes the NUL).  Returns 0,
 * -ENOENT (file missing; nothing added to d), or -errno with the reason
 * in d. */
int sg_read_trusted_file(const char *path, const struct sg_load_opts *o, char **buf,
			 size_t *len, struct sg_diag *d);

#endif
