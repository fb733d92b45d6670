/*
 * group_sync: make many files durable with one syncfs() of their
 * filesystem instead of an fdatasync each, and know when not to.
 *
 * One syncfs costs one disk flush where an fdatasync per file costs one
 * per file, and the thread sleeps once instead of once per file. But
 * syncfs writes out everything pending on the filesystem, other programs'
 * files too. A syncfs slower than slow_ms (default 100 ms; ours are a few
 * small files) means others have much pending: then the caller is told to
 * sync file by file for backoff_ms (default 60 s), and syncfs is tried
 * again. The spool and the local delivery agent each keep one.
 *
 * Durability through syncfs needs syncfs to report write-back errors,
 * which Linux does only from 5.8: on an older kernel a failed write would
 * pass as durable, so there group syncing stays off for good.
 */
#ifndef MP_GROUP_SYNC_H
#define MP_GROUP_SYNC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct group_sync {
	const char *what; /* names the files in log lines: "spool", "mailboxes" */
	bool kernel_ok;	  /* syncfs reports write-back errors (Linux >= 5.8) */
	atomic_bool on;
	atomic_uint slow_ms, backoff_ms;
	atomic_llong retry_ms; /* CLOCK_MONOTONIC ms at which syncfs is tried again */
};

/* For this machine's kernel (uname). */
void group_sync_init(struct group_sync *g, const char *what);
/* For a kernel release as uname(2) gives it, "6.1.0-18-amd64" (for tests). */
void group_sync_init_release(struct group_sync *g, const char *what, const char *release);
/* Whether a kernel release's syncfs reports write-back errors (>= 5.8). */
bool group_sync_release_reports_errors(const char *release);
/* Change the limits (for tests of the switch). */
void group_sync_set_limits(struct group_sync *g, unsigned slow_ms, unsigned backoff_ms);
/* Whether to leave the files to one group_sync_run; true again once a backoff is over. */
bool group_sync_enabled(struct group_sync *g);
/*
 * syncfs the filesystem of fd for files files; times it, and when it was
 * slow, logs why and turns syncing by group off for the backoff. 0, or -1
 * with errno (then sync each file on its own: the error may be another
 * program's, as syncfs reports any write-back error on the filesystem).
 */
int group_sync_run(struct group_sync *g, int fd, size_t files);

#endif
