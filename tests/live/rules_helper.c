/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Drives the rules module from the command line for tests/live/rules_syntax.sh:
 *   rules_helper print4|print6|remove4|remove6|install|remove CONFIG
 * The print forms write iptables-restore input to stdout; install and remove
 * change the current network namespace.  Exit status 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "rules.h"

int main(int argc, char **argv)
{
	static struct conf c;  /* large: keep it off the stack */
	char err[512];
	const char *op;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s print4|print6|remove4|remove6|install|remove CONFIG\n",
			argv[0]);
		return 2;
	}
	op = argv[1];
	if (conf_load(argv[2], &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (strcmp(op, "print4") == 0)
		rc = rules_print(&c, RULES_IPV4, stdout);
	else if (strcmp(op, "print6") == 0)
		rc = rules_print(&c, RULES_IPV6, stdout);
	else if (strcmp(op, "remove4") == 0)
		rc = rules_print_remove(&c, RULES_IPV4, stdout);
	else if (strcmp(op, "remove6") == 0)
		rc = rules_print_remove(&c, RULES_IPV6, stdout);
	else if (strcmp(op, "install") == 0)
		rc = rules_install(&c);
	else if (strcmp(op, "remove") == 0)
		rc = rules_remove(&c);
	else
		rc = -2;
	conf_free(&c);
	if (rc == -2) {
		fprintf(stderr, "%s: unknown operation '%s'\n", argv[0], op);
		return 2;
	}
	return rc == 0 ? 0 : 1;
}
