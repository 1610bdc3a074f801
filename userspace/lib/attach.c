// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attaching.  Each attachment runs its own program instance (its counter
 * slot is a load-time constant) over the shared maps.
 *
 *  - XDP: a bpf_link, pinned as <pin_dir>/link_xdp_<ifname>.  On restart
 *    the pinned link is updated to the new program in place (no gap).  A
 *    link whose interface went away is defunct and is replaced.
 *  - TC: a cls_bpf filter in direct-action mode on clsact, at a fixed
 *    handle and priority, replaced in place with BPF_TC_F_REPLACE.  The
 *    kernel keeps it without any process or pin.
 *
 * Only Ethernet devices are attached (linktype.h): the programs parse
 * Ethernet frames.
 *
 * sg_attachments (pinned) records which interface and hook each counter
 * slot is, so a restarted daemon continues the same counters and
 * --detach knows what to remove.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp_internal.h"
#include "linktype.h"

#define SG_TC_HANDLE   0x5347 /* "SG" */
#define SG_TC_PRIORITY 1      /* before other filters on the hook */

static struct bpf_program *hook_prog(struct smtpgate *s, int hook)
{
	switch (hook) {
	case SG_HOOK_XDP: return s->progs.sg_xdp;
	case SG_HOOK_TC_INGRESS: return s->progs.sg_tc_ingress;
	case SG_HOOK_TC_EGRESS: return s->progs.sg_tc_egress;
	default: return NULL;
	}
}

struct sg_dp_prog *sg_dp_get_prog(struct sg_dp *dp, int hook, uint32_t slot,
				  struct sg_err *err)
{
	struct sg_dp_prog *p;
	struct bpf_program *prog;
	struct bpf_map *m;
	struct smtpgate *s;
	int rc;

	for (int i = 0; i < dp->n_progs; i++)
		if (dp->progs[i].hook == hook && dp->progs[i].slot == slot)
			return &dp->progs[i];
	if (slot >= SG_MAX_ATTACH || !hook_prog(dp->skel, hook) ||
	    dp->n_progs >= (int)(sizeof(dp->progs) / sizeof(dp->progs[0]))) {
		sg_errf(err, -EINVAL, "no program for hook %d slot %u", hook, slot);
		return NULL;
	}
	s = smtpgate__open();
	if (!s) {
		sg_errf(err, -errno, "open BPF object: %s", strerror(errno));
		return NULL;
	}
	s->rodata->sg_attach_slot = slot;
	bpf_object__for_each_program(prog, s->obj)
		bpf_program__set_autoload(prog, prog == hook_prog(s, hook));
	bpf_object__for_each_map(m, s->obj) {
		if (!sg_dp_map_shared(m))
			continue;
		rc = bpf_map__reuse_fd(m, sg_dp_map_fd(dp, bpf_map__name(m)));
		if (rc) {
			sg_errf(err, rc, "reuse map %s: %s", bpf_map__name(m), strerror(-rc));
			smtpgate__destroy(s);
			return NULL;
		}
	}
	rc = smtpgate__load(s);
	if (rc) {
		sg_errf(err, rc, "load %s program: %s (the kernel log above says why)",
			sg_hook_name(hook), strerror(-rc));
		smtpgate__destroy(s);
		return NULL;
	}
	p = &dp->progs[dp->n_progs++];
	p->skel = s;
	p->hook = hook;
	p->slot = slot;
	return p;
}

int sg_dp_prog_fd(struct sg_dp *dp, int hook, uint32_t slot, struct sg_err *err)
{
	struct sg_dp_prog *p = sg_dp_get_prog(dp, hook, slot, err);

	return p ? bpf_program__fd(hook_prog(p->skel, hook)) : (err ? err->code : -EINVAL);
}

/* ---- the attachment table ---- */

static int info_get(struct sg_dp *dp, uint32_t slot, struct sg_attach_info *info)
{
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.sg_attachments), &slot, info)
		       ? -errno : 0;
}

static int info_put(struct sg_dp *dp, uint32_t slot, const struct sg_attach_info *info)
{
	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sg_attachments), &slot, info, 0)
		       ? -errno : 0;
}

/* The slot already recorded for (ifname, hook), else a free one that
 * taken (a bitmap over SG_MAX_ATTACH slots, may be NULL) does not hold. */
static long find_slot_besides(struct sg_dp *dp, const char *ifname, int hook, bool allocate,
			      const uint64_t *taken)
{
	struct sg_attach_info info;
	long free_slot = -1;

	for (uint32_t s = 0; s < SG_MAX_ATTACH; s++) {
		if (info_get(dp, s, &info))
			return -1;
		if (info.hook == (uint32_t)hook && !strncmp(info.ifname, ifname, sizeof(info.ifname)))
			return s;
		if (info.hook == SG_HOOK_NONE && free_slot < 0 && !(taken && sg_slot_test(taken, s)))
			free_slot = s;
	}
	return allocate ? free_slot : -1;
}

