/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared between the dataplane*.c files only. */
#ifndef SG_DP_INTERNAL_H
#define SG_DP_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include "dataplane.h"
#include "prefix_map.h"
#include "smtpgate.skel.h"

/* One loaded program instance: counts into `slot`, runs at `hook`. */
struct sg_dp_prog {
	struct smtpgate *skel;
	int hook;
	uint32_t slot;
};

struct sg_dp {
	struct smtpgate *skel;      /* owns the maps; loads no program */
	char *pin_dir;              /* NULL: nothing pinned */
	bool reused;                /* pins existed and were reused */
	uint64_t *slot_used;        /* bitmap over SG_MAX_TRUSTED: slots in use by the
				       active generation's trusted entries */
	struct sg_live *live;       /* the global sg_live, mapped by the skeleton: the
				       active index, both configs, the ban count */
	uint64_t *bloom;            /* sg_bloom, mmap'ed: SG_BLOOM_WORDS per generation */
	struct sg_prefix_map *slot_index; /* prefix -> slot, active generation (prefix_map.h) */
	uint32_t slot_cursor;       /* next slot to try: freed slots are reused last */
	long n_trusted;             /* entries in the active generation */
	long n_hosts;               /* of which in its table of hosts (/32, /128) */
	/* The active generation's trusted tables (hosts, nets), opened once
	 * per generation rather than per change: a bulk import puts 100,000
	 * entries, and two syscalls each to find the table cost a tenth of it.
	 * Valid while trusted_fd_gen is the active generation's number. */
	uint64_t trusted_fd_gen;    /* 0: none open (sg_dp_forget_tables) */
	int trusted_fd[2];          /* [0] hosts, [1] nets */
	struct sg_dp_prog progs[SG_MAX_ATTACH * 3];
	int n_progs;
	/* XDP link fds of this process's attachments.  With a pin dir the
	 * pin keeps the link alive; without one, closing dp detaches.  The
	 * daemon reads attachments from its metrics threads while its loop
	 * thread re-attaches: links_lock guards the table. */
	pthread_mutex_t links_lock;
	struct {
		uint32_t slot;
		int fd;
	} links[SG_MAX_ATTACH];
	int n_links;
	/* Set by attach.c once this process attaches: what closing the
	 * handle undoes first.  The handle itself knows nothing of
	 * attachments (it is the layer below them). */
	void (*release_attachments)(struct sg_dp *dp);
	/* slot_index, slot_used, n_trusted and n_hosts have been read from
	 * the active generation (generation.c does it on first use, so that
	 * opening pins to read counters does not index a million entries). */
	bool index_ready;
};

/* Sets entry and known of every element (sorted by rec.slot): one walk
 * of the prefix index for all of them. */
void sg_dp_resolve_entry_bans(struct sg_dp *dp, struct sg_entry_ban *ents, size_t n);

static inline bool sg_slot_test(const uint64_t *bm, uint32_t s)
{
	return (bm[s / 64] >> (s % 64)) & 1;
}

static inline void sg_slot_set(uint64_t *bm, uint32_t s)
{
	bm[s / 64] |= 1ull << (s % 64);
}

static inline void sg_slot_clear(uint64_t *bm, uint32_t s)
{
	bm[s / 64] &= ~(1ull << (s % 64));
}

#define SG_SLOT_WORDS (SG_MAX_TRUSTED / 64)
#define SG_BLOOM_MAP_BYTES ((size_t)SG_GENERATIONS * SG_BLOOM_WORDS * sizeof(uint64_t))

/* Marks prefix p in generation gen's Bloom filter (set before the entry
 * is inserted, so a packet that finds the entry found the bit first). */
static inline void sg_bloom_set(struct sg_dp *dp, uint32_t gen, const struct sg_prefix *p)
{
	struct sg_lpm_key k = { .prefixlen = p->len, .addr = p->addr };
	uint32_t bit = sg_bloom_bit(&k);

	__atomic_fetch_or(&dp->bloom[(size_t)(gen & 1) * SG_BLOOM_WORDS + bit / 64],
			  1ull << (bit % 64), __ATOMIC_RELEASE);
}

static inline uint64_t *sg_bloom_half(struct sg_dp *dp, uint32_t gen)
{
	return dp->bloom + (size_t)(gen & 1) * SG_BLOOM_WORDS;
}

/* attach.c: a loaded instance for (hook, slot), created on first use. */
struct sg_dp_prog *sg_dp_get_prog(struct sg_dp *dp, int hook, uint32_t slot,
				  struct sg_err *err);
/* dataplane.c */
uint32_t sg_dp_active(const struct sg_dp *dp); /* index of the generation in force */
int sg_dp_pin_path(const struct sg_dp *dp, char *buf, size_t len, const char *name);
/* Maps shared by every instance of the object (and pinned): all but the
 * per-instance internal ones (.rodata, which holds the attachment slot). */
bool sg_dp_map_shared(const struct bpf_map *m);
/* The name m is pinned under. */
const char *sg_dp_pin_name(const struct bpf_map *m);

/* dataplane.c: closes the cached trusted tables (trusted_fd) of the
 * generation they were opened for: at a switch and at close. */
void sg_dp_forget_tables(struct sg_dp *dp);

#endif
