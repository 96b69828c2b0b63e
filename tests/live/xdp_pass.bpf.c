/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lets every frame through.  A veth delivers the XDP_TX frames of the
 * program on one end to the other end only when that end runs NAPI, which
 * an XDP program of its own turns on; the lab puts this one on the client
 * side of the links the XDP stage answers on.  Real NICs need nothing of
 * the kind. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
