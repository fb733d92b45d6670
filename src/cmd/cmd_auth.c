/*
 * `mailport auth check`: SPF for a client, DKIM and DMARC for a message,
 * as the server's smtp door would see them (DESIGN.md "Contract
 * additions"): the Authentication-Results field it would add, and per
 * method why. The admin's spfquery and opendkim-testmsg in one, and what
 * the authentication tests drive.
 *
 * The message is read as a stream (never whole in memory), LF line ends
 * made CRLF, through the same auth_check the server uses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "auth_check.h"
#include "auth_dns.h"
#include "buf.h"
#include "cmd.h"
#include "json.h"
#include "self.h"
#include "str.h"

#define AUTH_QUERY_TIMEOUT_MS 5000
#define AUTH_CHUNK 65536

enum { O_IP = 256, O_HELO, O_FROM, O_RESOLVER, O_JSON, O_TIMEOUT, O_HELP };

static const struct option auth_longopts[] = {
    {"ip", required_argument, NULL, O_IP},     {"helo", required_argument, NULL, O_HELO},
    {"from", required_argument, NULL, O_FROM}, {"resolver", required_argument, NULL, O_RESOLVER},
    {"json", no_argument, NULL, O_JSON},       {"timeout", required_argument, NULL, O_TIMEOUT},
    {"help", no_argument, NULL, O_HELP},       {NULL, 0, NULL, 0},
};

struct auth_cmd {
	const char *ip, *helo, *from, *resolver, *file;
	bool json;
	long timeout; /* seconds: the DNS budget of all the checks */
};

static void
auth_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: mailport auth check --ip IP --helo NAME --from ADDR [--resolver HOST[:PORT]]\n"
	    "                           [--timeout S] [--json] [FILE|-]\n\n"
	    "Evaluates what `mailport serve` checks on its smtp door: SPF (RFC 7208) for the\n"
	    "client IP, HELO name and MAIL FROM; with a message (FILE, or - for stdin; LF line\n"
	    "ends are read as CRLF), every DKIM signature (RFC 6376) and DMARC (RFC 7489).\n"
	    "Prints the Authentication-Results field the server would add, why each method\n"
	    "came out as it did, and what the server would do with dmarc-policy enforce.\n\n"
	    "  --ip IP            the client's address (IPv4 or IPv6)\n"
	    "  --helo NAME        its HELO/EHLO name\n"
	    "  --from ADDR        MAIL FROM as the client sent it; \"\" for <> (then SPF checks\n"
	    "                     the HELO name, RFC 7208 2.4)\n"
	    "  --resolver H[:P]   DNS server (default /etc/resolv.conf)\n"
	    "  --timeout S        bound on all the DNS lookups together (default 20)\n"
	    "  --json             one JSON object: spf, dkim, dmarc, action, header\n\n"
	    "Results are RFC 8601 words: pass, fail, softfail, neutral, none, temperror,\n"
	    "permerror, policy.\n"
	    "Exit codes: 0 checked (whatever the verdict), 64 usage, 66 no such file,\n"
	    "69 no DNS resolver, 74 the message could not be read.\n");
}

static bool
valid_ip(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static bool
parse_timeout(const char *arg, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno == 0 && end != arg && *end == '\0' && *out >= 1 && *out <= 600)
		return true;
	fprintf(stderr, "mailport auth check: --timeout \"%s\" is not 1 to 600 seconds\n", arg);
	return false;
}

/* Parses the options; -1 to go on, else an exit code. */
static int
auth_options(struct auth_cmd *ac, int argc, char **argv)
{
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", auth_longopts, NULL)) != -1) {
		switch (c) {
		case O_IP:
			ac->ip = optarg;
			break;
		case O_HELO:
			ac->helo = optarg;
			break;
		case O_FROM:
			ac->from = optarg;
			break;
		case O_RESOLVER:
			ac->resolver = optarg;
			break;
		case O_JSON:
			ac->json = true;
			break;
		case O_TIMEOUT:
			if (!parse_timeout(optarg, &ac->timeout))
				return EX_USAGE;
			break;
		case 'h':
		case O_HELP:
			auth_usage(stdout);
			return 0;
		default:
			auth_usage(stderr);
			return EX_USAGE;
		}
	}
	if (ac->ip == NULL || ac->helo == NULL || ac->from == NULL) {
		fprintf(stderr, "mailport auth check: --ip, --helo and --from are required "
				"(--from \"\" for the null sender <>)\n\n");
		auth_usage(stderr);
		return EX_USAGE;
	}
	if (!valid_ip(ac->ip)) {
		fprintf(stderr,
			"mailport auth check: --ip \"%s\" is not an IPv4 or IPv6 address "
			"(give the client's address, e.g. 192.0.2.1 or 2001:db8::1)\n",
			ac->ip);
		return EX_USAGE;
	}
	if (argc - optind > 1) {
		fprintf(stderr, "mailport auth check: one message at most (FILE or -)\n");
		return EX_USAGE;
	}
	ac->file = argc - optind == 1 ? argv[optind] : NULL;
	return -1;
}