static long find_slot(struct sg_dp *dp, const char *ifname, int hook, bool allocate)
{
	return find_slot_besides(dp, ifname, hook, allocate, NULL);
}

void sg_dp_prepare(struct sg_dp *dp, const struct sg_dp_want *want, size_t n)
{
	uint64_t taken[(SG_MAX_ATTACH + 63) / 64] = { 0 };

	for (size_t i = 0; i < n; i++) {
		long slot;

		if (!hook_prog(dp->skel, want[i].hook) || !if_nametoindex(want[i].ifname))
			continue;
		slot = find_slot_besides(dp, want[i].ifname, want[i].hook, true, taken);
		if (slot < 0)
			continue;
		sg_slot_set(taken, (uint32_t)slot);
		sg_dp_get_prog(dp, want[i].hook, (uint32_t)slot, NULL);
	}
}

static int link_pin_path(struct sg_dp *dp, const char *ifname, char *buf, size_t len)
{
	char name[64];

	snprintf(name, sizeof(name), "link_xdp_%s", ifname);
	return sg_dp_pin_path(dp, buf, len, name);
}

static void remember_link(struct sg_dp *dp, uint32_t slot, int fd)
{
	pthread_mutex_lock(&dp->links_lock);
	for (int i = 0; i < dp->n_links; i++) {
		if (dp->links[i].slot == slot) {
			if (dp->links[i].fd != fd)
				close(dp->links[i].fd);
			dp->links[i].fd = fd;
			pthread_mutex_unlock(&dp->links_lock);
			return;
		}
	}
	if (dp->n_links < SG_MAX_ATTACH) {
		dp->links[dp->n_links].slot = slot;
		dp->links[dp->n_links++].fd = fd;
	}
	pthread_mutex_unlock(&dp->links_lock);
}

static int forget_link(struct sg_dp *dp, uint32_t slot)
{
	int fd = -1;

	pthread_mutex_lock(&dp->links_lock);
	for (int i = 0; i < dp->n_links; i++) {
		if (dp->links[i].slot == slot) {
			fd = dp->links[i].fd;
			dp->links[i] = dp->links[--dp->n_links];
			break;
		}
	}
	pthread_mutex_unlock(&dp->links_lock);
	return fd;
}

/* The XDP link for slot: ours from this process, else the pinned one. */
static int existing_xdp_link(struct sg_dp *dp, uint32_t slot, const char *ifname)
{
	char path[4096];
	int fd = -1;

	pthread_mutex_lock(&dp->links_lock);
	for (int i = 0; i < dp->n_links && fd < 0; i++)
		if (dp->links[i].slot == slot)
			fd = dup(dp->links[i].fd);
	pthread_mutex_unlock(&dp->links_lock);
	if (fd >= 0 || !dp->pin_dir || link_pin_path(dp, ifname, path, sizeof(path)))
		return fd;
	return bpf_obj_get(path);
}

/* ifindex the link is attached to; 0 once its interface is gone. */
static __u32 link_ifindex(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.xdp.ifindex;
}

static void drop_xdp_link(struct sg_dp *dp, uint32_t slot, const char *ifname)
{
	char path[4096];
	int fd = forget_link(dp, slot);

	if (fd >= 0)
		close(fd);
	if (dp->pin_dir && !link_pin_path(dp, ifname, path, sizeof(path)))
		unlink(path);
}

