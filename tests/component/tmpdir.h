/*
 * tmpdir: a fresh folder under /tmp for a component test, and its removal
 * with everything in it. Header-only, like harness.h.
 */
#ifndef MP_TEST_TMPDIR_H
#define MP_TEST_TMPDIR_H

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

#endif
