/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Applying the rules: iptables-restore and iptables-save (and their IPv6
 * twins) found in PATH and spawned with the daemon's signals reset, the
 * text of rules.c written to the one and the output of the other parsed
 * to see what is installed.
 *
 * Removal.  iptables-restore cannot delete "if present", so rules_remove
 * reads iptables-save, and removes exactly the jumps to our chains and the
 * chains it finds there, in one iptables-restore --noflush run per family.
 * It removes the chains of both modes, whatever mode c names: the rules
 * installed may come from an older configuration. */
#define _GNU_SOURCE  /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "rules.h"
#include "rules_int.h"

extern char **environ;

/* iptables-save output larger than this is refused rather than trusted. */
#define SAVE_MAX ((size_t)256 << 20)

/* Finds name in $PATH (a fixed list of system directories when it is
 * unset); fills path and returns true when it is executable there. */
static bool find_tool(const char *name, char *path, size_t size)
{
	const char *env = getenv("PATH");
	char dirs[4096];
	char *dir, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s", env && *env ? env : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (dir[0] != '/')
			continue;  /* a relative PATH entry depends on the cwd: ignore it */
		if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size)
			continue;
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

/* Starts path with argv, its stdin on infd and stdout on outfd (-1: the
 * caller's).  The child starts with default signal dispositions and an
 * empty mask, whatever the daemon set up for itself. */
static int spawn(const char *path, char *const argv[], int infd, int outfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def, none;
	int rc;

	sigfillset(&def);
	sigdelset(&def, SIGKILL);
	sigdelset(&def, SIGSTOP);
	sigemptyset(&none);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail;
	if ((rc = posix_spawnattr_init(&at)) != 0)
		goto fail_fa;
	if ((infd >= 0 && (rc = posix_spawn_file_actions_adddup2(&fa, infd, 0)) != 0) ||
	    (outfd >= 0 && (rc = posix_spawn_file_actions_adddup2(&fa, outfd, 1)) != 0) ||
	    (rc = posix_spawnattr_setsigdefault(&at, &def)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)))
		goto fail_at;
	rc = posix_spawn(pid, path, &fa, &at, argv, environ);
fail_at:
	posix_spawnattr_destroy(&at);
fail_fa:
	posix_spawn_file_actions_destroy(&fa);
fail:
	if (rc != 0) {
		errno = rc;
		log_err("cannot run %s", path);
		return -1;
	}
	return 0;
}

/* Waits for pid; returns 0 when it exited with status 0. */
static int reap(const char *path, pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			log_err("waiting for %s", path);
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		log_errx("%s exited with status %d", path, WEXITSTATUS(status));
	else
		log_errx("%s killed by signal %d", path, WTERMSIG(status));
	return -1;
}

/* Writes len bytes of text to fd with SIGPIPE blocked, so a child that
 * exits early yields EPIPE here instead of killing the daemon; a SIGPIPE
 * left pending is consumed before the mask is restored. */
static int write_all(int fd, const char *text, size_t len)
{
	const struct timespec zero = { 0, 0 };
	sigset_t pipe_set, old, pending;
	int rc = 0, err = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			rc = -1;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
	if (err == EPIPE && !sigismember(&old, SIGPIPE) && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE))
		sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return rc;
}

/* Starts path with argv and a pipe on its stdin (to_child) or its
 * stdout; returns our end of the pipe, or -1. */
static int spawn_piped(const char *path, char *const argv[], bool to_child, pid_t *pid)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_err("pipe");
		return -1;
	}
	if (spawn(path, argv, to_child ? fds[0] : -1, to_child ? -1 : fds[1], pid) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	close(to_child ? fds[0] : fds[1]);
	return to_child ? fds[1] : fds[0];
}

/* Runs "path --noflush -w" with text on its stdin; 0 when it succeeded. */
static int run_restore(const char *path, const char *text, size_t len)
{
	char noflush[] = "--noflush", wflag[] = "-w";
	char prog[PATH_MAX];
	char *argv[] = { prog, noflush, wflag, NULL };
	int fd, rc = 0;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s", path);
	if ((fd = spawn_piped(path, argv, true, &pid)) < 0)
		return -1;
	if (write_all(fd, text, len) < 0 && errno != EPIPE) {
		log_err("writing to %s", path);
		rc = -1;
	}
	close(fd);
	if (reap(path, pid) < 0)
		rc = -1;
	return rc;
}

/* Runs path (an iptables-save) and returns its output, NUL-terminated,
 * in *text (to free); 0, or -1. */
