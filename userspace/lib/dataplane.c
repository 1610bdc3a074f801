// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Opening the data plane: create the maps, or reuse the pinned ones after
 * checking they are exactly what this build expects.  A mismatch is an
 * error that says what differs; pinned state is never silently reset,
 * because it holds the approvals in force and the counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp_internal.h"
#include "prefix_map.h"
#include "safe_path.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

int sg_dp_pin_path(const struct sg_dp *dp, char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dp->pin_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool sg_dp_map_shared(const struct bpf_map *m)
{
	return !bpf_map__is_internal(m) || !strcmp(bpf_map__name(m), SG_LIVE_SECTION);
}

const char *sg_dp_pin_name(const struct bpf_map *m)
{
	return strcmp(bpf_map__name(m), SG_LIVE_SECTION) ? bpf_map__name(m) : SG_LIVE_PIN;
}

static int check_bpffs(const char *dir, struct sg_err *err)
{
	struct statfs st;

	if (statfs(dir, &st))
		return sg_errf(err, -errno, "pin dir %s: %s", dir, strerror(errno));
	if ((unsigned long)st.f_type != BPF_FS_MAGIC)
		return sg_errf(err, -EINVAL,
			       "pin dir %s is not on a BPF filesystem (mount -t bpf bpf %s, "
			       "or note that `ip netns exec` hides the host's /sys/fs/bpf)",
			       dir, dir);
	return 0;
}

static int make_pin_dir(const char *dir, struct sg_err *err)
{
	char parent[4096], *slash;
	struct stat st;
	int fd, rc;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (check_bpffs(parent, err))
			return err ? err->code : -EINVAL;
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return sg_errf(err, -errno, "pin dir %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode))
		return sg_errf(err, -ENOTDIR, "pin dir %s is not a directory", dir);
	/* Checked before it is tightened: a pin dir someone else could
	 * write may already hold their pins (or links) under our names. */
	rc = sg_check_private_dir("paths.pin_dir", dir, false, err);
	if (rc)
		return rc;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sg_errf(err, -ENOTDIR, "pin dir %s is not a directory", dir);
	if (fchmod(fd, 0700))
		rc = sg_errf(err, -errno, "pin dir %s: chmod: %s", dir, strerror(errno));
	close(fd);
	return rc ? rc : check_bpffs(dir, err);
}

/* The pinned map must be the map this build defines, field for field. */
static int check_compat(struct bpf_map *m, int fd, struct sg_err *err)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return sg_errf(err, -errno, "pinned map %s: %s", bpf_map__name(m),
			       strerror(errno));
	if (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
	    info.value_size != bpf_map__value_size(m) ||
	    info.max_entries != bpf_map__max_entries(m) ||
	    info.map_flags != bpf_map__map_flags(m))
		return sg_errf(err, -EPROTO,
			       "pinned map %s does not match this build (type %u/%u, key %u/%u, "
			       "value %u/%u, entries %u/%u): pins from another smtpgate ABI",
			       bpf_map__name(m), info.type, bpf_map__type(m), info.key_size,
			       bpf_map__key_size(m), info.value_size, bpf_map__value_size(m),
			       info.max_entries, bpf_map__max_entries(m));
	return 0;
}

/* The ABI the pinned maps were made by, read before any map is checked
 * for shape: pins of another ABI (a table resized, as ABI 7 did to
 * sg_buckets) get the message that says what to do, not a shape
 * mismatch.  0 if sg_meta is absent or unreadable (the shape checks
 * then speak). */
static __u32 pinned_abi(struct sg_dp *dp)
{
	struct sg_meta meta = {};
	char path[4096];
	__u32 zero = 0;
	int fd;

	sg_dp_pin_path(dp, path, sizeof(path), "sg_meta");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &meta))
		meta.abi_version = 0;
	close(fd);
	return meta.abi_version;
}

static int abi_mismatch(struct sg_dp *dp, __u32 abi, struct sg_err *err)
{
	return sg_errf(err, -EPROTO,
		       "pinned maps in %s are smtpgate ABI %u, this build is ABI %u: "
		       "refusing to reuse them (approvals are safe in approvals.json; "
		       "detach with the old version, then start this one)",
		       dp->pin_dir, abi, SG_ABI_VERSION);
}

