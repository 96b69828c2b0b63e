/* The engine: see engine.h.  (Work in progress: only the defaults so far.) */
#include "engine.h"

void engine_config_defaults(struct engine_config *c)
{
	*c = (struct engine_config){
		.syncache = {
			.buckets = 4096,
			.bucket_limit = 16,
			.max_entries = 32768,
			.retries = 3,
			.rto_ms = 1000,
		},
		.cookies = COOKIES_AUTO,
		.max_flows = 65536,
		.hold_packets_per_flow = 8,
		.hold_bytes_total = 4u << 20,
		.backend_syn_rto_ms = 1000,
		.backend_syn_retries = 3,
		.established_idle_ms = 3600u * 1000,
		.fin_wait_ms = 120u * 1000,
		.time_wait_ms = 60u * 1000,
		.rst_grace_ms = 10u * 1000,
		.synack_window = 65535,
		.srclimit_slots = 65536,
		.learned_slots = 1024,
		.passlist_slots = 16384,
		.cookie_crosscheck = false,
	};
}
