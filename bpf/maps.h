/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map definitions.  Policy tables come in SG_GENERATIONS copies: the
 * loader builds the inactive copy aside and switches sg_live.active with
 * one write, so a packet sees one whole policy, never a mix.  Tables whose
 * size follows the policy are map-in-map (the loader creates fresh inner
 * maps per generation); fixed-size tables are arrays indexed by
 * generation.
 *
 * State lives outside the generations so it survives reloads: rate
 * buckets of trusted entries are an array indexed by the entry's slot
 * (nothing else can ever evict them), unregistered sources share hashed
 * throttle buckets (bounded, no per-source state to exhaust), and
 * everything keyed by arbitrary source addresses is an LRU.
 */
#ifndef SG_BPF_MAPS_H
#define SG_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "smtpgate/abi.h"

/* ---- metadata and the generation switch ---- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_meta);
} sg_meta SEC(".maps");

/* The generation in force, both configs and the global state: one global
 * variable, read at a fixed address (see struct sg_live). */
struct sg_live sg_live SEC(SG_LIVE_SECTION) = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_MAX_ATTACH);
	__type(key, __u32);
	__type(value, struct sg_attach_info);
} sg_attachments SEC(".maps");

/* ---- per-generation tables (map-in-map) ----
 * Inner maps give sizes, not BTF types: clang only forward-declares types
 * this deep, and inner maps hold nothing (like a spin lock) that needs BTF.
 */

/* Prefix tables are hashes keyed by (length, masked address), one probe
 * per distinct length in the config's list: far cheaper than a trie walk
 * (100,000 /24s: one ~7 ns probe instead of ~90 ns). */
struct sg_scope_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_SCOPE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct sg_lpm_key));
	__uint(value_size, sizeof(__u8));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SG_GENERATIONS);
	__type(key, __u32);
	__array(values, struct sg_scope_inner);
} sg_scope SEC(".maps");

/* Host entries (/32, /128) are exact-match: a hash is several times
 * cheaper than the trie and hosts are the common approval. */
struct sg_hosts_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_TRUSTED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct sg_addr));
	__uint(value_size, sizeof(struct sg_trusted));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SG_GENERATIONS);
	__type(key, __u32);
	__array(values, struct sg_hosts_inner);
} sg_trusted_hosts SEC(".maps");

struct sg_nets_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_TRUSTED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct sg_lpm_key));
	__uint(value_size, sizeof(struct sg_trusted));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SG_GENERATIONS);
	__type(key, __u32);
	__array(values, struct sg_nets_inner);
} sg_trusted_nets SEC(".maps");

struct sg_relays_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_RELAY_KEYS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct sg_relay_key));
	__uint(value_size, sizeof(__u64)); /* relay group mask */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SG_GENERATIONS);
	__type(key, __u32);
	__array(values, struct sg_relays_inner);
} sg_relays SEC(".maps");

/* Bloom filter of the trusted keys, SG_BLOOM_WORDS words per generation;
 * mapped by userspace, which fills a generation's half before switching. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_GENERATIONS * SG_BLOOM_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} sg_bloom SEC(".maps");

/* ---- state that outlives a generation ---- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_MAX_TRUSTED);
	__type(key, __u32);
	__type(value, struct sg_bucket);
} sg_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_THROTTLE_BUCKETS);
	__type(key, __u32);
	__type(value, struct sg_bucket);
} sg_throttle SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_RELAY_CAP_BUCKETS);
	__type(key, __u32);
	__type(value, struct sg_bucket);
} sg_relay_caps SEC(".maps");

/* Manual bans.  Preallocated and not LRU: a ban can only disappear by
 * expiring or by an operator, never because something else needed the
 * room; and the data plane never adds to it, so no traffic can fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_BANS);
	__type(key, struct sg_addr);
	__type(value, struct sg_ban);
} sg_bans SEC(".maps");

/* Records of automatic bans, one per banned trusted entry, keyed by its
 * slot (the ban itself is in the entry's bucket).  Slots are bounded by
 * SG_MAX_TRUSTED and the loader deletes a slot's record when it resets
 * the slot, so this can never be full; memory follows the bans. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_AUTO_BANS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct sg_auto_ban);
} sg_auto_bans SEC(".maps");

/* ---- accounting ---- */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct sg_counter);
} sg_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, SG_MAX_SOURCES);
	__type(key, struct sg_addr);
	__type(value, struct sg_source_stats);
} sg_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sg_stats SEC(".maps");

/* The memos, the write-combining cache and the new-key budget of each
 * CPU: see struct sg_cpu. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_cpu);
} sg_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_MAX_EVENT_KEYS);
	__type(key, struct sg_event_key);
	__type(value, struct sg_event_agg);
} sg_event_agg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SG_RINGBUF_BYTES);
} sg_events SEC(".maps");

#endif /* SG_BPF_MAPS_H */
