/*
 * send_message: the message `mailport send` submits — the given file or
 * stdin sent as it is (Date and Message-ID added if missing), or one built
 * from the options (subject, body, attachments). The clock, randomness and
 * files live here; the formatting rules live in mime/message.
 */
#ifndef MP_SEND_MESSAGE_H
#define MP_SEND_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "message.h"

#define SEND_MAX_LIST 64

struct send_message_opts {
	const char *input; /* FILE, "-" for stdin, or NULL: build from options */
	/* FILE or "-" whose text is the body of a message built from the options
	 * (send --subject S [--attach F] FILE|-, as `mail -s S -A F` reads it). */
	const char *body_file;
	const char *from;
	const char *to[SEND_MAX_LIST];
	size_t nto;
	const char *cc[SEND_MAX_LIST];
	size_t ncc;
	const char *subject;
	const char *body; /* NULL: empty */
	const char *attach[SEND_MAX_LIST];
	size_t nattach;
	bool sendmail_dots; /* sendmail without -i: a "." line ends the input */
	bool remove_bcc;    /* sendmail -t */
};

/* What sendmail mode learns from the headers of a given message. */
struct send_message_found {
	struct message_addrs rcpts; /* To, Cc, Bcc (read before Bcc is removed) */
	char *from;		    /* the address in From:, or NULL */
};

/*
 * Fill out with the message; info about it in info_r; found (may be NULL)
 * gets the recipients and sender named in a given message's headers.
 * -1 with err (and an EX_* code in *exit_r).
 */
int send_message_make(const struct send_message_opts *o, struct buf *out,
		      struct message_info *info_r, struct send_message_found *found, char *err,
		      size_t err_size, int *exit_r);
void send_message_found_free(struct send_message_found *found);

/* Read all of a file (or stdin for "-") into out. -1 with errno. */
int read_all(const char *path, struct buf *out);

#endif
