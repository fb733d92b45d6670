/*
 * spool: the durable queue. A message is one file; the file is the truth.
 *
 * Layout under the spool directory:
 *   lock           held (flock, exclusive) by the one server writing this
 *                  spool; holds that server's pid as "<pid>\n" while it runs
 *                  (emptied at a clean stop), so `mailport queue flush` can
 *                  signal it. Trust the pid only while the lock is held: a
 *                  killed server leaves its stale pid behind.
 *   tmp/<qid>      being received (deleted on failure or at startup)
 *   tmp/free-<n>   a removed message's file kept for reuse; a message being
 *                  received may be written into it where it lies
 *   queue/<qid>    committed: synced, renamed, directory fsynced
 *   queue/<qid>.state  recipients already delivered
 * File format: an envelope header of "key value\n" lines, a blank line,
 * then the message exactly as it will be delivered (CRLF line ends,
 * Received: header first, dot-stuffing already undone):
 *   version 1
 *   id <qid>
 *   arrival <unix seconds>
 *   from [<address>]                       (just "from" for the null path)
 *   [ret FULL|HDRS] [envid <value>] [body 7BIT|8BITMIME|BINARYMIME] [smtputf8]
 *   [requiretls]                           (RFC 8689; files without it read as off)
 *   [client <ip>] [helo <name>] [auth <user>]
 *   rcpt <address> [notify=NEVER|SUCCESS,FAILURE,DELAY] [orcpt=<value>]
 *                                          (one line per recipient)
 *   [pad <spaces>]                         (room, see below; always last)
 * Addresses are "local@domain" as received (a quoted local part keeps its
 * quotes). Every value is percent-encoded: '%', space, control bytes and
 * DEL are written %XX (bytes >= 0x80 stay), so no value can break a line or
 * a field; envid and orcpt are the xtext as received, encoded the same way.
 * Room for header fields known only at the end of data (the DKIM
 * signatures, our Authentication-Results), when the message may already be
 * partly on disk: a writer that asks for it (env->pad) ends the envelope
 * with a line "pad" + spaces of R bytes; spool_msg_prepend(m, hdrs, n)
 * rewrites that pad line and the blank line after it, in place (in the
 * buffer, or with pwrite once flushed), as a pad line n bytes shorter, the
 * blank line, and the n bytes, which thus open the message. The file stays
 * "envelope, blank line, message"; nothing is copied or moved; readers
 * skip the pad line like any other key they do not use. Prepending is done
 * before the commit, so a crash never shows a half-written region in
 * queue/ (tmp/ is emptied at start).
 * The file is written once and never edited; delivery state of recipients
 * lives in queue/<qid>.state (one encoded address per delivered recipient,
 * appended and fsynced after each delivery), so a crash never loses a
 * recipient and repeats at most the deliveries in flight. A message whose
 * recipients are all delivered at once gets no .state: it is removed, and
 * the local agent removes a batch of them with one directory sync. A crash
 * after the Maildir file is linked and before the queue knows leaves the
 * recipient queued; the local agent's keyed Maildir names (local.c) make
 * the repeat find the file instead of delivering a second copy.
 *
 * Queue ids are 16 upper-case hex characters, unique per spool: 8 of arrival
 * time, 4 of a counter, 4 random; sorting ids sorts by arrival. Safe as file
 * names.
 *
 * Code: format/spool_format.c is the one codec of these files (pure, also
 * used by `mailport queue`); spool_write.c, spool_commit.c, spool_pool.c,
 * spool_open.c and spool_read.c do the I/O (spool_internal.h says which
 * does what).
 *
 * Threads: spool_msg_begin/write/commit and the reading functions may be
 * called from any thread (one thread per message at a time);
 * callbacks run on whichever thread calls spool_dispatch_results.
 */
#ifndef MP_SPOOL_H
#define MP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smtp_cmd.h"
#include "spool_format.h" /* SPOOL_QID_SIZE, struct spool_envelope, spool_retry */

struct spool;
struct spool_msg;

/* Result of a commit, handed back to the event loop. */
enum spool_result { SPOOL_OK, SPOOL_IO_ERROR, SPOOL_NO_SPACE };

typedef void (*spool_commit_cb)(struct spool_msg *m, enum spool_result res, void *arg);

/*
 * Open (creating it, tmp/ and queue/ if needed) a spool directory for
 * writing, take its lock (one server per spool) and write our pid into
 * it, remove leftovers in tmp/ (never acknowledged) and stale .state files,
 * and start the group-commit thread. NULL with a message in err on failure.
 */
struct spool *spool_open(const char *dir, char *err, size_t err_size);
/*
 * Open an existing spool to read it (and mark/remove entries) while a
 * server may be running on it, as `mailport queue` does: no lock, no
 * cleanup, no thread; spool_msg_begin fails with EPERM, spool_notify_fd is -1.
 */
struct spool *spool_open_reader(const char *dir, char *err, size_t err_size);
/*
 * Stop the commit thread after it has finished every commit queued, run
 * the callbacks still waiting (on the calling thread), free everything.
 */
void spool_close(struct spool **sp);
/* The fd the event loop watches for readability (commit results ready). */
int spool_notify_fd(const struct spool *sp);
/* Called by the event loop when spool_notify_fd is readable: runs callbacks. */
void spool_dispatch_results(struct spool *sp);

/*
 * Start a message: pick its id, write the envelope (into the message's
 * buffer: tmp/<qid> is created once the buffer overflows, or at the
 * commit). NULL on error (errno kept). The message is the caller's until
 * spool_msg_commit, then the spool's until the callback, then the caller's
 * again to free.
 */
