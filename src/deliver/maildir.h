/*
 * maildir: local delivery into <root>/<domain>/<localpart>/{tmp,new,cur}.
 *
 * Domain and local part are lower-cased, a "+tag" is delivered to the base
 * address (DESIGN.md "Mailboxes"), a quoted local part is unquoted. A name
 * that is not one safe path component (empty, leading '.', '/', control
 * bytes) is refused, so nothing is written outside the root. The file is
 * written in tmp/, fsynced, linked into new/ and the directory fsynced, so
 * a 0 return means durable.
 * The delivered file starts with "Return-Path: <sender>" then the message
 * as spooled (which begins with our Received: header). Line ends are
 * written as LF, as Maildir readers (Dovecot, mutt) expect.
 */
#ifndef MP_MAILDIR_H
#define MP_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Deliver the message found in spool_path from body_offset on, for
 * recipient rcpt ("local@domain"), sender from ("" for <>). Creates the
 * folders as needed. Returns 0, or -1 with a message in err.
 */
int maildir_deliver(const char *root, const char *rcpt, const char *from, const char *spool_path,
		    uint64_t body_offset, char *err, size_t err_size);

/*
 * Many deliveries made durable together (see maildir.c). add writes the
 * file into tmp/ and returns its index, or -1 with a message in err (then
 * nothing was left behind). commit syncs and links every file added and
 * fsyncs each new/ folder once; then result says, per index, 0 (durable in
 * new/) or -1 with the reason. free removes the tmp/ files of a batch that
 * was never committed. One thread per batch.
 */
struct maildir_batch;
struct group_sync;
/* gsync (may be NULL) decides whether a batch's files get one syncfs. */
struct maildir_batch *maildir_batch_new(const char *root, struct group_sync *gsync);
/*
 * key NULL: a fresh unique name. Else the file is "<key>.<host>", the same
 * for the same key, so a delivery repeated after a crash is recognised:
 * when that name is in new/ already, the move is skipped and the earlier
 * file stands for this one (maildir_batch_was_there); with look, new/ and
 * cur/ (where a mail reader moves it, adding ":2,FLAGS") are searched
 * first, and nothing is written when it is found.
 */
int maildir_batch_add(struct maildir_batch *b, const char *rcpt, const char *from,
		      const char *spool_path, uint64_t body_offset, const char *key, bool look,
		      char *err, size_t err_size);
size_t maildir_batch_count(const struct maildir_batch *b);
void maildir_batch_commit(struct maildir_batch *b);
int maildir_batch_result(const struct maildir_batch *b, size_t i, char *err, size_t err_size);
/* Delivered before (a keyed name found): result is 0 and no new file was made. */
bool maildir_batch_was_there(const struct maildir_batch *b, size_t i);
void maildir_batch_free(struct maildir_batch **b);

/*
 * The folder a recipient's mail goes to: "<root>/<domain>/<base local>";
 * out is "" when rcpt cannot be a mailbox (see above) or does not fit.
 */
void maildir_path_for(const char *root, const char *rcpt, char *out, size_t size);

#endif
