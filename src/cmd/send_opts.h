/*
 * send_opts: the command lines of `mailport send` and `mailport sendmail`
 * (and of the program run as `sendmail`), an account from send.conf, and
 * the secrets, turned into one settled set of choices.
 */
#ifndef MP_SEND_OPTS_H
#define MP_SEND_OPTS_H

#include <stdbool.h>

#include "account.h"
#include "buf.h"
#include "providers.h"
#include "send_message.h"
#include "submit.h"

#define SEND_SECRET_MAX 4096

struct send_opts {
	struct send_message_opts msg;
	char host[256];
	const struct provider *provider;
	struct door doors[SUBMIT_MAX_DOORS];
	size_t ndoors;
	char user[256];
	char password[SEND_SECRET_MAX];
	char token[SEND_SECRET_MAX];
	char envelope_from[512];
	char ehlo_name[256];
	const char *cafile;
	bool insecure;
	bool requiretls; /* --requiretls: MAIL FROM ... REQUIRETLS (RFC 8689) */
	bool verbose;
	bool quiet_success; /* sendmail: say nothing when all went well */
	unsigned timeout_s;
	const char *bcc[SEND_MAX_LIST];
	size_t nbcc;
	bool rcpts_from_headers; /* sendmail -t */
	const char *arg_rcpts[SEND_MAX_LIST];
	size_t narg_rcpts;
	char **rcpts; /* the envelope recipients, owned */
	size_t nrcpts;
	struct account_file *accounts;
};

/*
 * Parse argv. Returns -1 when the command should go on and send, or an exit
 * code (0 for --help and --provider list, EX_USAGE/EX_CONFIG on errors,
 * already reported on stderr).
 */
int send_opts_parse(struct send_opts *so, int argc, char **argv, bool sendmail_mode);
/*
 * The envelope: recipients from --to/--cc/--bcc, sendmail's arguments and,
 * with -t, the message's headers (from_headers); the sender from --from/-f,
 * the account, the From: header (header_from) or the login name.
 */
int send_opts_recipients(struct send_opts *so, const struct message_addrs *from_headers,
			 const char *header_from, char *err, size_t err_size);
/* Wipes the secrets. */
void send_opts_free(struct send_opts *so);

#endif
