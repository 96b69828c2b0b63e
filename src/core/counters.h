/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Counters for every decision the engine takes.  Names follow the kernel
 * SYNPROXY target (syn_received, cookie_valid, cookie_invalid,
 * cookie_retrans) and FreeBSD's syncache statistics where they overlap. */
#ifndef SP_COUNTERS_H
#define SP_COUNTERS_H

#include <stdint.h>

#define COUNTER_LIST(X)                                                       \
	X(packets_received, "packets handed to the engine")                  \
	X(packets_accepted, "packets given an accept verdict")               \
	X(packets_dropped, "packets given a drop verdict")                   \
	X(packets_held, "packets held until the backend is ready")           \
	X(packets_translated, "packets whose seq/ack/options were rewritten") \
	X(parse_truncated, "dropped: shorter than a header says")            \
	X(parse_bad_version, "dropped: IP version not 4 or 6")               \
	X(parse_bad_ihl, "dropped: IPv4 header length below 20")             \
	X(parse_bad_length, "dropped: IP length inconsistent")               \
	X(parse_fragment, "dropped: IP fragment")                            \
	X(parse_bad_exthdr, "dropped: IPv6 extension header not walked")     \
	X(parse_not_tcp, "passed: not TCP")                                  \
	X(parse_bad_doff, "dropped: TCP data offset invalid")                \
	X(parse_bad_options, "dropped: TCP option overruns the header")      \
	X(bad_checksum, "dropped: TCP checksum wrong on a handshake packet") \
	X(bad_flags, "dropped: illegal flag combination (SYN+FIN, SYN+RST, none)") \
	X(no_rule, "passed: no rule matches")                                \
	X(rule_accept, "passed: rule action accept")                         \
	X(rule_drop, "dropped: rule action drop")                            \
	X(denied, "dropped: source denied or not allowed")                   \
	X(syn_received, "client SYNs to proxied services")                   \
	X(syn_rate_limited, "dropped: per-source SYN rate exceeded")         \
	X(syn_on_flow, "SYNs for a tuple with a live flow (answered by a challenge ACK)") \
	X(flows_reused, "SYNs that reused a closed flow's tuple: the old flow ended, a new connection began") \
	X(challenge_ack_limited, "challenge ACKs not sent: over the flow's rate or the engine's") \
	X(syn_duplicate, "retransmitted client SYNs answered again")         \
	X(synack_sent, "SYN-ACKs sent to clients")                           \
	X(synack_retrans, "SYN-ACKs retransmitted from the SYN cache")       \
	X(syncache_added, "SYN cache entries created")                       \
	X(syncache_evicted, "SYN cache entries evicted (bucket or table full)") \
	X(syncache_expired, "SYN cache entries whose retries ran out")       \
	X(syncache_shed, "SYN cache entries dropped when due while the cache was full") \
	X(syncache_full, "SYNs the SYN cache could not take")                \
	X(syncache_reset, "SYN cache entries removed by a client RST")       \
	X(syncache_hit, "handshake ACKs matched in the SYN cache")           \
	X(half_open_limited, "SYNs over the per-source half-open limit")     \
	X(cookie_sent, "SYN-ACKs whose state lives only in the cookie")      \
	X(cookie_valid, "handshake ACKs validated by cookie")                \
	X(cookie_invalid, "handshake ACKs whose cookie failed (all reasons)") \
	X(cookie_invalid_mac, "cookie failed: MAC mismatch")                 \
	X(cookie_invalid_expired, "cookie failed: too old")                  \
	X(cookie_previous_secret, "of cookie_valid, made with the previous secret (a rotation)") \
	X(cookie_retrans, "handshake ACK retransmitted before the backend answered") \
	X(cookie_mismatch, "cache entry and cookie disagree (cookie_crosscheck)") \
	X(ack_invalid, "dropped: handshake ACK number wrong for the cache entry") \
	X(ack_no_state, "dropped: non-SYN packet for no flow and no cookie") \
	X(backend_syn_sent, "SYNs sent to backends")                         \
	X(backend_syn_retrans, "SYNs retransmitted to backends")             \
	X(backend_established, "backend handshakes completed")               \
	X(backend_refused, "backend answered RST: client reset")             \
	X(backend_unreachable, "ICMP unreachable about the backend SYN: client reset") \
	X(backend_timeout, "backend never answered: client reset")           \
	X(backend_bad_synack, "dropped: backend SYN-ACK with a wrong ACK")   \
	X(backend_stale_reset, "backend ACKs of an older connection to our SYN: reset, and the SYN sent again") \
	X(flows_created, "flows created")                                    \
	X(flows_restored, "flows carried over a restart (state file)")        \
	X(flows_from_conntrack, "flows taken in from a conntrack entry of ours, for a SYN on its tuple") \
	X(flows_closed, "flows ended by FIN in both directions (and by an RST once both FINs were acknowledged)") \
	X(flows_reset, "flows ended by RST before their close completed")   \
	X(flows_expired, "flows ended by idle timeout")                      \
	X(flows_full, "dropped: handshake ACK with the flow table full")     \
	X(flows_source_limited, "handshakes reset: the source holds its rule's max_flows_per_source") \
	X(time_wait_recycled, "time-wait flows ended early to make room")     \
	X(held_released, "held packets released to the backend")            \
	X(held_dropped, "held packets dropped (limit or flow failure)")      \
	X(rst_out_of_window, "dropped: RST outside the receive window")      \
	X(rst_in_window, "dropped: RST in the window but not exact (answered by a challenge ACK)") \
	X(seg_out_of_window, "segments outside the window or acknowledging unsent data: not tracked") \
	X(rst_sent, "RSTs the proxy sent")                                   \
	X(reset_action, "handshakes answered with RST by a reset rule")      \
	X(reset_pass, "packets let through after a reset handshake")         \
	X(passthrough, "server packets for no flow passed untouched")        \
	X(server_wrong_side, "dropped: a protected server's packet that came from elsewhere") \
	X(icmp_to_backend, "ICMP errors about a flow's segment translated into the backend's sequence space") \
	X(icmp_to_client, "ICMP errors about a flow's segment translated into the client's sequence space") \
	X(icmp_frag_needed, "of those, fragmentation needed (IPv4) or packet too big (IPv6)") \
	X(icmp_unreachable, "of those, other destination unreachable errors") \
	X(icmp_time_exceeded, "of those, time exceeded")                    \
	X(icmp_param_problem, "of those, parameter problem")                \
	X(icmp_conntrack, "of those, about a flow only the kernel fast path still knows (offsets read from conntrack)") \
	X(icmp_own_handshake, "dropped: ICMP error about our own SYN-ACK or our SYN to a backend") \
	X(icmp_out_of_window, "dropped: ICMP error quoting a segment its flow does not have in flight") \
	X(icmp_unknown_flow, "passed: ICMP error about a proxied service's tuple with no flow") \
	X(icmp_bad_quote, "dropped: ICMP error with a wrong checksum, sent elsewhere than to the quoted sender, or quoting too little to match") \
	X(icmp_passed_on, "ICMP errors handed to the next queue's worker, which may hold the flow") \
	X(window_rescaled, "segments whose window was rescaled")             \
	X(ts_missing, "flows whose backend dropped timestamps")              \
	X(ecn_declined, "flows whose backend declined the ECN their client has (kept in userspace)") \
	X(ecn_ce_dropped, "dropped: CE-marked client segments to a backend without ECN") \
	X(options_learned, "option sets backends agreed on, now offered to clients") \
	X(options_refused, "backend SYN-ACKs not learned from: MSS or window scale out of range, side unchecked") \
	X(flows_offloaded, "flows handed to the kernel fast path")           \
	X(offload_released, "offloaded flows forgotten: grace time over, or their conntrack entry gone") \
	X(offload_withdrawn, "offloaded flows back in userspace for a FIN or RST the kernel missed, or a SYN") \
	X(offload_closed, "offloaded flows the kernel saw close (FIN or RST, from conntrack events)")

enum counter {
#define COUNTER_ENUM(name, help) CNT_##name,
	COUNTER_LIST(COUNTER_ENUM)
#undef COUNTER_ENUM
	CNT_MAX
};

/* Name of counter c ("syn_received"). */
const char *counter_name(enum counter c);

/* One-line description of counter c. */
const char *counter_help(enum counter c);

#endif
