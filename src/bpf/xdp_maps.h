/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The XDP stage's configuration and maps (the daemon's view of them is
 * xdp_abi.h and the generated skeleton) and the conntrack kfuncs it calls.
 * Included once, by xdp_synproxy.bpf.c, after its constants. */
#ifndef SP_XDP_MAPS_H
#define SP_XDP_MAPS_H

struct xdp_cfg cfg;
struct xdp_keyslot keys[XDP_KEY_SLOTS];
/* A rotation's previous secret, still accepted for ACKs (valid only
 * while the daemon has one: xdp_stage_set_secrets). */
struct xdp_keyslot prev_keys[XDP_KEY_SLOTS];

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDP_RULES * XDP_GENS);
	__type(key, uint32_t);
	__type(value, struct xdp_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 32768);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdp_dst_port_key);
	__type(value, uint32_t);
} dst_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdp_dst_any_key);
	__type(value, uint32_t);
} dst_any SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdp_list_key);
	__type(value, uint8_t);
} lists SEC(".maps");

/* Sized by the loader (flows.max times the queue count). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdp_flow_key);
	__type(value, uint8_t);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct xdp_flow_key);
	__type(value, uint64_t);           /* expires at (monotonic ms) */
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdp_learned_key);
	__type(value, struct xdp_learned);
} learned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xdp_learned_key); /* the source's /24 or /64, port 0 */
	__type(value, struct xdp_bucket);
} srcrate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, uint32_t);
	__type(value, struct xdp_qshare);
} qshare SEC(".maps");

/* Where a SYN-ACK is built (the stack is too small for it and the rest). */
struct synack_buf {
	uint8_t b[SYNACK_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, uint32_t);
	__type(value, struct synack_buf);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XC_MAX);
	__type(key, uint32_t);
	__type(value, uint64_t);
} counters SEC(".maps");

/* SYNs the stage answered or dropped, per rule slot (generation * XDP_RULES
 * + rule index): the rules' share of SYNs that never reach the queue. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_RULES * XDP_GENS);
	__type(key, uint32_t);
	__type(value, uint64_t);
} rule_syns SEC(".maps");

/* Conntrack lookups (net/netfilter/nf_conntrack_bpf.c): the 12-byte form
 * of struct bpf_ct_opts, which every kernel with the kfunc accepts. */
struct bpf_ct_opts___sp {
	int32_t netns_id;
	int32_t error;
	uint8_t l4proto;
	uint8_t dir;
	uint8_t reserved[2];
};

struct nf_conn {
	uint32_t mark;
} __attribute__((preserve_access_index));

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *tuple,
					 uint32_t tuple__sz, struct bpf_ct_opts___sp *opts,
					 uint32_t opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

#endif
