/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Private to the three files of the policy in the kernel, all above the
 * data plane handle (dp_internal.h):
 *
 *   generation.c  building a generation aside and switching to it
 *   dp_slots.c    the userspace index of the active generation's slots
 *   dp_trusted.c  single trusted entries in the active generation
 */
#ifndef SG_GEN_INTERNAL_H
#define SG_GEN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpf/bpf.h>
#include "dp_internal.h"
#include "map_batch.h"
#include "prefix_map.h"

/* ---- prefix -> slot index of the active generation ---- */

static inline long index_find(const struct sg_prefix_map *m, const struct sg_prefix *p)
{
	return m ? sg_prefix_map_get(m, p) : -1;
}

/* Adds to *m, made on first use (sized for hint prefixes). */
static inline int index_add(struct sg_prefix_map **m, const struct sg_prefix *p, uint32_t slot,
			    size_t hint)
{
	if (!*m && !(*m = sg_prefix_map_new(hint)))
		return -ENOMEM;
	return sg_prefix_map_add(*m, p, slot);
}

static inline void index_del(struct sg_prefix_map *m, const struct sg_prefix *p)
{
	if (m)
		sg_prefix_map_del(m, p);
}

static inline void index_free(struct sg_prefix_map **m)
{
	sg_prefix_map_free(*m);
	*m = NULL;
}

static inline struct sg_lpm_key lpm_key(const struct sg_prefix *p)
{
	struct sg_lpm_key k = { .prefixlen = p->len, .addr = p->addr };

	return k;
}

/* dp_slots.c: every function that reads the index or the counts
 * (slot_index, slot_used, n_trusted, n_hosts) calls this first. */
int sg_gen_ensure_index(struct sg_dp *dp, struct sg_err *err);

/* ---- generation.c ---- */

enum { T_SCOPE, T_HOSTS, T_NETS, T_RELAYS, T_COUNT };

struct sg_gen_inner_spec {
	const char *outer;
	const char *name;
	enum bpf_map_type type;
	__u32 key_size, value_size, max_entries;
};

extern const struct sg_gen_inner_spec sg_gen_inner_specs[T_COUNT];

/* Trusted entries queued for a new generation's tables, and how many
 * (one per thread placing them). */
struct gen_queue {
	struct sg_map_batch hosts, nets;
	long n_trusted, n_hosts;
};

/* A generation being built: its inner maps and what goes into them. */
struct build {
	int fd[T_COUNT];
	uint64_t *used;   /* slots of the generation being built */
	uint64_t *placed; /* bit per policy entry: placed by the first loop */
	struct gen_queue q; /* the new tables' entries, queued */
	uint32_t *reused; /* slots taken over from entries this build removes */
	size_t n_reused, cap_reused;
	struct sg_map_batch resets;      /* new entries' buckets, zeroed before the switch */
	uint64_t *banned; /* slots with an automatic ban record (read once) */
	bool pristine;    /* the data plane's buckets are as the kernel made them */
};

long sg_gen_alloc_slot(struct sg_dp *dp, const uint64_t *a, const uint64_t *b);
int sg_gen_reset_bucket(struct sg_dp *dp, uint32_t slot);
void sg_gen_wait_quiescent(void);
__u32 sg_gen_table_size(size_t n);
int sg_gen_create_inner(int t, __u32 max_entries, struct sg_err *err);
void sg_gen_build_free(struct build *b);
void sg_gen_queue_free(struct gen_queue *q);
/* gen_trusted.c: the trusted entries of p into the tables being built,
 * each at its slot (the running generation's index updated in place). */
int sg_gen_build_trusted(struct sg_dp *dp, struct build *b, const struct sg_policy *p,
			 uint32_t gen, struct sg_err *err);
int sg_gen_install(struct sg_dp *dp, const struct build *b, uint32_t next,
		   const struct sg_config *cfg, struct sg_err *err);
void sg_gen_after_switch(struct sg_dp *dp, const struct build *b, uint32_t prev);

#endif
