/*
 * `mailport serve [-c FILE] [-v]`: the mail server in the foreground,
 * logging to stderr (DESIGN.md). The work is in server/server.c.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "log.h"
#include "self_check.h"
#include "server.h"

#define DEFAULT_CONFIG "/etc/mailport/mailport.conf"

static void
serve_usage(FILE *out)
{
	fprintf(out, "usage: mailport serve [-c FILE] [-v]\n"
		     "       mailport serve --check [-c FILE] [--probe-domain D] [--timeout S]\n"
		     "\n"
		     "Runs the mail server in the foreground; logs go where the config's log\n"
		     "line says (stderr by default).\n"
		     "  -c FILE   the config file (default " DEFAULT_CONFIG ")\n"
		     "  -v        also log debug events\n"
		     "  --check   do not serve: check the certificate (name, expiry), the\n"
		     "            folders, the users and aliases files, the TLS key and\n"
		     "            SRS secret, that every door can be bound, and that this\n"
		     "            host reaches port 25 of another mail server (of D's MX,\n"
		     "            default gmail.com) or, with a relayhost line, that relay;\n"
		     "            exit 0 all is well, 69 only the outbound check failed,\n"
		     "            78 another problem\n"
		     "  --timeout S  bound of each outbound connection (default 10)\n"
		     "\n"
		     "Signals: SIGHUP re-reads the config, certificate and users file and opens\n"
		     "the log file again; SIGUSR2 opens the log file again (logrotate);\n"
		     "SIGTERM or SIGINT stops the server.\n");
}

int
cmd_serve(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG;
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"check", no_argument, NULL, 'C'},
	    {"probe-domain", required_argument, NULL, 'P'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool check = false, check_opts = false;
	struct self_check_opts opts = {.timeout_ms = 10000, .probe_domain = "gmail.com"};
	int c;
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'C':
			check = true;
			break;
		case 'P':
			opts.probe_domain = optarg;
			check_opts = true;
			break;
		case 'T': {
			char *end;
			long t = strtol(optarg, &end, 10);
			if (*end || t < 1 || t > 300) {
				fprintf(stderr, "mailport serve: --timeout takes seconds from 1 to "
						"300, e.g. --timeout 10\n");
				return EX_USAGE;
			}
			opts.timeout_ms = (int)t * 1000;
			check_opts = true;
			break;
		}
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
	if (check_opts && !check) {
		fprintf(stderr, "mailport serve: --probe-domain and --timeout go with --check\n");
		return EX_USAGE;
	}
	return check ? self_check_run(config, &opts) : server_run(config);
}
