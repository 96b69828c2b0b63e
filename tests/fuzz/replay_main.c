/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs a fuzz target on its seed corpus and its regression inputs without
 * libFuzzer, so make check (gcc, with or without sanitizers) replays every
 * input a fuzzer ever found or was seeded with.  FUZZ_NAME selects
 * tests/fuzz/{corpus,regressions}/FUZZ_NAME under $top_srcdir.
 * Arguments, when given, are files or directories to run instead. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

#define INPUT_MAX (1L << 20)

/* Runs the target on one file; -1 when it cannot be read. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > INPUT_MAX ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot read\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	/* Exactly n bytes, so ASan sees any read past the input. */
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir in name order; returns how many ran, or
 * -1 on an error.  A missing directory counts as empty when optional. */
static long run_dir(const char *dir, int optional)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	long ran = 0;

	if (!d) {
		if (optional && errno == ENOENT)
			return 0;
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
		}
		names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
		if (!names[n])
			break;
		sprintf(names[n], "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (ran >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) != 0)
				ran = -1;
			else
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char dir[4096];
	long seeds, regs;

	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			struct stat st;

			if (stat(argv[i], &st) != 0) {
				perror(argv[i]);
				return 1;
			}
			if (S_ISDIR(st.st_mode) ? run_dir(argv[i], 0) < 0 : run_file(argv[i]) != 0)
				return 1;
		}
		return 0;
	}
	if (!top)
		top = ".";
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top, FUZZ_NAME);
	seeds = run_dir(dir, 0);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/%s", top, FUZZ_NAME);
	regs = run_dir(dir, 1);
	if (seeds < 0 || regs < 0)
		return 1;
	/* An empty corpus would make this test pass without testing anything. */
	if (seeds == 0) {
		fprintf(stderr, "fuzz %s: no seed inputs found under %s\n", FUZZ_NAME, top);
		return 1;
	}
	printf("fuzz %s: %ld seed and %ld regression inputs ran clean\n", FUZZ_NAME, seeds, regs);
	return 0;
}
