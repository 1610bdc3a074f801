// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Saving approvals: each change is one line of approvals.journal, and
 * the journal is folded into approvals.json at start and after it has
 * grown past the number of approvals (approvals_journal.h).  So a trust
 * add or del costs one short append and one fdatasync, however many
 * approvals there are, and approvals.json stays the readable snapshot.
 */
#include "approvals_journal.h"
#include "daemon.h"
#include "log.h"

/* The journal, opened on first use (and again after a failed open). */
static int journal(struct sgd *d, struct sg_err *err)
{
	return d->journal ? 0 : sg_journal_open(&d->journal, d->approvals_path, err);
}

static void not_durable(struct sgd *d, const struct sg_err *err)
{
	sgd_warn("%s", err->msg);
	pthread_mutex_lock(&d->lock);
	d->approvals_not_durable++;
	pthread_mutex_unlock(&d->lock);
}

/* After a saved change: the change is safe in the journal whatever
 * happens here, so a failure is only logged (and retried next time). */
static void maybe_compact(struct sgd *d)
{
	struct sg_err err = { 0 };
	int rc;

	if (!sg_journal_wants_compaction(d->journal, &d->policy))
		return;
	rc = sg_journal_compact(d->journal, &d->policy, &err);
	if (rc)
		sgd_warn("compacting approvals.journal into approvals.json: %s (every approval "
			 "is still in the two files)", err.msg);
}

static int saved(struct sgd *d, int rc, struct sg_err *err)
{
	if (rc == SG_SAVED_NOT_DURABLE)
		not_durable(d, err);
	if (rc >= 0)
		maybe_compact(d);
	return rc;
}

int sgd_save_approval_added(struct sgd *d, const struct sg_trusted_entry *t,
			    struct sg_err *err)
{
	int rc = journal(d, err);

	if (rc)
		return rc;
	return saved(d, sg_journal_add(d->journal, &d->policy, t, err), err);
}

int sgd_save_approvals_added(struct sgd *d, const struct sg_trusted_entry *t, size_t n,
			     struct sg_err *err)
{
	int rc = journal(d, err);

	if (rc)
		return rc;
	return saved(d, sg_journal_add_batch(d->journal, &d->policy, t, n, err), err);
}

int sgd_save_approval_removed(struct sgd *d, const struct sg_prefix *prefix,
			      struct sg_err *err)
{
	int rc = journal(d, err);

	if (rc)
		return rc;
	return saved(d, sg_journal_del(d->journal, prefix, err), err);
}

void sgd_approvals_compact(struct sgd *d)
{
	struct sg_err err = { 0 };
	int rc;

	if (journal(d, &err)) {
		sgd_warn("approvals.journal: %s; approval changes fail until it can be opened",
			 err.msg);
		return;
	}
	if (!sg_journal_records(d->journal))
		return;
	rc = sg_journal_compact(d->journal, &d->policy, &err);
	if (rc == SG_SAVED_NOT_DURABLE)
		not_durable(d, &err);
	else if (rc)
		sgd_warn("compacting approvals.journal into approvals.json: %s (every approval "
			 "is still in the two files)", err.msg);
}

void sgd_approvals_close(struct sgd *d)
{
	sg_journal_close(d->journal);
	d->journal = NULL;
}
