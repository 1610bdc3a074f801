// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Keeping the configured hooks attached.  At start every configured
 * interface is attached (replacing in place what a previous run left);
 * an interface that does not exist yet is attached by the link watcher
 * the moment it appears, and one that disappears is re-attached when it
 * comes back.
 */
#include <net/if.h>
#include <string.h>
#include "daemon.h"
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

static void attach_one(struct sgd *d, const struct sg_iface_cfg *c, bool quiet_if_absent)
{
	struct sg_err err = { 0 };

	if (!if_nametoindex(c->name)) {
		if (!quiet_if_absent)
			sgd_warn("%s: no such interface yet; %s will be attached when it appears",
				 c->name, sg_hook_name(c->hook));
		return;
	}
	if (sg_dp_attach(d->dp, c->name, c->hook, c->xdp_mode, &err)) {
		sgd_err("%s: %s", c->name, err.msg);
		return;
	}
	sgd_notice("%s: %s attached", c->name, sg_hook_name(c->hook));
}

void sgd_attach_all(struct sgd *d)
{
	for (size_t i = 0; i < d->cfg.n_ifaces; i++)
		attach_one(d, &d->cfg.ifaces[i], false);
	sgd_refresh_slot_names(d);
}

void sgd_ensure_attached(struct sgd *d, const char *ifname)
{
	bool changed = false;

	for (size_t i = 0; i < d->cfg.n_ifaces; i++) {
		const struct sg_iface_cfg *c = &d->cfg.ifaces[i];

		if ((ifname && strcmp(c->name, ifname)) || is_attached(d, c->name, c->hook))
			continue;
		attach_one(d, c, true);
		changed = true;
	}
	if (changed)
		sgd_refresh_slot_names(d);
}
