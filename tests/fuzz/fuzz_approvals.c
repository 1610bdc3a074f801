// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the approvals file loader (approvals.json), names
 * resolved against a fixed policy.  Properties: read one approval at a
 * time or as one tree, the file gives the same answer and the same
 * entries; loaded into a policy itself (sg_approvals_load_into) it gives
 * the same answer and entries after the policy's own, and a refused file
 * leaves the policy's entries as they were; an accepted file saves
 * (sg_approvals_save) and loads back to the same entries; the merge of
 * its entries into the policy succeeds.
 */
#include <sys/stat.h>
#include "fuzz_common.h"
#include "load.h"
#include "policy.h"

static const char policy_json[] =
	"{\"mode\": \"enforce\", \"ports\": [25, 465, 587],"
	" \"scope\": [\"10.20.0.0/16\", \"2001:db8:20::/48\"],"
	" \"relays\": {\"internal\": [{\"addr\": \"10.0.0.25\", \"ports\": [25]}],"
	"  \"external\": [{\"addr\": \"192.0.2.25\"}, {\"addr\": \"2001:db8::25\"}]},"
	" \"rate_classes\": {\"default\": {\"conn_per_sec\": 10, \"conn_burst\": 50},"
	"  \"bulk\": {\"bytes_per_sec\": 1000000}},"
	" \"unregistered\": {\"action\": \"drop\"},"
	" \"trusted\": [{\"addr\": \"10.20.1.5\", \"relays\": [\"internal\"],"
	"  \"ticket\": \"POL-1\", \"owner\": \"app\"}]}";

static struct sg_policy policy;
static char in_path[128], out_path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sg_load_opts o = { .allow_any_owner = true, .now_unix = 1760000000 };
	struct sg_diag d = { 0 };

	(void)argc;
	(void)argv;
	umask(077);
	if (sg_policy_parse("policy.json", policy_json, strlen(policy_json), &o, &policy, &d)) {
		sg_diag_print(&d, stderr);
		abort();
	}
	sg_diag_free(&d);
	fz_path(in_path, sizeof(in_path), "approvals.json");
	fz_path(out_path, sizeof(out_path), "saved.json");
	return 0;
}

static void free_entries(struct sg_trusted_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sg_trusted_entry_free(&e[i]);
	free(e);
}

static bool same_entry(const struct sg_trusted_entry *a, const struct sg_trusted_entry *b)
{
#define SAME_STR(x, y) (!(x) == !(y) && (!(x) || !strcmp((x), (y))))
	return sg_prefix_equal(&a->prefix, &b->prefix) && a->groups == b->groups &&
	       sg_entry_class(a) == sg_entry_class(b) && a->expires == b->expires &&
	       sg_entry_created(a) == sg_entry_created(b) && SAME_STR(a->ticket, b->ticket) &&
	       SAME_STR(a->owner, b->owner) &&
	       SAME_STR(sg_entry_contact(a), sg_entry_contact(b)) &&
	       SAME_STR(sg_entry_note(a), sg_entry_note(b)) &&
	       SAME_STR(sg_entry_created_by(a), sg_entry_created_by(b));
#undef SAME_STR
}

/* The file loaded into a fresh copy of the policy agrees with rc and
 * e[0..n) of sg_approvals_load. */
static void check_load_into(const struct sg_load_opts *o, int rc,
			    const struct sg_trusted_entry *e, size_t n)
{
	struct sg_diag d = { 0 };
	struct sg_policy into;
	size_t own;
	int rc_into;

	if (sg_policy_parse("policy.json", policy_json, strlen(policy_json), o, &into, &d))
		abort();
	own = into.n_trusted;
	rc_into = sg_approvals_load_into(in_path, &into, o, &d);
	fz_check(rc_into == rc, "load_into: rc %d, load: rc %d", rc_into, rc);
	fz_check(into.n_trusted == own + (rc ? 0 : n) && into.n_approvals == (rc ? 0 : n),
		 "load_into (rc %d): %zu entries, %zu approvals; load: %zu", rc_into,
		 into.n_trusted, into.n_approvals, n);
	fz_check(!strcmp(into.trusted[0].ticket, "POL-1"), "the policy's entry changed");
	for (size_t i = 0; !rc && i < n; i++)
		fz_check(same_entry(&e[i], &into.trusted[own + i]), "entry %zu differs, loaded "
			 "into the policy", i);
	sg_diag_free(&d);
	sg_policy_free(&into);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_load_opts o = { .allow_any_owner = true, .now_unix = 1760000000 };
	struct sg_trusted_entry *e = NULL, *back = NULL;
	size_t n = 0, n_back = 0;
	struct sg_diag d = { 0 };
	struct sg_policy merged;
	struct sg_err err = { 0 };
	int rc, rc_whole;

	fz_write_file(in_path, data, size);
	rc = sg_approvals_load(in_path, &policy, &o, &e, &n, &d);
	fz_check((rc == 0) == (d.n_errors == 0), "rc %d with %zu errors", rc, d.n_errors);
	sg_diag_free(&d);
	o.read_whole = true;
	rc_whole = sg_approvals_load(in_path, &policy, &o, &back, &n_back, &d);
	o.read_whole = false;
	sg_diag_free(&d);
	fz_check(rc_whole == rc && n_back == n, "streamed: rc %d, %zu entries; whole: rc %d, "
		 "%zu entries", rc, n, rc_whole, n_back);
	for (size_t i = 0; i < n; i++)
		fz_check(same_entry(&e[i], &back[i]), "entry %zu differs, streamed and whole", i);
	free_entries(back, n_back);
	back = NULL;
	n_back = 0;
	check_load_into(&o, rc, e, n);
	if (rc) {
		fz_check(n == 0, "a refused file gave %zu entries", n);
		free_entries(e, n);
		return 0;
	}
	/* Round trip: the policy's entry plus these, saved and loaded back. */
	merged = policy;
	merged.trusted = NULL;
	merged.n_trusted = merged.cap_trusted = 0;
	for (size_t i = 0; i < n; i++) {
		fz_check(e[i].origin == SG_ORIGIN_APPROVAL, "entry %zu origin %d", i, e[i].origin);
		fz_check(!sg_policy_add_trusted(&merged, &e[i]), "merge of entry %zu", i);
	}
	fz_check(!sg_approvals_save(out_path, &merged, &err), "save: %s", err.msg);
	rc = sg_approvals_load(out_path, &policy, &o, &back, &n_back, &d);
	if (rc)
		sg_diag_print(&d, stderr);
	fz_check(!rc && n_back == n, "reload of the saved file: rc %d, %zu of %zu entries", rc,
		 n_back, n);
	for (size_t i = 0; i < n; i++)
		fz_check(same_entry(&e[i], &back[i]), "entry %zu differs after save and load", i);
	sg_diag_free(&d);
	for (size_t i = 0; i < merged.n_trusted; i++)
		sg_trusted_entry_free(&merged.trusted[i]);
	free(merged.trusted);
	free_entries(e, n);
	free_entries(back, n_back);
	return 0;
}