static int attach_xdp(struct sg_dp *dp, uint32_t slot, const char *ifname, int ifindex,
		      int prog_fd, int mode, __u32 *flags_out, struct sg_err *err)
{
	__u32 tries[2] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE };
	int n_tries = 2, first = 0, fd, e = 0;
	struct sg_attach_info info;
	char path[4096];

	fd = existing_xdp_link(dp, slot, ifname);
	if (fd >= 0) {
		info_get(dp, slot, &info);
		if (link_ifindex(fd) == (__u32)ifindex &&
		    (mode == SG_XDP_AUTO ||
		     info.xdp_mode == (mode == SG_XDP_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE))) {
			if (bpf_link_update(fd, prog_fd, NULL)) {
				e = errno;
				close(fd);
				return sg_errf(err, -e, "%s: replace XDP program: %s", ifname,
					       strerror(e));
			}
			*flags_out = info.xdp_mode;
			remember_link(dp, slot, fd);
			return 0;
		}
		/* Defunct (interface re-created) or a different mode wanted. */
		if (link_ifindex(fd))
			bpf_link_detach(fd);
		close(fd);
		drop_xdp_link(dp, slot, ifname);
	}
	if (mode == SG_XDP_NATIVE)
		n_tries = 1;
	else if (mode == SG_XDP_GENERIC)
		first = 1;
	for (int i = first; i < n_tries; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, o, .flags = tries[i]);

		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &o);
		if (fd >= 0) {
			*flags_out = tries[i];
			break;
		}
		e = errno;
		if (e == EBUSY || e == EEXIST)
			return sg_errf(err, -e,
				       "%s already has an XDP program that smtpgate does not manage "
				       "(see `ip link show %s`); remove it first", ifname, ifname);
	}
	if (fd < 0)
		return sg_errf(err, -e, "%s: attach XDP (%s): %s", ifname,
			       mode == SG_XDP_NATIVE ? "native" :
			       mode == SG_XDP_GENERIC ? "generic" : "native, then generic",
			       strerror(e));
	if (dp->pin_dir) {
		link_pin_path(dp, ifname, path, sizeof(path));
		if (bpf_obj_pin(fd, path)) {
			e = errno;
			bpf_link_detach(fd);
			close(fd);
			return sg_errf(err, -e, "pin %s: %s", path, strerror(e));
		}
		chmod(path, 0600);
	}
	remember_link(dp, slot, fd);
	return 0;
}

static void tc_hook_opts(struct bpf_tc_hook *h, int ifindex, int hook)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = hook == SG_HOOK_TC_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

static int attach_tc(int ifindex, int hook, const char *ifname, int prog_fd,
		     struct sg_err *err)
{
	struct bpf_tc_hook h;
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int rc;

	tc_hook_opts(&h, ifindex, hook);
	/* clsact is usually there already (our own filter from an earlier
	 * run): try the filter first, create the qdisc only if missing. */
	rc = bpf_tc_attach(&h, &o);
	if (!rc)
		return 0;
	rc = bpf_tc_hook_create(&h);
	if (rc && rc != -EEXIST)
		return sg_errf(err, rc, "%s: create clsact: %s", ifname, strerror(-rc));
	o.prog_id = 0;
	rc = bpf_tc_attach(&h, &o);
	if (rc)
		return sg_errf(err, rc, "%s: attach %s: %s", ifname, sg_hook_name(hook),
			       strerror(-rc));
	return 0;
}

static int detach_tc(int ifindex, int hook)
{
	struct bpf_tc_hook h;
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIORITY);

	tc_hook_opts(&h, ifindex, hook);
	return bpf_tc_detach(&h, &o);
}

static bool tc_present(int ifindex, int hook)
{
	struct bpf_tc_hook h;
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIORITY);

	tc_hook_opts(&h, ifindex, hook);
	return bpf_tc_query(&h, &o) == 0;
}

static void release_attachments(struct sg_dp *dp);

int sg_dp_attach(struct sg_dp *dp, const char *ifname, int hook, int xdp_mode,
		 struct sg_err *err)
{
	struct sg_attach_info info = {};
	struct sg_dp_prog *prog;
	int ifindex, prog_fd, rc;
	__u32 xdp_flags = 0;
	long slot;

	if (strlen(ifname) >= sizeof(info.ifname))
		return sg_errf(err, -EINVAL, "interface name \"%s\" is too long", ifname);
	if (hook != SG_HOOK_XDP && hook != SG_HOOK_TC_INGRESS && hook != SG_HOOK_TC_EGRESS)
		return sg_errf(err, -EINVAL, "unknown hook %d", hook);
	/* Index and link type from one answer: a non-Ethernet device would
	 * be attached but pass everything (linktype.h). */
	rc = sg_link_check_ethernet(ifname, &ifindex, err);
	if (rc)
		return rc;
	slot = find_slot(dp, ifname, hook, true);
	if (slot < 0)
		return sg_errf(err, -ENOSPC, "attachment table full (%d)", SG_MAX_ATTACH);
	prog = sg_dp_get_prog(dp, hook, (uint32_t)slot, err);
	if (!prog)
		return err ? err->code : -EINVAL;
	prog_fd = bpf_program__fd(hook_prog(prog->skel, hook));
	dp->release_attachments = release_attachments;
	if (hook == SG_HOOK_XDP)
		rc = attach_xdp(dp, (uint32_t)slot, ifname, ifindex, prog_fd, xdp_mode,
				&xdp_flags, err);
	else
		rc = attach_tc(ifindex, hook, ifname, prog_fd, err);
	if (rc)
		return rc;
	snprintf(info.ifname, sizeof(info.ifname), "%s", ifname);
	info.hook = (__u32)hook;
	info.xdp_mode = xdp_flags;
	rc = info_put(dp, (uint32_t)slot, &info);
	return rc ? sg_errf(err, rc, "record attachment: %s", strerror(-rc)) : 0;
}

