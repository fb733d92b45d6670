/*
 * config_int: what the config parser's files share (config.c reads the
 * file and holds the directive table; config_listen.c and config_values.c
 * parse the lines of some directives). For src/config's own files.
 */
#ifndef MP_CONFIG_INT_H
#define MP_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define MAX_WORDS 10 /* the directive and its arguments; more is an error */

struct parse_ctx;

struct directive {
	const char *name;
	int min_args, max_args;
	int (*parse)(struct parse_ctx *pc, char **argv, int argc);
	const char *usage; /* how to write it, with an example */
	bool once;	   /* may appear only once */
	size_t offset;	   /* limits only: the field in struct config */
	bool is_u64;	   /* limits only: uint64_t field, else unsigned */
	uint64_t min, max; /* limits only: accepted range */
};

struct parse_ctx {
	struct config *cfg;
	const char *filename;
	const char *base_dir;
	int line;
	const struct directive *dir; /* the one being parsed */
	int seen[64];		     /* line of each "once" directive, by index */
	char *err;
	size_t err_size;
};

/* Writes "FILE:LINE: <fmt>" to the caller's err and returns -1. */
int fail(struct parse_ctx *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "dir/name" into dst[size], or name itself when absolute; -1 (said) when too long. */
int join_path(struct parse_ctx *pc, char *dst, size_t size, const char *name);
/* HOST[:PORT] (names_ok: a host name allowed, else an IP) into dst; -1 said why. */
int parse_host_port(struct parse_ctx *pc, const char *word, bool names_ok,
		    struct config_hostport *dst);

int parse_listen(struct parse_ctx *pc, char **argv, int argc);
int parse_limit(struct parse_ctx *pc, char **argv, int argc);
int parse_duration(struct parse_ctx *pc, char **argv, int argc);
int parse_tls_policy(struct parse_ctx *pc, char **argv, int argc);
int parse_dkim(struct parse_ctx *pc, char **argv, int argc);
int parse_dmarc_policy(struct parse_ctx *pc, char **argv, int argc);
int parse_log(struct parse_ctx *pc, char **argv, int argc);
int parse_metrics(struct parse_ctx *pc, char **argv, int argc);
int parse_tls_report(struct parse_ctx *pc, char **argv, int argc);
int parse_tls_report_from(struct parse_ctx *pc, char **argv, int argc);

#endif