/* Feeds CRLF bytes to the header collector, then the body to the check. */
struct feeder {
	struct auth_check *check;
	struct msg_headers h;
	bool done;
	bool prev_cr;
	char last; /* the last byte fed */
};

static void
feed(struct feeder *f, const char *p, size_t n)
{
	if (n == 0)
		return;
	f->last = p[n - 1];
	if (!f->done) {
		size_t used = msg_headers_feed(&f->h, p, n, &f->done);
		if (!f->done)
			return;
		auth_check_headers(f->check, &f->h);
		p += used;
		n -= used;
	}
	auth_check_body(f->check, p, n);
}

/* The message from in, bare LF made CRLF. 0, or -1 on a read error. */
static int
read_message(FILE *in, struct feeder *f)
{
	static char raw[AUTH_CHUNK], crlf[2 * AUTH_CHUNK];
	size_t n;
	while ((n = fread(raw, 1, sizeof raw, in)) > 0) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (raw[i] == '\n' && !f->prev_cr)
				crlf[m++] = '\r';
			crlf[m++] = raw[i];
			f->prev_cr = raw[i] == '\r';
		}
		feed(f, crlf, m);
	}
	if (ferror(in))
		return -1;
	if (!f->done) {
		/* a message of header fields only: end the section */
		if (f->last != '\n' && f->last != '\0')
			feed(f, "\r\n", 2);
		feed(f, "\r\n", 2);
	}
	return 0;
}

static void
print_text(const struct auth_verdict *v)
{
	const struct spf_outcome *s = &v->spf;
	printf("%s\n", v->header);
	printf("spf    %-10s %s %s (sender %s)\n", spf_result_name(s->result), s->identity,
	       s->domain, s->sender);
	if (s->reason[0] != '\0')
		printf("       why: %s\n", s->reason);
	if (s->explanation[0] != '\0')
		printf("       explanation: %s\n", s->explanation);
	printf("       DNS lookups: %u of 10, void %u of 2\n", s->lookups, s->void_lookups);
	if (!v->have_message) {
		printf("dkim   (no message given)\ndmarc  (no message given)\n");
		return;
	}
	if (v->ndkim == 0)
		printf("dkim   none       the message has no DKIM-Signature\n");
	for (size_t i = 0; i < v->ndkim; i++) {
		const struct dkim_result *r = &v->dkim[i];
		printf("dkim   %-10s d=%s s=%s a=%s b=%s\n", r->result, r->domain, r->selector,
		       r->algorithm, r->header_b);
		if (r->reason[0] != '\0')
			printf("       why: %s\n", r->reason);
	}
	const struct dmarc_outcome *d = &v->dmarc;
	printf("dmarc  %-10s From: %s", dmarc_result_name(d->result),
	       d->from_domain[0] ? d->from_domain : "(none)");
	if (d->record_domain[0] != '\0')
		printf(", record at _dmarc.%s, policy %s", d->record_domain,
		       dmarc_policy_name(d->policy));
	printf("\n       why: %s\n", d->reason);
	printf("action %s: %s (as `mailport serve` does with dmarc-policy enforce)\n",
	       auth_action_name(v->action), v->detail);
}

static void
json_num(struct buf *b, const char *key, unsigned long n)
{
	buf_printf(b, ",\"%s\":%lu", key, n);
}

static void
json_bool(struct buf *b, const char *key, bool v)
{
	buf_printf(b, ",\"%s\":%s", key, v ? "true" : "false");
}

static void
json_dmarc(struct buf *b, const struct auth_verdict *v)
{
	const struct dmarc_outcome *d = &v->dmarc;
	bool rec = v->have_message && d->record_domain[0] != '\0';
	buf_append_str(b, ",\"dmarc\":{");
	json_key_string(b, "result", v->have_message ? dmarc_result_name(d->result) : "none",
			false);
	json_key_string(b, "policy", rec ? dmarc_policy_name(d->policy) : NULL, true);
	json_key_string(b, "from_domain", d->from_domain[0] ? d->from_domain : NULL, true);
	json_key_string(b, "org_domain", d->org_domain[0] ? d->org_domain : NULL, true);
	json_key_string(b, "record_domain", rec ? d->record_domain : NULL, true);
	json_key_string(
	    b, "disposition",
	    rec && d->result == DMARC_RESULT_FAIL ? dmarc_policy_name(d->disposition) : NULL, true);
	if (rec) {
		json_key_string(b, "p", dmarc_policy_name(d->rec.p), true);
		json_key_string(b, "sp", dmarc_policy_name(d->rec.sp ? d->rec.sp : d->rec.p), true);
		json_num(b, "pct", d->rec.pct);
		json_key_string(b, "adkim", d->rec.adkim == DMARC_ALIGN_STRICT ? "s" : "r", true);
		json_key_string(b, "aspf", d->rec.aspf == DMARC_ALIGN_STRICT ? "s" : "r", true);
		json_key_string(b, "rua", d->rec.rua, true);
	}
	json_bool(b, "spf_aligned", d->spf_aligned);
	json_bool(b, "dkim_aligned", d->dkim_aligned);
	json_key_string(b, "reason", v->have_message ? d->reason : "no message given", true);
	buf_append_str(b, "}");
}

