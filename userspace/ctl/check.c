// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl check POLICY.json: the daemon's own validation, offline.
 *
 * The one relaxation: a file not owned by root is checked anyway (a
 * policy is usually edited and checked before it is installed) and the
 * ownership is reported as a warning, since smtpgated refuses such a
 * file outside --test-mode.  Everything else (syntax, unknown keys,
 * prefixes, names, group- or world-writable files, symbolic links) is
 * judged exactly as smtpgated judges it.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "ctl.h"
#include "load.h"

static void owner_warning(const char *path, struct sg_diag *d)
{
	struct passwd *pw;
	struct stat st;

	if (lstat(path, &st) || st.st_uid == 0 || !S_ISREG(st.st_mode))
		return;
	pw = getpwuid(st.st_uid);
	sg_diag_add(d, false, "%s: owned by %s (uid %u), not root: smtpgated refuses it until "
		    "it is owned by root (or runs with --test-mode)", path,
		    pw ? pw->pw_name : "?", (unsigned)st.st_uid);
}

static json_t *lines_json(const struct sg_diag *d, bool errors)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < d->n; i++)
		if (d->is_error[i] == errors && d->lines[i])
			json_array_append_new(arr, json_string(d->lines[i]));
	return arr;
}

static json_t *summary_json(const char *path, bool valid, const char *sha,
			    const struct sg_policy *p, const struct sg_diag *d)
{
	json_t *o = json_pack("{s:s, s:b, s:o, s:o}", "file", path, "valid", valid,
			      "errors", lines_json(d, true), "warnings", lines_json(d, false));

	if (o && valid) {
		json_object_set_new(o, "sha256", json_string(sha));
		json_object_set_new(o, "mode", json_string(p->mode == SG_MODE_MONITOR ? "monitor"
										   : "enforce"));
		json_object_set_new(o, "trusted_entries", json_integer((json_int_t)p->n_trusted));
		json_object_set_new(o, "relay_groups", json_integer((json_int_t)p->n_groups));
		json_object_set_new(o, "rate_classes", json_integer((json_int_t)p->n_classes));
	}
	return o;
}

int ctl_cmd_check(struct ctl *c)
{
	struct sg_load_opts opts = { .allow_any_owner = true };
	struct sg_diag diag = { 0 };
	struct sg_policy p;
	const char *path;
	char sha[65] = "";
	json_t *doc;
	bool valid;
	int rc;

	if (!ctl_parse(c, &rc))
		return rc;
	path = c->args.operand;
	sg_policy_init(&p);
	valid = !sg_policy_load(path, &opts, &p, sha, &diag);
	owner_warning(path, &diag);
	if (c->json) {
		doc = summary_json(path, valid, sha, &p, &diag);
		ctl_print_json(doc);
		json_decref(doc);
	} else {
		sg_diag_print(&diag, stderr);
		if (valid)
			printf("%s: ok (%s mode, %zu trusted entries, %zu relay groups, %zu rate "
			       "classes%s), sha256 %s\n", path,
			       p.mode == SG_MODE_MONITOR ? "monitor" : "enforce", p.n_trusted,
			       p.n_groups, p.n_classes,
			       diag.n_warnings ? ", with warnings" : "", sha);
		else
			printf("%s: invalid (%zu error%s): smtpgated would refuse it\n", path,
			       diag.n_errors, diag.n_errors == 1 ? "" : "s");
	}
	sg_diag_free(&diag);
	sg_policy_free(&p);
	return valid ? CTL_OK : CTL_FAILED;
}
