/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the daemon reads of conntrack at start and keeps from it: the
 * connections it adopts, the tuples that may have an entry of ours
 * (ctseen.h), those of them no engine holds (the orphans), and whether
 * the XDP stage must look SYNs up in conntrack because of them. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ctseen.h"
#include "daemon.h"
#include "fastpath.h"
#include "log.h"
#include "worker.h"
#include "xdp.h"

/* Connections established before the daemon's rules were in place
 * (its first start; a crash) go on untranslated: with the fast path, by
 * marking their conntrack entries so the accept rule passes them.  Done
 * before the rules install, so that their packets never reach the queue
 * (whose engine would take them for forged cookies). */
void daemon_adopt(struct daemon *d)
{
	struct fastpath *fp;
	int n;

	if (d->conf->fastpath == CONF_FASTPATH_OFF)
		return;
	fp = fastpath_open(d->conf->mark, d->conf->engine.established_idle_ms / 1000);
	if (!fp) {
		log_warn("adopting connections: ctnetlink");
		return;
	}
	n = fastpath_adopt(fp, &d->conf->policy);
	fastpath_close(fp);
	if (n < 0) {
		log_warn("adopting connections");
		return;
	}
	d->flows_adopted = (uint64_t)n;
	if (n > 0)
		log_notice("adopted %d connections established before synproxyd ran: they "
			   "go on untranslated on the kernel fast path", n);
}

static void ctseen_record(const struct conn_key *k, uint32_t id, void *ctx)
{
	struct daemon *d = ctx;

	(void)ctseen_put(d->ctseen, k, id);
	(void)ctseen_put(d->orphans, k, id);
}

/* The tuples that may have a conntrack entry with our mark (ctseen.h):
 * those of earlier processes and of adopted connections, read before any
 * packet is; the workers add their own offloads.  Bounded by what two
 * processes' flow tables can hand over (the previous one's and ours).
 * Without the set every new flow asks conntrack to remove its entries. */
void daemon_ctseen_init(struct daemon *d)
{
	size_t max = (size_t)d->conf->engine.max_flows * d->nworkers * 2;
	struct fastpath *fp;
	int n;

	if (d->conf->fastpath == CONF_FASTPATH_OFF)
		return;
	d->ctseen = ctseen_new(max);
	d->orphans = ctseen_new(max);
	fp = fastpath_open(d->conf->mark, d->conf->engine.established_idle_ms / 1000);
	n = d->ctseen && d->orphans && fp ? fastpath_each_ours(fp, ctseen_record, d) : -1;
	fastpath_close(fp);
	if (n < 0) {
		log_warn("reading conntrack's entries of ours; every new flow removes its "
			 "tuple's entries");
		ctseen_free(d->ctseen);
		ctseen_free(d->orphans);
		d->ctseen = d->orphans = NULL;
		return;
	}
	if (n > 0)
		log_info("%d conntrack entries of ours from before this start", n);
	/* Each worker drops the flows its engine restored from the orphans. */
	for (unsigned i = 0; i < d->nworkers; i++)
		worker_set_ctseen(d->workers[i], d->ctseen, d->orphans);
}

/* Whether a conntrack entry of ours may exist that no engine holds: one
 * the state file did not carry (a crash), an adopted connection's, or one
 * whose flow ended without its event.  A SYN on its tuple must reach an
 * engine, which takes the flow in (worker_kernel_flow): the XDP stage
 * looks SYNs up in conntrack while this is true, and only then (the
 * lookup costs it 8% of its SYN rate; bench/README.md). */
static bool orphans_may_exist(struct daemon *d)
{
	bool overflowed;

	if (!d->orphans)
		return true;
	for (unsigned i = 0; i < d->nworkers; i++)
		if (!worker_has_ct_events(d->workers[i]))
			return true;
	return ctseen_count(d->orphans, &overflowed) > 0 || overflowed;
}

void daemon_syn_lookup_update(struct daemon *d, bool at_start)
{
	bool on;

	if (!d->xdp || d->conf->fastpath == CONF_FASTPATH_OFF)
		return;
	on = orphans_may_exist(d);
	if (on == d->syn_lookup && !at_start)
		return;
	d->syn_lookup = on;
	xdp_stage_set_syn_lookup(d->xdp, on);
	if (on)
		log_info("xdp: SYNs are looked up in conntrack: entries of ours may exist that "
			 "no engine holds");
	else if (!at_start)
		log_info("xdp: no entry of ours left that no engine holds; SYNs are not looked up");
}
