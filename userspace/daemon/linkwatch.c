// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Link watcher: a libnl route socket subscribed to link events.  When a
 * configured interface appears (created late, or deleted and re-created),
 * its hooks are attached again at once; every transition is logged.
 */
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <string.h>
#include "daemon.h"
#include "log.h"

static bool configured(struct sgd *d, const char *name)
{
	for (size_t i = 0; i < d->cfg.n_ifaces; i++)
		if (!strcmp(d->cfg.ifaces[i].name, name))
			return true;
	return false;
}

struct link_msg {
	struct sgd *d;
	int type;
};

static void on_link(struct nl_object *obj, void *arg)
{
	struct link_msg *m = arg;
	struct rtnl_link *link = (struct rtnl_link *)obj;
	const char *name = rtnl_link_get_name(link);

	if (!name || !configured(m->d, name))
		return;
	if (m->type == RTM_DELLINK) {
		sgd_warn("%s: interface removed; enforcement resumes when it returns", name);
		return;
	}
	sgd_ensure_attached(m->d, name);
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct link_msg m = { .d = arg, .type = nlmsg_hdr(msg)->nlmsg_type };

	if (m.type == RTM_NEWLINK || m.type == RTM_DELLINK)
		nl_msg_parse(msg, on_link, &m);
	return NL_OK;
}

int sgd_linkwatch_start(struct sgd *d)
{
	d->nl = nl_socket_alloc();
	if (!d->nl)
		return -1;
	nl_socket_disable_seq_check(d->nl);
	nl_socket_modify_cb(d->nl, NL_CB_VALID, NL_CB_CUSTOM, on_msg, d);
	if (nl_connect(d->nl, NETLINK_ROUTE) || nl_socket_add_membership(d->nl, RTNLGRP_LINK) ||
	    nl_socket_set_nonblocking(d->nl)) {
		sgd_err("link watcher: cannot subscribe to link events");
		nl_socket_free(d->nl);
		d->nl = NULL;
		return -1;
	}
	/* Bursts of link events must not be lost: a bigger receive buffer. */
	nl_socket_set_buffer_size(d->nl, 1 << 20, 0);
	return nl_socket_get_fd(d->nl);
}

void sgd_linkwatch_read(struct sgd *d)
{
	int rc = nl_recvmsgs_default(d->nl);

	if (rc < 0 && rc != -NLE_AGAIN) {
		/* Overrun: events were lost, so look at everything. */
		sgd_warn("link watcher: %s; re-checking all interfaces", nl_geterror(rc));
		sgd_ensure_attached(d, NULL);
	}
}

void sgd_linkwatch_stop(struct sgd *d)
{
	if (d->nl)
		nl_socket_free(d->nl);
	d->nl = NULL;
}