static int reuse_pins(struct sg_dp *dp, struct sg_err *err)
{
	__u32 abi;
	struct bpf_map *m;
	char path[4096];
	int fd, found = 0, missing = 0;

	bpf_object__for_each_map(m, dp->skel->obj) {
		if (!sg_dp_map_shared(m))
			continue;
		sg_dp_pin_path(dp, path, sizeof(path), sg_dp_pin_name(m));
		if (access(path, F_OK)) {
			missing++;
			continue;
		}
		found++;
	}
	if (!found)
		return 0;
	if (missing)
		return sg_errf(err, -EPROTO,
			       "pin dir %s holds %d of this build's maps but not the other %d: "
			       "pins from another smtpgate ABI; refusing to guess (smtpgated "
			       "--detach with the version that made them removes them)",
			       dp->pin_dir, found, missing);
	abi = pinned_abi(dp);
	if (abi && abi != SG_ABI_VERSION)
		return abi_mismatch(dp, abi, err);
	bpf_object__for_each_map(m, dp->skel->obj) {
		if (!sg_dp_map_shared(m))
			continue;
		sg_dp_pin_path(dp, path, sizeof(path), sg_dp_pin_name(m));
		fd = bpf_obj_get(path);
		if (fd < 0)
			return sg_errf(err, -errno, "%s: %s", path, strerror(errno));
		if (check_compat(m, fd, err) || bpf_map__reuse_fd(m, fd)) {
			close(fd);
			return err && err->code ? err->code :
			       sg_errf(err, -EINVAL, "%s: cannot reuse", path);
		}
		close(fd); /* reuse_fd took its own copy */
	}
	dp->reused = true;
	return 0;
}

static int check_meta(struct sg_dp *dp, struct sg_err *err)
{
	struct sg_meta meta = {};
	__u32 zero = 0;
	int fd = bpf_map__fd(dp->skel->maps.sg_meta);

	if (bpf_map_lookup_elem(fd, &zero, &meta))
		return sg_errf(err, -errno, "sg_meta: %s", strerror(errno));
	if (!dp->reused) {
		meta.abi_version = SG_ABI_VERSION;
		meta.created_unix = (__u64)time(NULL);
		if (bpf_map_update_elem(fd, &zero, &meta, 0))
			return sg_errf(err, -errno, "sg_meta: %s", strerror(errno));
		return 0;
	}
	if (meta.abi_version != SG_ABI_VERSION)
		return abi_mismatch(dp, meta.abi_version, err);
	return 0;
}

static int pin_new_maps(struct sg_dp *dp, struct sg_err *err)
{
	struct bpf_map *m;
	char path[4096];

	bpf_object__for_each_map(m, dp->skel->obj) {
		if (!sg_dp_map_shared(m))
			continue;
		sg_dp_pin_path(dp, path, sizeof(path), sg_dp_pin_name(m));
		if (bpf_obj_pin(bpf_map__fd(m), path))
			return sg_errf(err, -errno, "pin %s: %s", path, strerror(errno));
		/* Defence in depth only (the pin dir is root's alone, and that is
		 * checked): a mode that cannot be narrowed fails nothing. */
		if (fchmodat(AT_FDCWD, path, 0600, AT_SYMLINK_NOFOLLOW))
			continue;
	}
	return 0;
}

