/*
 * send_message: reads or builds the message to submit (see the header).
 */
#include "send_message.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "date.h"
#include "str.h"
#include "xmalloc.h"

/* Larger inputs are surely not mail meant for one submission. */
#define SEND_INPUT_MAX (256u * 1024 * 1024)

int
read_all(const char *path, struct buf *out)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		if (!buf_append(out, chunk, (size_t)n)) {
			errno = EFBIG;
			n = -1;
			break;
		}
	}
	int saved = errno;
	if (fd != STDIN_FILENO)
		close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

static void
random_hex(char *out, size_t nbytes)
{
	unsigned char r[32];
	if (nbytes > sizeof r)
		nbytes = sizeof r;
	if (getrandom(r, nbytes, 0) != (ssize_t)nbytes)
		for (size_t i = 0; i < nbytes; i++) /* fallback: still unique enough per host */
			r[i] = (unsigned char)(clock() ^ (getpid() << i));
	for (size_t i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", r[i]);
}

/* "<time.random@domain-of-sender>" (RFC 5322 3.6.4). */
static void
message_id(const char *from, char *out, size_t size)
{
	char rnd[33];
	random_hex(rnd, 12);
	const char *at = from ? strrchr(from, '@') : NULL;
	char domain[256];
	if (at && at[1]) {
		str_copy(domain, sizeof domain, at + 1);
		domain[strcspn(domain, ">")] = '\0';
	} else if (gethostname(domain, sizeof domain) < 0) {
		str_copy(domain, sizeof domain, "localhost");
	}
	snprintf(out, size, "<%lx.%s@%s>", (long)time(NULL), rnd, domain);
}

static int
prepare_given(const struct send_message_opts *o, const char *date, const char *mid, struct buf *out,
	      struct message_info *info, struct send_message_found *found, char *err,
	      size_t err_size, int *exit_r)
{
	struct buf in;
	buf_init(&in, SEND_INPUT_MAX);
	if (read_all(o->input, &in) < 0) {
		snprintf(err, err_size, "cannot read the message from %s: %s",
			 strcmp(o->input, "-") == 0 ? "standard input" : o->input, strerror(errno));
		buf_free(&in);
		*exit_r = EX_NOINPUT;
		return -1;
	}
	struct strv text = {in.data ? in.data : "", in.len};
	if (o->sendmail_dots) {
		bool dot;
		text.len = message_dot_end(text, false, &dot);
	}
	*exit_r = EX_DATAERR;
	/* Recipients come from the headers as written, Bcc included (sendmail -t). */
	if (found && o->remove_bcc && message_recipients(text, &found->rcpts, err, err_size) < 0) {
		buf_free(&in);
		return -1;
	}
	char no_from[128];
	if (found && message_from_address(text, &found->from, no_from, sizeof no_from) < 0)
		found->from = NULL; /* no From: is fine; the caller has other sources */
	struct message_prep prep = {
	    .date = date, .message_id = mid, .from = o->from, .remove_bcc = o->remove_bcc};
	int rc = message_prepare(text, &prep, out, info, err, err_size);
	buf_free(&in);
	return rc;
}

static int
build_from_options(const struct send_message_opts *o, const char *date, const char *mid,
		   struct buf *out, struct message_info *info, char *err, size_t err_size,
		   int *exit_r)
{
	struct message_attachment att[SEND_MAX_LIST];
	struct buf data[SEND_MAX_LIST];
	struct buf body;
	int rc = -1;
	size_t loaded = 0;
	*exit_r = EX_NOINPUT;
	buf_init(&body, SEND_INPUT_MAX);
	if (o->body_file && read_all(o->body_file, &body) < 0) {
		snprintf(err, err_size, "cannot read the message text from %s: %s",
			 strcmp(o->body_file, "-") == 0 ? "standard input" : o->body_file,
			 strerror(errno));
		goto out;
	}
	for (; loaded < o->nattach; loaded++) {
		buf_init(&data[loaded], SEND_INPUT_MAX);
		if (read_all(o->attach[loaded], &data[loaded]) < 0) {
			snprintf(err, err_size, "cannot read the attachment %s: %s",
				 o->attach[loaded], strerror(errno));
			loaded++;
			goto out;
		}
		att[loaded] =
		    (struct message_attachment){.filename = o->attach[loaded],
						.data = data[loaded].data ? data[loaded].data : "",
						.len = data[loaded].len};
	}
	struct message_spec spec = {
	    .from = o->from,
	    .to = o->to,
	    .to_count = o->nto,
	    .cc = o->cc,
	    .cc_count = o->ncc,
	    .subject = o->subject,
	    .date = date,
	    .message_id = mid,
	    .body = o->body_file ? body.data : o->body,
	    .body_len = o->body_file ? body.len
			: o->body    ? strlen(o->body)
				     : 0,
	    .attachments = att,
	    .attachment_count = o->nattach,
	};
	char boundary[64];
	do { /* a boundary must not occur in the content: draw again if it does */
		char rnd[33];
		random_hex(rnd, 12);
		snprintf(boundary, sizeof boundary, "=_mailport_%s", rnd);
		spec.boundary = boundary;
	} while (o->nattach && !message_boundary_ok(&spec));
	*exit_r = EX_DATAERR;
	rc = message_build(&spec, out, info, err, err_size);
out:
	for (size_t i = 0; i < loaded; i++)
		buf_free(&data[i]);
	buf_free(&body);
	return rc;
}

void
send_message_found_free(struct send_message_found *found)
{
	message_addrs_free(&found->rcpts);
	free(found->from);
	found->from = NULL;
}

int
send_message_make(const struct send_message_opts *o, struct buf *out, struct message_info *info_r,
		  struct send_message_found *found, char *err, size_t err_size, int *exit_r)
{
	char date[64], mid[400];
	date_rfc5322(time(NULL), date, sizeof date);
	message_id(o->from, mid, sizeof mid);
	memset(info_r, 0, sizeof *info_r);
	if (o->input)
		return prepare_given(o, date, mid, out, info_r, found, err, err_size, exit_r);
	return build_from_options(o, date, mid, out, info_r, err, err_size, exit_r);
}
