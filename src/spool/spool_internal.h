/*
 * spool_internal: what the spool's files share and nothing outside
 * src/spool may use: the spool and message structures, and the steps one
 * file hands to another. Who does what:
 *   spool_write.c   a message being received: id, buffer, its tmp/ file
 *   spool_pool.c    removed messages' files kept for reuse, and removal
 *   spool_commit.c  the commit pipeline: workers, the syncer, the results
 *   spool_open.c    open (lock, recovery of tmp/ and .state) and close
 *   spool_read.c    listing and reading queue/, the .state and .retry files
 *   format/         the codec of every file (pure, unit-tested)
 */
#ifndef MP_SPOOL_INTERNAL_H
#define MP_SPOOL_INTERNAL_H

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "group_sync.h"
#include "spool.h"

#define SPOOL_BUF_SIZE (64 * 1024)
/*
 * Threads that write, fdatasync and rename message files, each message on
 * its own. One fdatasync waits for the file's data, then its inode, then
 * the disk's flush; several in flight keep the disk's queue full
 * (measured on a virtio disk: 32 files synced one by one took 6-10 ms, by 4
 * threads 2.5-4 ms; more threads gained nothing).
 */
#ifndef SPOOL_SYNC_WORKERS
#define SPOOL_SYNC_WORKERS 4
#endif
/*
 * Removed message files kept in tmp/ for reuse (spool_pool_put). Enough
 * files for a burst's whole backlog: a burst of 8,000 messages that found
 * room for only 1,024 freed the other 7,000, and the next burst's creates
 * walked past them (see spool_pool_take). The bytes they hold are bounded
 * too, since a pooled file keeps its old message's blocks until reused.
 */
#define SPOOL_POOL_FILES 16384
#define SPOOL_POOL_BYTES (256 * 1024 * 1024)

struct pooled {
	uint32_t n; /* tmp/free-<n> */
	off_t disk; /* bytes it holds on disk */
	off_t size; /* its length */
};

struct spool {
	char *dir;
	int dir_fd, tmp_fd, queue_fd;
	int lock_fd;		  /* -1 for a reader */
	bool locked;		  /* we hold lock_fd's flock (and wrote our pid) */
	int notify_rd, notify_wr; /* -1 for a reader */
	bool thread_started;
	pthread_t thread; /* the directory syncer (spool_commit_main) */
	pthread_t workers[SPOOL_SYNC_WORKERS];
	size_t nworkers;
	pthread_mutex_t mu;	    /* guards the three lists, stopping, workers_left */
	pthread_cond_t cond;	    /* for the workers: a message waits, or stop */
	pthread_cond_t synced_cond; /* for the syncer: a file was handed over */
	struct spool_msg *pending_head, *pending_tail; /* committed, not yet written */
	struct spool_msg *synced_head, *synced_tail;   /* written, not yet durable */
	struct spool_msg *done_head, *done_tail;       /* results for the event loop */
	bool stopping;
	size_t workers_left; /* still running */
	atomic_uint counter;
	/* Workers leave syncing to the syncer's syncfs while this is on: on a
	 * virtio disk at concurrency 50, 1,500 -> 2,200 messages/s, and the
	 * CPUs' time waiting for the disk halved. */
	struct group_sync gsync;
	/* tmp/free-<n>: files of removed messages, waiting for reuse. */
	pthread_mutex_t pool_mu;
	struct pooled *pool; /* pool_files slots */
	size_t npool, pool_files;
	off_t pool_bytes, pool_bytes_max;
	uint32_t pool_counter;
};

struct spool_msg {
	struct spool *sp;
	struct spool_msg *next;
	char id[SPOOL_QID_SIZE];
	int fd;				   /* -1 until the file is created (see spool_msg_create) */
	bool created;			   /* tmp/<tmp_name> exists: ours to remove on failure */
	bool reused;			   /* ... and was a removed message's file: cut to size */
	char tmp_name[SPOOL_QID_SIZE + 8]; /* <id>, or free-<n> when reused */
	off_t old_size;			   /* a reused file's length before */
	off_t size;			   /* bytes written to the file */
	bool awaits_syncfs; /* written, fd open, still in tmp/: the syncer's to sync */
	int err;	    /* sticky errno of the first failure, 0 while all is well */
	char *buf;	    /* SPOOL_BUF_SIZE bytes; freed once the file is synced */
	size_t len;
	/* The envelope's pad line (spool_msg_prepend): where it starts in the
	 * file and its current length; pad_len 0 when there is none. */
	off_t pad_off;
	size_t pad_len;
	spool_commit_cb cb;
	void *arg;
	enum spool_result res;
};

/* spool_write.c: write all n bytes (EINTR retried); -1 with errno. */
int spool_write_all(int fd, const void *p, size_t n);
/* spool_write.c: empty the message's buffer into its file, created (or
 * taken from the pool) now if not yet; errors go to m->err. */
void spool_msg_flush(struct spool_msg *m);

/* spool_pool.c: "free-<n>", the name of a pooled file in tmp/. */
void spool_pool_name(char *out, size_t size, uint32_t n);
/* spool_pool.c: give m a pooled file to write into where it lies; false
 * (nothing changed) when none is left. */
bool spool_msg_reuse(struct spool_msg *m);
/* spool_pool.c: unlink every pooled file (a clean stop leaves no tmp/). */
void spool_pool_drain(struct spool *sp);

/* spool_read.c: a listing of the folder open at dirfd, on a descriptor of
 * its own (closedir leaves dirfd open); NULL with errno. */
DIR *spool_dir_list(int dirfd);

/* spool_commit.c: start the workers and the syncer; -1 with err filled. */
int spool_commit_start(struct spool *sp, char *err, size_t err_size);
/* spool_commit.c: let them finish every commit asked for, join them, run
 * the callbacks left. */
void spool_commit_stop(struct spool *sp);

#endif