int sg_dp_open(struct sg_dp **out, const char *pin_dir, struct sg_err *err)
{
	struct bpf_program *prog;
	struct sg_dp *dp;
	int rc;

	*out = NULL;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return sg_errf(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&dp->links_lock, NULL);
	dp->slot_used = calloc(SG_SLOT_WORDS, sizeof(uint64_t));
	if (!dp->slot_used || (pin_dir && !(dp->pin_dir = strdup(pin_dir)))) {
		rc = sg_errf(err, -ENOMEM, "out of memory");
		goto fail;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	dp->skel = smtpgate__open();
	if (!dp->skel) {
		rc = sg_errf(err, -errno, "open BPF object: %s", strerror(errno));
		goto fail;
	}
	/* This instance only owns the maps; programs are loaded per
	 * attachment (see attach.c). */
	bpf_object__for_each_program(prog, dp->skel->obj)
		bpf_program__set_autoload(prog, false);

	if (pin_dir) {
		rc = make_pin_dir(pin_dir, err);
		if (!rc)
			rc = reuse_pins(dp, err);
		if (rc)
			goto fail;
	}
	rc = smtpgate__load(dp->skel);
	if (rc) {
		rc = sg_errf(err, rc, "load BPF maps: %s", strerror(-rc));
		goto fail;
	}
	rc = check_meta(dp, err);
	if (!rc && pin_dir && !dp->reused)
		rc = pin_new_maps(dp, err);
	if (!rc) {
		/* Mapped by the skeleton's load: the ban count is shared with
		 * the kernel by atomic updates, the policy switch by a store. */
		if (dp->skel->data_sg_live)
			dp->live = &dp->skel->data_sg_live->sg_live;
		else
			rc = sg_errf(err, -ENOTSUP, "%s is not mapped (kernel without "
				     "BPF_F_MMAPABLE?)", SG_LIVE_SECTION);
	}
	if (!rc) {
		dp->bloom = mmap(NULL, SG_BLOOM_MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
				 bpf_map__fd(dp->skel->maps.sg_bloom), 0);
		if (dp->bloom == MAP_FAILED) {
			dp->bloom = NULL;
			rc = sg_errf(err, -errno, "mmap sg_bloom: %s", strerror(errno));
		}
	}
	if (rc)
		goto fail;
	*out = dp;
	return 0;
fail:
	sg_dp_close(dp);
	return rc;
}

int sg_dp_open_pinned(struct sg_dp **out, const char *pin_dir, struct sg_err *err)
{
	char meta[4096];
	struct stat st;

	snprintf(meta, sizeof(meta), "%s/sg_meta", pin_dir);
	if (stat(meta, &st))
		return sg_errf(err, -ENOENT, "no smtpgate pins in %s (is smtpgated configured with "
			       "another pin_dir, or detached?)", pin_dir);
	return sg_dp_open(out, pin_dir, err);
}

bool sg_dp_reused(const struct sg_dp *dp)
{
	return dp->reused;
}

void sg_dp_forget_tables(struct sg_dp *dp)
{
	if (!dp->trusted_fd_gen)
		return;
	for (int i = 0; i < 2; i++)
		if (dp->trusted_fd[i] >= 0)
			close(dp->trusted_fd[i]);
	dp->trusted_fd_gen = 0;
}

void sg_dp_close(struct sg_dp *dp)
{
	if (!dp)
		return;
	if (dp->release_attachments)
		dp->release_attachments(dp);
	for (int i = 0; i < dp->n_progs; i++)
		smtpgate__destroy(dp->progs[i].skel);
	if (dp->bloom)
		munmap(dp->bloom, SG_BLOOM_MAP_BYTES);
	smtpgate__destroy(dp->skel);
	sg_prefix_map_free(dp->slot_index);
	sg_dp_forget_tables(dp);
	free(dp->slot_used);
	free(dp->pin_dir);
	pthread_mutex_destroy(&dp->links_lock);
	free(dp);
}

int sg_dp_map_fd(struct sg_dp *dp, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(dp->skel->obj, name);

	return m ? bpf_map__fd(m) : -1;
}

uint32_t sg_dp_active(const struct sg_dp *dp)
{
	return __atomic_load_n(&dp->live->active, __ATOMIC_ACQUIRE) & (SG_GENERATIONS - 1);
}

void sg_dp_active_config(const struct sg_dp *dp, struct sg_config *out)
{
	*out = dp->live->config[sg_dp_active(dp)];
}

int sg_dp_inner_fd(struct sg_dp *dp, const char *outer_name, int gen)
{
	__u32 key = (__u32)gen, id = 0;
	int outer = sg_dp_map_fd(dp, outer_name);

	if (outer < 0 || bpf_map_lookup_elem(outer, &key, &id) || !id)
		return -1;
	return bpf_map_get_fd_by_id(id);
}

uint64_t sg_dp_generation(const struct sg_dp *dp)
{
	return dp->live->config[sg_dp_active(dp)].generation;
}