static int detach_slot(struct sg_dp *dp, uint32_t slot, const struct sg_attach_info *info,
		       struct sg_err *err)
{
	struct sg_attach_info none = {};
	int ifindex = (int)if_nametoindex(info->ifname), rc = 0;

	if (info->hook == SG_HOOK_XDP) {
		int fd = existing_xdp_link(dp, slot, info->ifname);

		if (fd >= 0) {
			if (link_ifindex(fd) && bpf_link_detach(fd))
				rc = sg_errf(err, -errno, "%s: detach XDP: %s", info->ifname,
					     strerror(errno));
			close(fd);
		}
		drop_xdp_link(dp, slot, info->ifname);
	} else if (ifindex) {
		int r = detach_tc(ifindex, (int)info->hook);

		if (r && r != -ENOENT)
			rc = sg_errf(err, r, "%s: detach %s: %s", info->ifname,
				     sg_hook_name((int)info->hook), strerror(-r));
	}
	if (!rc)
		info_put(dp, slot, &none);
	return rc;
}

int sg_dp_detach(struct sg_dp *dp, const char *ifname, int hook, struct sg_err *err)
{
	struct sg_attach_info info;
	long slot = find_slot(dp, ifname, hook, false);

	if (slot < 0 || info_get(dp, (uint32_t)slot, &info))
		return sg_errf(err, -ENOENT, "%s %s is not attached", ifname, sg_hook_name(hook));
	return detach_slot(dp, (uint32_t)slot, &info, err);
}

int sg_dp_attachments(struct sg_dp *dp, struct sg_attachment *out, int max)
{
	struct sg_attach_info info;
	int n = 0;

	for (uint32_t s = 0; s < SG_MAX_ATTACH; s++) {
		struct sg_attachment *a;
		int ifindex, fd;

		if (info_get(dp, s, &info) || info.hook == SG_HOOK_NONE)
			continue;
		if (n < max) {
			a = &out[n];
			memset(a, 0, sizeof(*a));
			a->slot = s;
			snprintf(a->ifname, sizeof(a->ifname), "%.15s", info.ifname);
			a->hook = (int)info.hook;
			a->xdp_flags = info.xdp_mode;
			ifindex = (int)if_nametoindex(a->ifname);
			if (info.hook == SG_HOOK_XDP) {
				fd = existing_xdp_link(dp, s, a->ifname);
				a->attached = fd >= 0 && ifindex && link_ifindex(fd) == (__u32)ifindex;
				if (fd >= 0)
					close(fd);
			} else {
				a->attached = ifindex && tc_present(ifindex, (int)info.hook);
			}
		}
		n++;
	}
	return n;
}

static int unpin_all(struct sg_dp *dp, struct sg_err *err)
{
	struct bpf_map *m;
	char path[4096];

	bpf_object__for_each_map(m, dp->skel->obj) {
		if (!sg_dp_map_shared(m))
			continue;
		sg_dp_pin_path(dp, path, sizeof(path), sg_dp_pin_name(m));
		if (unlink(path) && errno != ENOENT)
			return sg_errf(err, -errno, "unpin %s: %s", path, strerror(errno));
	}
	if (rmdir(dp->pin_dir) && errno != ENOENT)
		return sg_errf(err, -errno, "remove %s: %s (unexpected files left in it)",
			       dp->pin_dir, strerror(errno));
	return 0;
}

int sg_dp_destroy(struct sg_dp *dp, struct sg_err *err)
{
	struct sg_attach_info info;
	int rc = 0;

	for (uint32_t s = 0; s < SG_MAX_ATTACH; s++) {
		if (info_get(dp, s, &info) || info.hook == SG_HOOK_NONE)
			continue;
		if (detach_slot(dp, s, &info, err))
			rc = err ? err->code : -EIO;
	}
	if (!rc && dp->pin_dir)
		rc = unpin_all(dp, err);
	return rc;
}

int sg_tc_detach_ifname(const char *ifname, int hook)
{
	int ifindex = (int)if_nametoindex(ifname);

	if (!ifindex)
		return -ENODEV;
	if (hook != SG_HOOK_TC_INGRESS && hook != SG_HOOK_TC_EGRESS)
		return -EINVAL;
	return detach_tc(ifindex, hook);
}

/* At close (dp->release_attachments): the link fds go; and without a pin
 * dir nothing may outlive the process (TC filters would), so everything
 * is detached too. */
static void release_attachments(struct sg_dp *dp)
{
	if (!dp->pin_dir)
		sg_dp_destroy(dp, NULL);
	pthread_mutex_lock(&dp->links_lock);
	for (int i = 0; i < dp->n_links; i++)
		close(dp->links[i].fd);
	dp->n_links = 0;
	pthread_mutex_unlock(&dp->links_lock);
}
