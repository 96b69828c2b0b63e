/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which NFQUEUE verdicts may travel as one batch verdict.  The kernel's
 * NFQNL_MSG_VERDICT_BATCH applies one verdict to every packet still queued
 * whose id is at or below the one given, so it would also hit a packet the
 * engine holds (whose verdict comes later).  This module keeps the ids of
 * held packets and gathers runs of equal, unmangled verdicts, and says how
 * each run must be written: one batch message when no held packet lies
 * below the run's last id, one message per packet otherwise.  Pure: no
 * socket, no library; nfq.c writes the messages. */
#ifndef SP_VBATCH_H
#define SP_VBATCH_H

#include <stdbool.h>
#include <stdint.h>

/* Verdicts gathered into one run at most. */
#define VBATCH_RUN_MAX 256

/* One verdict message to write: for batch, every queued id up to id. */
struct vbatch_msg {
	uint32_t id;
	bool accept;
	bool batch;
};

struct vbatch {
	uint32_t *vb_held;       /* held ids in delivery order (ascending, wrap-safe) */
	uint32_t vb_nheld;
	uint32_t vb_cap;
	bool vb_broken;          /* the held list could not grow: never batch again */
	uint32_t vb_run[VBATCH_RUN_MAX];
	uint32_t vb_nrun;
	bool vb_run_accept;
};

/* Prepares an empty vb. */
void vbatch_init(struct vbatch *vb);

/* Frees what vb allocated (the open run is forgotten: close it first). */
void vbatch_free(struct vbatch *vb);

/* Records that packet id was handed over and left without a verdict: no
 * batch may cover it until its own verdict is given.  Expects ids in
 * delivery order. */
void vbatch_hold(struct vbatch *vb, uint32_t id);

/* Takes the verdict for id.  An unmangled one joins the open run when it
 * can; the run it cannot join is closed through put first.  A mangled one
 * closes the run and returns false: the caller writes it itself.  Returns
 * true when the verdict is now in the run. */
bool vbatch_verdict(struct vbatch *vb, uint32_t id, bool accept, bool mangled,
		    void (*put)(const struct vbatch_msg *m, void *ctx), void *ctx);

/* Writes the open run through put: one batch message when it has several
 * ids and no held id lies at or below its last one, else one message per
 * id in order. */
void vbatch_close(struct vbatch *vb, void (*put)(const struct vbatch_msg *m, void *ctx),
		  void *ctx);

#endif