static int run_save(const char *path, char **text)
{
	char prog[PATH_MAX];
	char *argv[] = { prog, NULL };
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int fd, rc = 0;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s", path);
	if ((fd = spawn_piped(path, argv, false, &pid)) < 0)
		return -1;
	for (;;) {
		ssize_t n;

		if (!buf || len + 1 >= cap) {
			size_t want = buf ? cap * 2 : 65536;
			char *bigger;

			if (want > SAVE_MAX) {
				log_errx("%s output too large", path);
				rc = -1;
				break;
			}
			if (!(bigger = realloc(buf, want))) {
				log_errx("out of memory");
				rc = -1;
				break;
			}
			buf = bigger;
			cap = want;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("reading from %s", path);
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);  /* a child still writing now gets EPIPE and ends */
	if (reap(path, pid) < 0)
		rc = -1;
	if (rc < 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/* Index of our chain called name in table, or -1. */
static int chain_lookup(const char *table, const char *name, size_t namelen)
{
	int ch;

	for (ch = 0; ch < CH_COUNT; ch++)
		if (strcmp(CHAINS[ch].table, table) == 0 && strlen(CHAINS[ch].name) == namelen &&
		    memcmp(CHAINS[ch].name, name, namelen) == 0)
			return ch;
	return -1;
}

/* Writes to out the restore input removing, from the iptables-save text
 * saved, every plain jump to one of our chains and then the chains.
 * Returns 1 when there is anything to remove, 0 when not, -1 on no memory. */
static int removal_from_save(char *saved, FILE *out)
{
	char table[32] = "";
	bool present[CH_COUNT] = { false };
	int any = 0;
	char *line, *save = NULL;
	char *jumps = NULL;
	size_t jumps_len = 0;
	FILE *jf = NULL;
	int ch;

	for (line = strtok_r(saved, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%s", line + 1);
			memset(present, 0, sizeof(present));
			if (jf) {  /* a table without COMMIT: ignore it */
				fclose(jf);
				free(jumps);
			}
			jumps = NULL;
			jf = open_memstream(&jumps, &jumps_len);
			if (!jf)
				return -1;
		} else if (line[0] == ':' && jf) {
			size_t n = strcspn(line + 1, " ");

			if ((ch = chain_lookup(table, line + 1, n)) >= 0)
				present[ch] = true;
		} else if (strncmp(line, "-A ", 3) == 0 && jf) {
			char *from = line + 3, *target = strstr(from, " -j ");
			size_t n = target ? (size_t)(target - from) : 0;

			if (target && (ch = chain_lookup(table, target + 4, strlen(target + 4))) >= 0 &&
			    memchr(from, ' ', n) == NULL)
				fprintf(jf, "-D %.*s -j %s\n", (int)n, from, CHAINS[ch].name);
		} else if (strcmp(line, "COMMIT") == 0 && jf) {
			bool here = false;

			if (fclose(jf) != 0) {
				free(jumps);
				return -1;
			}
			jf = NULL;
			for (ch = 0; ch < CH_COUNT; ch++)
				here |= present[ch];
			if (here || jumps_len > 0) {
				fprintf(out, "*%s\n%s", table, jumps);
				for (ch = 0; ch < CH_COUNT; ch++)
					if (present[ch])
						print_drop_chain(out, ch);
				fputs("COMMIT\n", out);
				any = 1;
			}
			free(jumps);
			jumps = NULL;
		}
	}
	if (jf) {
		fclose(jf);
		free(jumps);
	}
	return any;
}

struct tools {
	bool usable[2];
	char restore[2][PATH_MAX];
	char save[2][PATH_MAX];
};

/* Finds both families' tools and marks which are usable.  A family whose
 * tools are missing is skipped, silently when c has no rule for it that
 * needs a line, else with a message and -1. */
static int tools_find(const struct conf *c, struct tools *t)
{
	int f, rc = 0;

	for (f = RULES_IPV4; f <= RULES_IPV6; f++) {
		const char *missing = NULL;

		if (!find_tool(TOOL_RESTORE[f], t->restore[f], sizeof(t->restore[f])))
			missing = TOOL_RESTORE[f];
		else if (!find_tool(TOOL_SAVE[f], t->save[f], sizeof(t->save[f])))
			missing = TOOL_SAVE[f];
		t->usable[f] = missing == NULL;
		if (missing && rules_have(c, (enum rules_family)f, NEEDED)) {
			log_errx("%s not found in PATH, but the configuration has %s rules",
				 missing, FAMILY_NAME[f]);
			rc = -1;
		}
	}
	return rc;
}

/* Removes our jumps and chains of family f as iptables-save shows them. */
static int remove_family(const struct tools *t, int f)
{
	char *saved = NULL, *text = NULL;
	size_t len = 0;
	FILE *out;
	int any, rc = 0;

	if (run_save(t->save[f], &saved) < 0)
		goto fail;
	out = open_memstream(&text, &len);
	if (!out) {
		free(saved);
		goto fail;
	}
	any = removal_from_save(saved, out);
	free(saved);
	if (fclose(out) != 0 || any < 0) {
		free(text);
		goto fail;
	}
	if (any > 0)
		rc = run_restore(t->restore[f], text, len);
	free(text);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	log_errx("could not remove the %s rules", FAMILY_NAME[f]);
	return -1;
}

/* Counts, in restore or save text, our chains declared (":NAME") and the
 * plain jumps to them ("-A BUILTIN -j NAME" in save output, "-I BUILTIN 1
 * -j NAME" in ours), per chain id. */
static void tally(const char *text, int declared[CH_COUNT], int jumps[CH_COUNT])
{
	char table[32] = "";
	const char *line = text;

	memset(declared, 0, CH_COUNT * sizeof(int));
	memset(jumps, 0, CH_COUNT * sizeof(int));
	while (*line) {
		size_t len = strcspn(line, "\n");
		const char *target = NULL;
		int ch;

		if (line[0] == '*' && len - 1 < sizeof(table)) {
			memcpy(table, line + 1, len - 1);
			table[len - 1] = '\0';
		} else if (line[0] == ':') {
			if ((ch = chain_lookup(table, line + 1, strcspn(line + 1, " \n"))) >= 0)
				declared[ch]++;
		} else if (strncmp(line, "-A ", 3) == 0 || strncmp(line, "-I ", 3) == 0) {
			const char *j = strstr(line, " -j ");

			if (j && j < line + len) {
				const char *from = line + 3;
				size_t n = (size_t)(j - from);

				/* only a plain jump: "-A CHAIN -j X" or "-I CHAIN 1 -j X" */
				if (memchr(from, ' ', n) == NULL ||
				    (line[1] == 'I' && strncmp(from + strcspn(from, " "), " 1 -j ", 6) == 0))
					target = j + 4;
			}
			if (target && (ch = chain_lookup(table, target, (size_t)(line + len - target))) >= 0)
				jumps[ch]++;
		}
		line += len;
		if (*line == '\n')
			line++;
	}
}

/* Drops the jump-insertion lines from restore text (in place). */
static void drop_jump_lines(char *text)
{
	char *in = text, *out = text;

	while (*in) {
		size_t len = strcspn(in, "\n") + (in[strcspn(in, "\n")] == '\n');

		if (strncmp(in, "-I ", 3) != 0) {
			memmove(out, in, len);
			out += len;
		}
		in += len;
	}
	*out = '\0';
}

/* Reinstalls family f in one iptables-restore transaction per table when
 * our chains and jumps are already in place exactly as text would make
 * them: declaring an existing chain flushes it, so the new rules replace
 * the old ones atomically and no packet sees the chains empty (a reload
 * must not let a spliced flow's segments through untranslated).  Returns 1
 * when done, 0 when the layout differs (the caller removes and adds), -1
 * on failure. */
static int refresh_family(const struct tools *t, int f, char *text)
{
	int want_decl[CH_COUNT], want_jump[CH_COUNT], have_decl[CH_COUNT], have_jump[CH_COUNT];
	char *saved = NULL;
	int ch;

	if (run_save(t->save[f], &saved) < 0)
		return -1;
	tally(saved, have_decl, have_jump);
	free(saved);
	tally(text, want_decl, want_jump);
	for (ch = 0; ch < CH_COUNT; ch++)
		if (have_decl[ch] != want_decl[ch] || have_jump[ch] != want_jump[ch])
			return 0;
	drop_jump_lines(text);
	return run_restore(t->restore[f], text, strlen(text)) < 0 ? -1 : 1;
}

static int install_family(const struct conf *c, const struct tools *t, int f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int rc;

	if (!out) {
		log_errx("out of memory");
		return -1;
	}
	rc = rules_print(c, (enum rules_family)f, out);
	if (fclose(out) != 0)
		rc = -1;
	if (rc == 0)
		rc = run_restore(t->restore[f], text, len);
	free(text);
	if (rc < 0)
		log_errx("could not install the %s rules", FAMILY_NAME[f]);
	return rc;
}

int rules_install(const struct conf *c)
{
	bool refreshed[RULES_IPV6 + 1] = { false };
	struct tools t;
	int f;

	if (tools_find(c, &t) < 0)
		return -1;
	for (f = RULES_IPV4; f <= RULES_IPV6; f++) {
		char *text = NULL;
		size_t len = 0;
		FILE *out;
		int rc = -1;

		if (!t.usable[f])
			continue;
		out = open_memstream(&text, &len);
		if (out) {
			rc = rules_print(c, (enum rules_family)f, out);
			if (fclose(out) != 0)
				rc = -1;
		}
		if (rc == 0)
			rc = refresh_family(&t, f, text);
		free(text);
		if (rc == 1) {
			refreshed[f] = true;
			log_info("rules: %s rules replaced in place", FAMILY_NAME[f]);
			continue;
		}
		if (rc < 0 || remove_family(&t, f) < 0)
			return -1;
	}
	for (f = RULES_IPV4; f <= RULES_IPV6; f++) {
		if (refreshed[f] || !t.usable[f])
			continue;
		if (install_family(c, &t, f) < 0) {
			/* iptables-restore commits table by table: undo whatever got in */
			for (f = RULES_IPV4; f <= RULES_IPV6; f++)
				if (t.usable[f])
					remove_family(&t, f);
			return -1;
		}
		log_info("rules: %s rules installed", FAMILY_NAME[f]);
	}
	return 0;
}

/* Writes to out the rule lines ("-A NAME ...") of our chains in text
 * (restore or save text), chain by chain in chain-id order and in their
 * order within a chain: iptables-save lists a table's rules chain by
 * chain, whatever order they were added in.  NUL-terminated. */
static void our_rule_lines(const char *text, FILE *out)
{
	for (int ch = 0; ch < CH_COUNT; ch++) {
		char table[32] = "";
		const char *line = text;

		while (*line) {
			size_t len = strcspn(line, "\n");

			if (line[0] == '*' && len - 1 < sizeof(table)) {
				memcpy(table, line + 1, len - 1);
				table[len - 1] = '\0';
			} else if (strncmp(line, "-A ", 3) == 0 &&
				   chain_lookup(table, line + 3, strcspn(line + 3, " \n")) == ch) {
				fprintf(out, "%s %.*s\n", table, (int)len, line);
			}
			line += len;
			if (*line == '\n')
				line++;
		}
	}
}

/* 0 when family f's rules in the kernel are what c makes them, 1 when
 * not, -1 when they cannot be read. */
static int verify_family(const struct conf *c, const struct tools *t, int f)
{
	int want_decl[CH_COUNT], want_jump[CH_COUNT], have_decl[CH_COUNT], have_jump[CH_COUNT];
	char *want = NULL, *saved = NULL, *want_lines = NULL, *have_lines = NULL;
	size_t wlen = 0, hlen = 0, len = 0;
	FILE *out;
	int rc = -1;

	out = open_memstream(&want, &len);
	if (!out)
		return -1;
	if (rules_print(c, (enum rules_family)f, out) < 0 || fclose(out) != 0)
		goto done;
	if (run_save(t->save[f], &saved) < 0)
		goto done;
	tally(want, want_decl, want_jump);
	tally(saved, have_decl, have_jump);
	rc = 1;
	for (int ch = 0; ch < CH_COUNT; ch++)
		if (have_decl[ch] != want_decl[ch] || have_jump[ch] != want_jump[ch])
			goto done;
	out = open_memstream(&want_lines, &wlen);
	if (!out)
		goto done;
	our_rule_lines(want, out);
	fclose(out);
	out = open_memstream(&have_lines, &hlen);
	if (!out)
		goto done;
	our_rule_lines(saved, out);
	fclose(out);
	rc = wlen == hlen && memcmp(want_lines, have_lines, wlen) == 0 ? 0 : 1;
done:
	free(want);
	free(saved);
	free(want_lines);
	free(have_lines);
	return rc;
}

int rules_verify(const struct conf *c)
{
	struct tools t;
	int f, rc = 0;

	if (tools_find(c, &t) < 0)
		return -1;
	for (f = RULES_IPV4; f <= RULES_IPV6; f++) {
		int r;

		if (!t.usable[f])
			continue;
		r = verify_family(c, &t, f);
		if (r < 0)
			return -1;
		if (r > 0)
			rc = 1;
	}
	return rc;
}

int rules_remove(const struct conf *c)
{
	struct tools t;
	int f, rc;

	/* Even when a family cannot be handled, remove what can be. */
	rc = tools_find(c, &t);
	for (f = RULES_IPV4; f <= RULES_IPV6; f++) {
		if (!t.usable[f])
			continue;
		if (remove_family(&t, f) < 0)
			rc = -1;
		else
			log_info("rules: %s rules removed", FAMILY_NAME[f]);
	}
	return rc;
}
