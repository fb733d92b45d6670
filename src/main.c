/*
 * mailport: one program, subcommands. main only picks the subcommand.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "self.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"serve", cmd_serve, "run the mail server (ports 25, 465, 587, 2525)"},
    {"passwd", cmd_passwd, "read a password on stdin, print a crypt(3) hash for the users file"},
    {"config", cmd_config, "config check [-c FILE]: validate a config file"},
    {"send", cmd_send, "submit a message: 587 -> 465 -> 2525, TLS always, explains failures"},
    {"queue", cmd_queue, "list|show ID|flush [ID]|delete ID: the server's queue"},
    {"sendmail", cmd_sendmail, "sendmail-compatible submission (also as argv[0] 'sendmail')"},
    {"probe", cmd_probe,
     "test every door: connect, TLS, AUTH, relay, with the fix for each failure"},
    {"verify", cmd_verify, "check addresses: syntax, MX, RCPT probe, catch-all, role, disposable"},
    {"auth", cmd_auth,
     "check --ip IP --helo NAME --from ADDR [FILE]: SPF, DKIM and DMARC verdicts"},
    {"dkim", cmd_dkim, "keygen --domain D --selector S: a DKIM key and the DNS record to publish"},
    {"mta-sts", cmd_mta_sts,
     "policy: the MTA-STS policy file and the TXT records to publish for this server"},
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: mailport COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nmailport COMMAND --help shows the options of one command.\n");
}

int
main(int argc, char **argv)
{
	/* Installed as sendmail (a link), it is sendmail: cron, PHP mail(), git. */
	self_set_program(argv[0]);
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(prog, "sendmail") == 0)
		return cmd_sendmail(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mailport: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