static void
print_json(const struct auth_verdict *v)
{
	const struct spf_outcome *s = &v->spf;
	struct buf b;
	buf_init(&b, 0);
	buf_append_str(&b, "{\"spf\":{");
	json_key_string(&b, "result", spf_result_name(s->result), false);
	json_key_string(&b, "domain", s->domain, true);
	json_key_string(&b, "identity", s->identity, true);
	json_key_string(&b, "sender", s->sender, true);
	json_key_string(&b, "explanation", s->explanation, true);
	json_key_string(&b, "reason", s->reason, true);
	json_num(&b, "lookups", s->lookups);
	json_num(&b, "void_lookups", s->void_lookups);
	buf_append_str(&b, "},\"dkim\":[");
	for (size_t i = 0; i < v->ndkim; i++) {
		const struct dkim_result *r = &v->dkim[i];
		buf_append_str(&b, i ? ",{" : "{");
		json_key_string(&b, "domain", r->domain, false);
		json_key_string(&b, "selector", r->selector, true);
		json_key_string(&b, "algorithm", r->algorithm, true);
		json_key_string(&b, "result", r->result, true);
		json_key_string(&b, "reason", r->reason, true);
		json_key_string(&b, "header_b", r->header_b, true);
		buf_append_str(&b, "}");
	}
	buf_append_str(&b, "]");
	json_dmarc(&b, v);
	json_key_string(&b, "action", auth_action_name(v->action), true);
	json_key_string(&b, "detail", v->detail, true);
	json_key_string(&b, "header", v->header, true);
	buf_append_str(&b, "}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/* Reads the message (if any) into the check; an exit code on failure, else -1. */
static int
auth_input(const struct auth_cmd *ac, struct auth_check *check)
{
	if (ac->file == NULL)
		return -1;
	FILE *in = strcmp(ac->file, "-") == 0 ? stdin : fopen(ac->file, "rb");
	if (in == NULL) {
		fprintf(stderr,
			"mailport auth check: cannot open %s: %s (give a message file, "
			"or - to read it from stdin)\n",
			ac->file, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	struct feeder f = {.check = check, .last = '\0'};
	msg_headers_init(&f.h, 0);
	int rc = read_message(in, &f);
	int err = errno;
	if (in != stdin)
		fclose(in);
	if (f.h.too_big)
		fprintf(stderr, "mailport auth check: the header section is over 1 MiB; only its "
				"start was checked\n");
	msg_headers_free(&f.h);
	if (rc < 0) {
		fprintf(stderr, "mailport auth check: reading %s failed: %s\n", ac->file,
			strerror(err));
		return EX_IOERR;
	}
	return -1;
}

static int
auth_check_cmd(int argc, char **argv)
{
	struct auth_cmd ac = {.timeout = 20};
	int rc = auth_options(&ac, argc, argv);
	if (rc >= 0)
		return rc;

	char err[256];
	struct auth_dns *dns = auth_dns_new(ac.resolver, AUTH_QUERY_TIMEOUT_MS, err, sizeof err);
	if (dns == NULL) {
		fprintf(stderr,
			"mailport auth check: no DNS resolver: %s (give one with --resolver "
			"HOST[:PORT])\n",
			err);
		return ac.resolver ? EX_USAGE : EX_UNAVAILABLE;
	}
	struct spf_request rq = {.ip = ac.ip,
				 .helo = ac.helo,
				 .sender = ac.from,
				 .receiver = self_hostname(),
				 .now = (int64_t)time(NULL)};
	struct auth_check *check = auth_check_new(&rq, self_hostname(), CONFIG_DMARC_ENFORCE);
	rc = auth_input(&ac, check);
	if (rc < 0) {
		struct auth_verdict *v = calloc(1, sizeof *v);
		auth_dns_start(dns, (int)ac.timeout * 1000);
		struct ma_dns iface = auth_dns_iface(dns);
		auth_check_finish(check, &iface, v);
		if (ac.json)
			print_json(v);
		else
			print_text(v);
		free(v);
		rc = 0;
	}
	auth_check_free(&check);
	auth_dns_free(&dns);
	return rc;
}

int
cmd_auth(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return auth_check_cmd(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		auth_usage(stdout);
		return 0;
	}
	fprintf(stderr,
		"mailport auth: unknown or missing subcommand%s%s (the one there is: "
		"check)\n\n",
		argc >= 2 ? " " : "", argc >= 2 ? argv[1] : "");
	auth_usage(stderr);
	return EX_USAGE;
}
