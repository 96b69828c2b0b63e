/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Verdict batching (see vbatch.h).  Held ids arrive in delivery order
 * and mostly leave in the same order, so a sorted array with binary
 * search is enough; it is as long as the engine's hold pool at most.  Ids
 * are compared wrap-safely, as the kernel compares them (nfq_id_after),
 * through seq.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "seq.h"
#include "vbatch.h"

void vbatch_init(struct vbatch *vb)
{
	memset(vb, 0, sizeof(*vb));
}

void vbatch_free(struct vbatch *vb)
{
	free(vb->vb_held);
	vbatch_init(vb);
}

void vbatch_hold(struct vbatch *vb, uint32_t id)
{
	if (vb->vb_broken)
		return;
	if (vb->vb_nheld == vb->vb_cap) {
		uint32_t cap = vb->vb_cap ? vb->vb_cap * 2 : 64;
		uint32_t *h = realloc(vb->vb_held, cap * sizeof(*h));

		if (!h) {
			/* Without the list nothing proves a batch safe. */
			vb->vb_broken = true;
			return;
		}
		vb->vb_held = h;
		vb->vb_cap = cap;
	}
	assert(vb->vb_nheld == 0 || seq_after(id, vb->vb_held[vb->vb_nheld - 1]));
	vb->vb_held[vb->vb_nheld++] = id;
}

/* Removes id from the held list when it is there. */
static void settle(struct vbatch *vb, uint32_t id)
{
	uint32_t lo = 0, hi = vb->vb_nheld;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (seq_before(vb->vb_held[mid], id))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < vb->vb_nheld && vb->vb_held[lo] == id) {
		memmove(vb->vb_held + lo, vb->vb_held + lo + 1,
			(vb->vb_nheld - lo - 1) * sizeof(*vb->vb_held));
		vb->vb_nheld--;
	}
}

/* True when a batch up to id would hit no held packet. */
static bool covers_no_held(const struct vbatch *vb, uint32_t id)
{
	return !vb->vb_broken && (vb->vb_nheld == 0 || seq_after(vb->vb_held[0], id));
}

void vbatch_close(struct vbatch *vb, void (*put)(const struct vbatch_msg *m, void *ctx),
		  void *ctx)
{
	struct vbatch_msg m = { .accept = vb->vb_run_accept };
	uint32_t i;

	if (vb->vb_nrun == 0)
		return;
	if (vb->vb_nrun > 1 && covers_no_held(vb, vb->vb_run[vb->vb_nrun - 1])) {
		m.id = vb->vb_run[vb->vb_nrun - 1];
		m.batch = true;
		put(&m, ctx);
	} else {
		for (i = 0; i < vb->vb_nrun; i++) {
			m.id = vb->vb_run[i];
			put(&m, ctx);
		}
	}
	vb->vb_nrun = 0;
}

bool vbatch_verdict(struct vbatch *vb, uint32_t id, bool accept, bool mangled,
		    void (*put)(const struct vbatch_msg *m, void *ctx), void *ctx)
{
	bool join = !mangled && vb->vb_nrun && vb->vb_run_accept == accept &&
		    vb->vb_nrun < VBATCH_RUN_MAX && seq_after(id, vb->vb_run[vb->vb_nrun - 1]);

	/* The run is closed while id still counts as held: a batch written
	 * before id's own verdict must not cover it. */
	if (!join)
		vbatch_close(vb, put, ctx);
	settle(vb, id);
	if (mangled)
		return false;
	/* A run never grows past a held packet: its batch would cover it. */
	if (join && !covers_no_held(vb, id))
		vbatch_close(vb, put, ctx);
	vb->vb_run_accept = accept;
	vb->vb_run[vb->vb_nrun++] = id;
	return true;
}
