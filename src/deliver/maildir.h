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
 * The folder a recipient's mail goes to: "<root>/<domain>/<base local>";
 * out is "" when rcpt cannot be a mailbox (see above) or does not fit.
 */
void maildir_path_for(const char *root, const char *rcpt, char *out, size_t size);

#endif
