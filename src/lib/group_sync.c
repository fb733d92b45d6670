/*
 * group_sync: one syncfs for many files, file by file while it is slow
 * (group_sync.h).
 */
#include "group_sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "elapsed.h"
#include "log.h"

#define GROUP_SYNC_SLOW_MS 100
#define GROUP_SYNC_BACKOFF_MS (60 * 1000)

bool
group_sync_release_reports_errors(const char *release)
{
	char *end;
	unsigned long major = strtoul(release, &end, 10);
	if (end == release || *end != '.')
		return false; /* unknown: the safe answer */
	const char *p = end + 1;
	unsigned long minor = strtoul(p, &end, 10);
	if (end == p)
		return false;
	return major > 5 || (major == 5 && minor >= 8);
}

void
group_sync_init(struct group_sync *g, const char *what)
{
	struct utsname u;
	group_sync_init_release(g, what, uname(&u) == 0 ? u.release : "");
}

void
group_sync_init_release(struct group_sync *g, const char *what, const char *release)
{
	g->what = what;
	g->kernel_ok = group_sync_release_reports_errors(release);
	if (!g->kernel_ok)
		log_info("event=syncfs_off files=%s kernel=\"%s\" "
			 "why=\"syncfs reports write-back errors only from Linux 5.8\" "
			 "then=\"each file is synced on its own\"",
			 what, release);
	atomic_init(&g->on, g->kernel_ok);
	atomic_init(&g->slow_ms, GROUP_SYNC_SLOW_MS);
	atomic_init(&g->backoff_ms, GROUP_SYNC_BACKOFF_MS);
	atomic_init(&g->retry_ms, 0);
}

void
group_sync_set_limits(struct group_sync *g, unsigned slow_ms, unsigned backoff_ms)
{
	atomic_store(&g->slow_ms, slow_ms);
	atomic_store(&g->backoff_ms, backoff_ms);
}

bool
group_sync_enabled(struct group_sync *g)
{
	if (!g->kernel_ok)
		return false;
	if (atomic_load(&g->on))
		return true;
	if (elapsed_now_ms() < atomic_load(&g->retry_ms))
		return false;
	atomic_store(&g->on, true);
	return true;
}

int
group_sync_run(struct group_sync *g, int fd, size_t files)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = syncfs(fd);
	int e = errno;
	double ms = elapsed_ms_since(&t0);
	if (rc < 0) {
		log_warn("event=syncfs_failed files=%s count=%zu reason=\"%s\" "
			 "then=\"each file is synced on its own\"",
			 g->what, files, strerror(e));
		errno = e;
		return -1;
	}
	log_debug("event=syncfs files=%s count=%zu ms=%.2f", g->what, files, ms);
	if (ms > atomic_load(&g->slow_ms)) {
		unsigned backoff = atomic_load(&g->backoff_ms);
		atomic_store(&g->retry_ms, elapsed_now_ms() + backoff);
		atomic_store(&g->on, false);
		log_info("event=syncfs_slow files=%s count=%zu syncfs_ms=%.0f "
			 "what=\"other writes are pending on the filesystem\" "
			 "then=\"each file is synced on its own for %u s\"",
			 g->what, files, ms, backoff / 1000);
	}
	return 0;
}
