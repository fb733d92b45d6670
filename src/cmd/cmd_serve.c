/*
 * `mailport serve [-c FILE] [-v]`: the mail server in the foreground,
 * logging to stderr (DESIGN.md). The work is in server/server.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "log.h"
#include "server.h"

#define DEFAULT_CONFIG "/etc/mailport/mailport.conf"

static void
serve_usage(FILE *out)
{
	fprintf(out, "usage: mailport serve [-c FILE] [-v]\n"
		     "\n"
		     "Runs the mail server in the foreground; logs go to stderr.\n"
		     "  -c FILE   the config file (default " DEFAULT_CONFIG ")\n"
		     "  -v        also log debug events\n"
		     "\n"
		     "Signals: SIGHUP re-reads the config, certificate and users file;\n"
		     "SIGTERM or SIGINT stops the server.\n");
}

int
cmd_serve(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG;
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			serve_usage(stdout);
			return 0;
		default:
			serve_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mailport serve: unexpected argument '%s'\n", argv[optind]);
		serve_usage(stderr);
		return EX_USAGE;
	}
	return server_run(config);
}