struct spool_msg *spool_msg_begin(struct spool *sp, const struct spool_envelope *env);
const char *spool_msg_id(const struct spool_msg *m);
/* Append message bytes (buffered). -1 on error (ENOSPC, EIO), sticky. */
int spool_msg_write(struct spool_msg *m, const void *p, size_t n);
/*
 * Put n bytes of header fields (CRLF-terminated) in front of the message,
 * before the commit, into the room env->pad reserved: the pad line
 * shrinks by n. Called again, the new fields go in front of the earlier
 * ones. -1 with EMSGSIZE (nothing changed) when they do not fit (more
 * than the pad's room left, or no pad); -1 with the write's errno
 * (sticky: the message fails) when writing the region failed.
 */
int spool_msg_prepend(struct spool_msg *m, const char *hdrs, size_t n);
/*
 * Queue the message for commit: flush, make the file durable, rename into
 * queue/, fsync the directory — batched with the other messages waiting:
 * one syncfs and one directory fsync per batch (group commit; see
 * spool_set_syncfs_limits). cb runs on the event loop
 * thread (from spool_dispatch_results) after the message is durable or has
 * failed; on failure the temp file is gone. After cb, free with
 * spool_msg_free.
 */
void spool_msg_commit(struct spool_msg *m, spool_commit_cb cb, void *arg);
/*
 * Commit on the calling thread, without the group-commit thread and its
 * callback: for the delivery agents, which queue bounces and have no event
 * loop. Durable (or failed, temp file gone) when it returns; then free.
 */
enum spool_result spool_msg_commit_now(struct spool_msg *m);
/* Drop an unfinished message (removes the temp file). */
void spool_msg_abort(struct spool_msg **mp);
void spool_msg_free(struct spool_msg **mp);

/* ---- reading the queue (delivery, `mailport queue`, recovery) ---- */

struct spool_entry {
	char id[SPOOL_QID_SIZE];
	int64_t arrival;
	char from[SMTP_PATH_MAX + 1];
	bool requiretls; /* RFC 8689 REQUIRETLS was given with the message */
	char **rcpts;	 /* recipients still to deliver (not in .state) */
	size_t nrcpts;
	uint64_t body_offset; /* where the message starts in the file */
	char path[4096];      /* "<spool dir>/queue/<qid>", to open the file */
};

/* List committed message ids (queue/), oldest first. Caller frees with spool_ids_free. */
int spool_list(struct spool *sp, char ***ids_r, size_t *n_r);
void spool_ids_free(char **ids, size_t n);
/*
 * Read the envelope and delivery state of one message; recipients are
 * decoded ("local@domain") and owned by e_r until spool_entry_free.
 * -1 if gone (errno ENOENT), corrupt (EBADMSG) or id is not a queue id
 * (EINVAL).
 */
int spool_entry_read(struct spool *sp, const char *id, struct spool_entry *e_r);
/*
 * The same, and the whole envelope header as the codec decoded it (every
 * recipient, delivered or not, with its DSN parameters; client, helo,
 * auth), for `mailport queue`. h_r is filled only on success; free it
 * with spool_header_free.
 */
int spool_entry_read_header(struct spool *sp, const char *id, struct spool_entry *e_r,
			    struct spool_header *h_r);
void spool_entry_free(struct spool_entry *e);
/* Record that rcpt was delivered (append + fsync to queue/<qid>.state). */
int spool_entry_mark_done(struct spool *sp, const char *id, const char *rcpt);
/*
 * Remove a fully delivered message: the file first, then its state, then
 * the directory is fsynced (a crash in between leaves only a stale state).
 * 0 also when it was already gone.
 */
int spool_entry_remove(struct spool *sp, const char *id);
/*
 * The same for n messages with one fsync of the directory for all: errs[i]
 * (errs may be NULL) is 0 when ids[i] is gone, else the errno of its
 * unlink. -1 when the directory sync failed: then none is known removed.
 */
int spool_entries_remove(struct spool *sp, const char *const *ids, size_t n, int *errs);
/*
 * Lower how many removed files (and how many bytes of them) are kept in
 * tmp/ for reuse; the defaults (16,384 files, 256 MiB) suit every server.
 * For tests of the limits.
 */
void spool_set_pool_limits(struct spool *sp, size_t files, off_t bytes);
/*
 * Commits are made durable a round at a time with one syncfs of the
 * spool's filesystem; a syncfs slower than slow_ms (default 100) makes the
 * commit threads sync each file on its own for backoff_ms (default 60 s).
 * For tests of the switch; spool_syncs_by_group tells which way is in use.
 */
void spool_set_syncfs_limits(struct spool *sp, unsigned slow_ms, unsigned backoff_ms);
bool spool_syncs_by_group(struct spool *sp);

/*
 * The retry schedule of a message with deferred recipients, kept beside it
 * as queue/<qid>.retry so a restart keeps backing off and `mailport queue`
 * can show the next attempt and the last error. Written atomically, not
 * fsynced: losing it only brings the next attempt forward. (struct
 * spool_retry is in spool_format.h, with its codec.)
 */
int spool_retry_write(struct spool *sp, const struct spool_retry *r);
/* -1 (errno ENOENT) when the message has no schedule: never tried, or not deferred. */
int spool_retry_read(struct spool *sp, const char *id, struct spool_retry *r_out);
/* Forget the schedule (nothing deferred any more). */
int spool_retry_clear(struct spool *sp, const char *id);

#endif
