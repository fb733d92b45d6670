/*
 * queue_view: the queue as `mailport queue` shows it — one message read
 * from a spool opened with spool_open_reader (never the server's writing
 * handle), printed as text for people or JSON for scripts, and the running
 * server found through the pid in the spool's lock file.
 *
 * Reading is safe while the server runs: files appear in queue/ only by
 * rename, so a message is either whole or absent; one removed meanwhile
 * reads as ENOENT.
 */
#ifndef MP_QUEUE_VIEW_H
#define MP_QUEUE_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "spool.h"

/* One envelope recipient with its DSN parameters (NULL when absent). */
struct queue_rcpt {
	char *addr; /* "local@domain" */
	char *notify;
	char *orcpt;
	bool delivered; /* listed in queue/<qid>.state */
};

/* A header field: name, and value with each fold kept as "\n" + WSP. */
struct queue_header {
	char *name;
	char *value;
};

struct queue_msg {
	char id[SPOOL_QID_SIZE];
	int64_t arrival;
	uint64_t size; /* the message as it will be delivered, envelope excluded */
	char *from;    /* "" for the null sender <> */
	/* Envelope extras: NULL when the line is absent. */
	char *ret, *envid, *body, *client, *helo, *auth;
	bool smtputf8;
	bool requiretls;	  /* RFC 8689 */
	struct queue_rcpt *rcpts; /* every recipient, in envelope order */
	size_t nrcpts, npending;
	struct queue_header *headers; /* filled only when asked for */
	size_t nheaders;
	bool has_retry;		  /* outbound delivery deferred it: */
	struct spool_retry retry; /* attempts, next attempt, last error */
};

/*
 * Is s a queue id? Accepts lower case too and writes the canonical
 * (upper-case) id to out; false for anything else, so a user's argument
 * can never become a path.
 */
bool queue_id_parse(const char *s, char out[SPOOL_QID_SIZE]);

/*
 * Read one message (with its headers if with_headers). -1 with errno
 * ENOENT (not queued, or removed meanwhile), EBADMSG (corrupt), EINVAL
 * (not a queue id) or another I/O error. Free with queue_msg_free.
 */
int queue_msg_read(struct spool *sp, const char *id, bool with_headers, struct queue_msg *m);
void queue_msg_free(struct queue_msg *m);

/* "42s", "3m", "2h", "5d": how long ago arrival was. */
const char *queue_age(char *out, size_t size, int64_t arrival, time_t now);

/* `queue list`: one line per message and a total line, or one JSON object. */
void queue_print_list(FILE *out, const struct queue_msg *msgs, size_t n, time_t now, bool json);
/* `queue show`: the envelope and the header section, as text or JSON. */
void queue_print_show(FILE *out, const struct queue_msg *m, time_t now, bool json);

/* What queue_server_pid found. */
enum queue_server { QUEUE_SERVER_RUNNING, QUEUE_SERVER_NONE, QUEUE_SERVER_UNKNOWN };

/*
 * Is a server holding the lock of the spool in dir, and which pid? NONE
 * when the lock is free or missing; UNKNOWN (errno set, or 0 when the pid
 * is not recorded yet) when it cannot tell.
 */
enum queue_server queue_server_pid(const char *dir, pid_t *pid_r);

#endif
