// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Keeping the configured hooks attached.  At start every configured
 * interface is attached (replacing in place what a previous run left);
 * an interface that does not exist yet is attached by the link watcher
 * the moment it appears, and one that disappears is re-attached when it
 * comes back.  Only Ethernet devices are attached (linktype.h): a
 * configured interface of another type stops the daemon at start (and
 * --check), and one that appears later is refused and logged.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include "daemon.h"
#include "linktype.h"
#include "log.h"

void sgd_refresh_slot_names(struct sgd *d)
{
	struct sg_attachment a[SG_MAX_ATTACH];
	int n = sg_dp_attachments(d->dp, a, SG_MAX_ATTACH);

	pthread_mutex_lock(&d->lock);
	memset(d->slots, 0, sizeof(d->slots));
	for (int i = 0; i < n && i < SG_MAX_ATTACH; i++) {
		snprintf(d->slots[a[i].slot].ifname, sizeof(d->slots[0].ifname), "%s", a[i].ifname);
		d->slots[a[i].slot].hook = a[i].hook;
	}
	pthread_mutex_unlock(&d->lock);
}

/* Is (ifname, hook) attached right now? */
static bool is_attached(struct sgd *d, const char *ifname, int hook)
{
	struct sg_attachment a[SG_MAX_ATTACH];
	int n = sg_dp_attachments(d->dp, a, SG_MAX_ATTACH);

	for (int i = 0; i < n && i < SG_MAX_ATTACH; i++)
		if (a[i].hook == hook && !strcmp(a[i].ifname, ifname))
			return a[i].attached;
	return false;
}

int sgd_check_interfaces(struct sgd *d)
{
	int rc = 0;

	for (size_t i = 0; i < d->cfg.n_ifaces; i++) {
		struct sg_err err = { 0 };
		int r = sg_link_check_ethernet(d->cfg.ifaces[i].name, NULL, &err);

		/* Absent: checked by sg_dp_attach when it appears. */
		if (!r || r == -ENODEV)
			continue;
		sgd_err("%s: interfaces[%zu]: %s", d->opts.config_path, i, err.msg);
		rc = -1;
	}
	return rc;
}

static void attach_one(struct sgd *d, size_t i, bool quiet_if_absent)
{
	const struct sg_iface_cfg *c = &d->cfg.ifaces[i];
	int ifindex = (int)if_nametoindex(c->name), rc;
	struct sg_err err = { 0 };

	if (!ifindex) {
		if (!quiet_if_absent)
			sgd_warn("%s: no such interface yet; %s will be attached when it appears",
				 c->name, sg_hook_name(c->hook));
		return;
	}
	rc = sg_dp_attach(d->dp, c->name, c->hook, c->xdp_mode, &err);
	if (rc == -EPROTONOSUPPORT) {
		/* Every link event of that device would say it again: once
		 * per device (a re-created one is a new index). */
		if (d->refused_ifindex[i] != ifindex)
			sgd_err("%s: %s not attached: %s", c->name, sg_hook_name(c->hook), err.msg);
		d->refused_ifindex[i] = ifindex;
		return;
	}
	d->refused_ifindex[i] = 0;
	if (rc) {
		sgd_err("%s: %s", c->name, err.msg);
		return;
	}
	sgd_notice("%s: %s attached", c->name, sg_hook_name(c->hook));
}

void sgd_prepare_attachments(struct sgd *d)
{
	struct sg_dp_want want[SG_MAX_ATTACH];
	size_t n = 0;

	for (size_t i = 0; i < d->cfg.n_ifaces && n < SG_MAX_ATTACH; i++)
		want[n++] = (struct sg_dp_want){ d->cfg.ifaces[i].name, d->cfg.ifaces[i].hook };
	sg_dp_prepare(d->dp, want, n);
}

void sgd_attach_all(struct sgd *d)
{
	for (size_t i = 0; i < d->cfg.n_ifaces; i++)
		attach_one(d, i, false);
	sgd_refresh_slot_names(d);
}

void sgd_ensure_attached(struct sgd *d, const char *ifname)
{
	bool changed = false;

	for (size_t i = 0; i < d->cfg.n_ifaces; i++) {
		const struct sg_iface_cfg *c = &d->cfg.ifaces[i];

		if ((ifname && strcmp(c->name, ifname)) || is_attached(d, c->name, c->hook))
			continue;
		attach_one(d, i, true);
		changed = true;
	}
	if (changed)
		sgd_refresh_slot_names(d);
}
