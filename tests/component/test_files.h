/*
 * test_files: a fresh folder under /tmp for a component test, its removal
 * with everything in it, and a whole file read back. Header-only, like
 * harness.h.
 */
#ifndef MP_TEST_FILES_H
#define MP_TEST_FILES_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static inline int
tmpdir_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Removes dir and everything below it. */
static inline void
rm_rf(const char *dir)
{
	nftw(dir, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new folder /tmp/mp-<what>-XXXXXX; the name stays valid until the next call. */
static inline char *
make_tmpdir(const char *what)
{
	static char dir[64];
	snprintf(dir, sizeof dir, "/tmp/mp-%s-XXXXXX", what);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	return dir;
}

/* The whole file at path, NUL-terminated (malloc'd), its length in *len_r; NULL if unreadable. */
static inline char *
read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	size_t got = fread(p, 1, (size_t)n, f);
	p[got] = '\0';
	fclose(f);
	*len_r = got;
	return p;
}

#endif
