/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The approvals journal: approvals.json is a snapshot, and every change
 * since it is one line appended to approvals.journal beside it, so a
 * trust add or del writes one short line (and one fdatasync) instead of
 * rewriting every approval.
 *
 *     {"op":"add","approval":{...an element of approvals.json's "approvals"...}}
 *     {"op":"del","addr":"198.18.1.5"}
 *
 * The set of approvals is approvals.json with the journal applied in
 * order: "add" puts the approval in (replacing one of the same prefix),
 * "del" takes the prefix out.  Applying a record twice changes nothing,
 * which is what makes compaction crash-safe: it replaces approvals.json
 * with the whole set (file_replace.c) and only then empties the journal,
 * so a crash in between leaves records the new snapshot already holds.
 *
 * A change is committed when its whole line (newline included) is in the
 * file and fdatasync'd.  A line that cannot be written whole, or whose
 * fdatasync fails, is cut back off, and the change is reported not made.
 * A last line without its newline is a crash mid-write of a change that
 * was never acknowledged: the loader ignores it and opening the journal
 * for writing cuts it off, so no later line is glued onto it.
 * sg_approvals_load() (load.h) reads the snapshot and the journal.
 */
#ifndef SG_APPROVALS_JOURNAL_H
#define SG_APPROVALS_JOURNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "err.h"
#include "file_replace.h"
#include "load.h"
#include "policy.h"

/* The journal of approvals.json at approvals_path: the same directory,
 * the name with ".json" replaced by ".journal".  0 or -ENAMETOOLONG. */
int sg_approvals_journal_path(const char *approvals_path, char *buf, size_t len);

/* An approval as approvals.json lists it (names from p), or NULL (ENOMEM). */
json_t *sg_approval_json(const struct sg_policy *p, const struct sg_trusted_entry *t);

/* Applies the journal of approvals_path (if there is one) to set, whose
 * entries from first on are the approvals of the snapshot (origin
 * SG_ORIGIN_APPROVAL; set has no index, and its entries before first are
 * left alone), with names resolved against p (which may be set), as
 * sg_j_trusted() does for approvals.json.
 * Only the approvals the journal leaves in place are resolved: one added
 * and removed again may name a group the policy has lost since.
 * Problems go to d.  0, or -1 if there were errors. */
int sg_approvals_replay(const char *approvals_path, const struct sg_policy *p,
			const struct sg_load_opts *o, long long now, struct sg_policy *set,
			size_t first, struct sg_diag *d);

struct sg_journal;

/* Opens (creating it, durably) the journal of approvals_path for
 * appending, cutting off an incomplete last line.  0 or -errno. */
int sg_journal_open(struct sg_journal **out, const char *approvals_path, struct sg_err *err);
void sg_journal_close(struct sg_journal *j);

/* Records one change.  Returns 0 (committed and durable), -errno with
 * the reason in err (not recorded: the journal is as it was), or
 * SG_SAVED_NOT_DURABLE with the reason in err (committed, but cutting a
 * line whose fdatasync failed back off failed too: a power loss may undo
 * it). */
int sg_journal_add(struct sg_journal *j, const struct sg_policy *p,
		   const struct sg_trusted_entry *t, struct sg_err *err);
/* Records n additions (t[0..n)) as one append and one fdatasync: all of
 * them committed, or none; the same returns as sg_journal_add. */
int sg_journal_add_batch(struct sg_journal *j, const struct sg_policy *p,
			 const struct sg_trusted_entry *t, size_t n, struct sg_err *err);
int sg_journal_del(struct sg_journal *j, const struct sg_prefix *prefix, struct sg_err *err);

/* Records since the last compaction (or since opening). */
size_t sg_journal_records(const struct sg_journal *j);
/* Is it time to compact?  After more records than max(1024, the number
 * of approvals): a compaction costs about one rewrite of approvals.json,
 * so spread over that many changes it adds little to each. */
bool sg_journal_wants_compaction(const struct sg_journal *j, const struct sg_policy *p);
/* Writes approvals.json from the approvals of p (which must hold every
 * recorded change) and empties the journal.  0; -errno with the reason
 * in err (approvals.json and the journal together still hold every
 * change); or SG_SAVED_NOT_DURABLE (approvals.json is replaced but not
 * durably, so the journal is kept: still nothing lost). */
int sg_journal_compact(struct sg_journal *j, const struct sg_policy *p, struct sg_err *err);

#endif
