/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the configuration loader's files share: conf.c (the text, the
 * settings outside the rules, the whole file) and conf_rules.c (the rules
 * list).  Errors name the file and the line (cf_fail_at).  Private to
 * those two. */
#ifndef SP_CONF_INT_H
#define SP_CONF_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <libconfig.h>

#include "conf.h"

#define CONF_FILE_MAX (1u << 20)
#define CONF_SUN_PATH_MAX 108           /* sizeof(sockaddr_un.sun_path) */
#define CONF_LIST_MAX 4096              /* prefixes in one allow or deny list */
#define CONF_FLOWS_MAX (1 << 26)        /* flows.max, and max_flows_per_source */
#define CONF_FLOWS_PER_SOURCE_DEFAULT UINT32_MAX  /* "not set": flows.max / 16 */

struct ctx {
	const char *path;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
int cf_fail_at(struct ctx *x, unsigned line, const char *fmt, ...);
unsigned cf_line_of(const config_setting_t *s);
/* The name to quote for s: array and list elements borrow their parent's. */
const char *cf_label(const config_setting_t *s);
/* Fails on a member of group s not in names (NULL-terminated). */
int cf_check_keys(struct ctx *x, const config_setting_t *s, const char *const *names,
		  const char *where);
bool cf_is_int(const config_setting_t *s);
/* The integer s, within min..max. */
int cf_get_int(struct ctx *x, const config_setting_t *s, int64_t min, int64_t max,
	       int64_t *out);
/* Optional members of group g (out unchanged when absent). */
int cf_opt_u32(struct ctx *x, const config_setting_t *g, const char *name,
	       int64_t min, int64_t max, uint32_t *out);
int cf_opt_ms(struct ctx *x, const config_setting_t *g, const char *name,
	      uint32_t min_ms, uint32_t max_ms, uint32_t *out);
int cf_opt_bool(struct ctx *x, const config_setting_t *g, const char *name, bool *out);
/* One of names (NULL-terminated), as its index. */
int cf_opt_word(struct ctx *x, const config_setting_t *g, const char *name,
		const char *const *names, int *out);

/* conf_rules.c: the rules list s into pol. */
int cf_load_rules(struct ctx *x, const config_setting_t *s, struct policy *pol);

#endif
