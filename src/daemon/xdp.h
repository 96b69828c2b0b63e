/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The XDP stage's loader: loads src/bpf/xdp_synproxy.bpf.c (embedded in
 * the daemon by its bpftool skeleton), keeps its maps in step with the
 * configuration, the engines' flows and the cookie period keys, and
 * attaches it to the configured interfaces through bpf_links, which die
 * with the daemon.  Built only with libbpf, clang and bpftool (configure
 * --disable-xdp leaves it out): without them every function below is a
 * stub and xdp_stage_open says why. */
#ifndef SP_XDP_H
#define SP_XDP_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "engine.h"
#include "xdp_abi.h"

struct xdp_stage;

#ifdef HAVE_XDP
/* Loads the program with c's rules and settings, the period keys of the
 * master secret and, when ct_lookup, conntrack lookups for flows on the
 * kernel fast path; sizes the flow map for nworkers engines of c's flow
 * table.  Attaches it to every interface of c->xdp that exists (one that
 * cannot take it is logged and skipped).  NULL with a logged reason when
 * there is no stage (then the queue answers every SYN, failing closed). */
struct xdp_stage *xdp_stage_open(const struct conf *c, const uint8_t secret[ENGINE_SECRET_LEN],
				 bool ct_lookup, unsigned nworkers, uint64_t mono_ms,
				 uint64_t wall_ms);

/* Makes c's rules and answer settings live (a reload): the idle rule
 * generation is filled, then switched to.  0, or -1 with a logged reason
 * (the old rules stay live). */
int xdp_stage_set_conf(struct xdp_stage *x, const struct conf *c);

/* Periodic work (OVERLOAD_SAMPLE_MS): the keys of the current period and
 * its neighbours, the wall-clock offset, and until when every SYN is
 * answered by the stage (overload.c). */
void xdp_stage_tick(struct xdp_stage *x, uint64_t mono_ms, uint64_t wall_ms,
		    uint64_t pressure_until_ms);

/* Whether the stage looks each SYN it would answer up in conntrack and
 * passes it to the queue when an entry of ours holds its tuple: while
 * entries of ours may exist that no engine holds (daemon_ct.c's orphans).
 * Without a conntrack lookup (xdp_stage_open's ct_lookup) never. */
void xdp_stage_set_syn_lookup(struct xdp_stage *x, bool on);

/* A rotation: SYN cookies are now made with cur, and checked against cur
 * and prev (NULL: none), as the engines do (engine_set_cookie_secrets). */
void xdp_stage_set_secrets(struct xdp_stage *x, const uint8_t cur[ENGINE_SECRET_LEN],
			   const uint8_t *prev);

/* Mirrors what one engine call changed (flows made and ended, options
 * learned from a backend) into the stage's maps.  Thread-safe (map
 * updates are system calls); a failure is counted in *errors. */
void xdp_stage_apply(struct xdp_stage *x, const struct engine_out *o, uint64_t *errors);

/* Sums the stage's per-CPU counters into c (XC_MAX of them). */
void xdp_stage_counters(struct xdp_stage *x, uint64_t *c);

/* Adds to syns (POLICY_MAX_RULES, indexed as the rules of configuration
 * generation conf_gen) the SYNs the stage answered or dropped for each
 * rule, counted since the daemon started (a rule's count follows its name
 * across reloads).  False, nothing added, when the stage's rules are of
 * another generation (a reload under way) or the counts cannot be read. */
bool xdp_stage_rule_syns(struct xdp_stage *x, uint32_t conf_gen, uint64_t *syns);

/* How many interfaces carry the stage now. */
unsigned xdp_stage_attached(const struct xdp_stage *x);

/* The program's file descriptor (for BPF_PROG_TEST_RUN in tests/xdp and
 * for diagnostics). */
int xdp_stage_prog_fd(const struct xdp_stage *x);

/* Detaches the program from every interface and frees everything. */
void xdp_stage_close(struct xdp_stage *x);

#else /* !HAVE_XDP: stubs */
#include "log.h"

static inline struct xdp_stage *xdp_stage_open(const struct conf *c,
					       const uint8_t secret[ENGINE_SECRET_LEN],
					       bool ct_lookup, unsigned nworkers,
					       uint64_t mono_ms, uint64_t wall_ms)
{
	if (c->xdp.nifaces)
		log_warnx("xdp: this synproxyd was built without the XDP stage (configure "
			  "found no clang BPF target, libbpf or bpftool); SYNs are answered "
			  "through the queue only, which fails closed");
	return NULL;
}
static inline int xdp_stage_set_conf(struct xdp_stage *x, const struct conf *c) { return 0; }
static inline void xdp_stage_set_secrets(struct xdp_stage *x,
					 const uint8_t cur[ENGINE_SECRET_LEN], const uint8_t *prev)
{
}
static inline void xdp_stage_set_syn_lookup(struct xdp_stage *x, bool on) {}
static inline void xdp_stage_tick(struct xdp_stage *x, uint64_t mono_ms, uint64_t wall_ms,
				  uint64_t pressure_until_ms) {}
static inline void xdp_stage_apply(struct xdp_stage *x, const struct engine_out *o,
				   uint64_t *errors) {}
static inline void xdp_stage_counters(struct xdp_stage *x, uint64_t *c) {}
static inline bool xdp_stage_rule_syns(struct xdp_stage *x, uint32_t conf_gen, uint64_t *syns)
{
	return false;
}
static inline unsigned xdp_stage_attached(const struct xdp_stage *x) { return 0; }
static inline int xdp_stage_prog_fd(const struct xdp_stage *x) { return -1; }
static inline void xdp_stage_close(struct xdp_stage *x) {}
#endif

#endif
