// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Who is asking on the control socket: the peer's credentials
 * (SO_PEERCRED) and its role, from its membership of the control
 * groups, decided once when the connection is accepted.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "control_conn.h"

bool sgd_group_gid(const char *name, gid_t *gid)
{
	struct group *g = name ? getgrnam(name) : NULL;

	if (g)
		*gid = g->gr_gid;
	return g != NULL;
}

/* Primary and supplementary groups of the user, as getgrouplist(3)
 * reports them. */
static bool user_in_group(const struct passwd *pw, gid_t want)
{
	int n = 64;
	bool found = false;

	for (int tries = 0; tries < 4; tries++) {
		gid_t *groups = calloc((size_t)n, sizeof(*groups));
		int got = n;

		if (!groups)
			return false;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &got) >= 0) {
			for (int i = 0; i < got && !found; i++)
				found = groups[i] == want;
			free(groups);
			return found;
		}
		free(groups);
		n = got > n ? got : n * 4;
	}
	return false;
}

int sgd_peer_identify(struct sgd *d, int fd, struct sgd_peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd *pw;
	gid_t gid;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	p->uid = cred.uid;
	p->gid = cred.gid;
	p->pid = cred.pid;
	p->role = SGD_ROLE_NONE;
	pw = getpwuid(cred.uid);
	if (pw)
		snprintf(p->user, sizeof(p->user), "%s", pw->pw_name);
	else
		snprintf(p->user, sizeof(p->user), "uid %u", (unsigned)cred.uid);
	if (cred.uid == 0)
		p->role = SGD_ROLE_ADMIN;
	else if (pw && sgd_group_gid(d->cfg.admin_group, &gid) && user_in_group(pw, gid))
		p->role = SGD_ROLE_ADMIN;
	else if (pw && sgd_group_gid(d->cfg.read_group, &gid) && user_in_group(pw, gid))
		p->role = SGD_ROLE_READ;
	return 0;
}
