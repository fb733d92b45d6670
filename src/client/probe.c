/*
 * probe: one door through the procedure, the --security checks, and the
 * report (see the header).
 *
 * Each step that can use the client core does (client_run): the main run,
 * a look at a certificate we do not trust (again with verification off,
 * and never with the password), the "TLS where we waited for a greeting"
 * check and the open-relay test. Only the checks that need control the
 * core rightly refuses to give (old TLS versions, weak ciphers, bytes
 * pipelined after STARTTLS) speak to OpenSSL directly, on a blocking
 * socket whose every wait is bounded by SO_RCVTIMEO/SO_SNDTIMEO.
 */
#include "probe.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "json.h"
#include "str.h"

/* ---- notes and findings ---- */

static void note(struct probe_door *pd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct probe_door *pd, const char *fmt, ...)
{
	if (pd->nnotes >= PROBE_MAX_NOTES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pd->notes[pd->nnotes++], sizeof pd->notes[0], fmt, ap);
	va_end(ap);
}

static void finding(struct probe_door *pd, enum probe_severity sev, const char *id, const char *fix,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
finding(struct probe_door *pd, enum probe_severity sev, const char *id, const char *fix,
	const char *fmt, ...)
{
	if (pd->nfindings >= PROBE_MAX_FINDINGS)
		return;
	struct probe_finding *f = &pd->findings[pd->nfindings++];
	f->severity = sev;
	f->id = id;
	f->fix = fix;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof f->what, fmt, ap);
	va_end(ap);
}

static bool
is_relay(struct door d)
{
	return d.tls == CLIENT_TLS_OPPORTUNISTIC;
}

static bool
is_ip(const char *host)
{
	unsigned char a[16];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* ---- DNS ---- */

/* The system's view (getaddrinfo): what the connection itself will use. */
static void
system_addrs(const char *name, struct probe_dns *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *list;
	if (getaddrinfo(name, NULL, &hints, &list) != 0)
		return;
	for (struct addrinfo *ai = list; ai && out->naddrs < DNS_MAX_ADDRS; ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET6
				    ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
				    : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		inet_ntop(ai->ai_family, a, out->addrs[out->naddrs++], 64);
	}
	freeaddrinfo(list);
	out->addr_error[0] = '\0';
}

void
probe_dns(const char *name, const char *resolver, int timeout_ms, struct probe_dns *out)
{
	char err[160];
	memset(out, 0, sizeof *out);
	struct dns *d = dns_new(resolver, timeout_ms, err, sizeof err);
	if (d == NULL) {
		str_copy(out->addr_error, sizeof out->addr_error, err);
		return;
	}
	enum dns_status st = dns_addrs(d, name, out->addrs, &out->naddrs);
	if (st != DNS_OK)
		str_copy(out->addr_error, sizeof out->addr_error,
			 st == DNS_NXDOMAIN ? "the name does not exist (NXDOMAIN)"
			 : st == DNS_NODATA ? "no A or AAAA record"
					    : "the DNS lookup failed (no answer or SERVFAIL)");
	if (!is_ip(name)) {
		st = dns_mx(d, name, out->mx, &out->nmx);
		out->null_mx = st == DNS_NULL_MX;
		if (st == DNS_TEMPFAIL)
			str_copy(out->mx_error, sizeof out->mx_error, dns_status_name(st));
		if (st != DNS_OK)
			out->nmx = 0;
	}
	dns_free(&d);
	if (out->naddrs == 0 && resolver == NULL)
		system_addrs(name, out); /* /etc/hosts knows names DNS does not */
}

/* ---- runs through the client core ---- */

/* One session on door; login and env are optional. */
static void
run_once(const struct probe_opts *o, struct door d, bool insecure, bool login,
	 const struct smtp_client_envelope *env, struct client_run_result *r)
{
	struct client_conn_opts copts = {
	    .host = o->host,
	    .port = d.port,
	    .connect_addr = o->connect_addr,
	    .timeout_ms = o->timeout_ms,
	    .cafile = o->cafile,
	    .insecure = insecure,
	};
	struct smtp_client_config cfg = {
	    .ehlo_name = o->ehlo_name,
	    .tls = d.tls,
	    .host = o->host,
	    .port = d.port,
	    .user = login ? o->user : NULL,
	    .password = login ? o->password : NULL,
	    .stop_after_auth = env == NULL,
	    .rset_instead_of_data = true,
	};
	client_run(&copts, &cfg, env, NULL, 0, NULL, r, NULL);
}

/* The certificate was refused: look at it anyway, without a login. */
static void
peek_certificate(const struct probe_opts *o, struct probe_door *pd)
{
	struct client_run_result r;
	run_once(o, pd->door, true, false, NULL, &r);
	if (r.tls_used) {
		pd->tls = r.tls;
		pd->tls_seen = true;
	}
}

/* Silence where we waited for a 220: does the door speak TLS first? */
static void
check_tls_first(const struct probe_opts *o, struct probe_door *pd)
{
	struct client_run_result r;
	struct door implicit = {pd->door.port, CLIENT_TLS_IMPLICIT};
	run_once(o, implicit, true, false, NULL, &r);
	if (!r.tls_used)
		return;
	pd->outcome = outcome_get(OUTCOME_TLS_MIXUP_PLAIN_ON_IMPLICIT_PORT);
	note(pd, "port %u answered a TLS handshake (%s): it speaks implicit TLS, like 465",
	     pd->door.port, r.tls.version);
}

static void
tls_notes(const struct probe_opts *o, struct probe_door *pd)
{
	const struct tls_info *t = &pd->tls;
	if (!pd->tls_seen)
		return;
	if (!t->verified)
		note(pd, "certificate not verified: %s", t->verify_error);
	if (t->days_left < 0)
		note(pd, "the certificate expired on %s", t->not_after);
	else if (t->days_left < 14)
		note(pd, "the certificate expires in %ld days (%s)", t->days_left, t->not_after);
	if (o->insecure && pd->run.tls_used)
		note(pd, "--insecure: the certificate was not checked");
}

static void
door_notes(const struct probe_opts *o, struct probe_door *pd)
{
	const struct client_run_result *r = &pd->run;
	if (r->caps.auth_before_tls)
		note(pd,
		     "AUTH was offered before TLS: a client may send its password in the clear");
	if (is_relay(pd->door) && r->greeted && !r->tls_used) {
		if (r->smtp.starttls_reply.code)
			note(pd, "STARTTLS refused (%d %s): mail to this door travels in the clear",
			     r->smtp.starttls_reply.code, r->smtp.starttls_reply.text);
		else if (r->caps.esmtp && !r->caps.starttls)
			note(pd, "STARTTLS not offered: mail to this door travels in the clear "
				 "(a warning on a relay door, where TLS is opportunistic)");
	}
	if (is_relay(pd->door) && o->user)
		note(pd,
		     "no login tried on port %u: it is for server-to-server relay; submit "
		     "on 587 or 465",
		     pd->door.port);
	if (!is_relay(pd->door) && !o->user && r->tls_used && r->smtp.failure == CLIENT_OK &&
	    r->caps.auth_mechs == 0 && !r->caps.auth_line[0])
		note(pd, "no AUTH offered after TLS: this door will not take a login");
	tls_notes(o, pd);
}

static void probe_security(const struct probe_opts *o, struct probe_door *pd);

void
probe_door(const struct probe_opts *o, struct door door, struct probe_door *pd)
{
	memset(pd, 0, sizeof *pd);
	pd->door = door;
	const char *rcpts[1] = {o->to};
	struct smtp_client_envelope env = {.from = o->from, .rcpts = rcpts, .nrcpts = 1};
	bool mail = o->from && o->to;
	/* Never a password on a relay door: that is not where users log in. */
	run_once(o, door, o->insecure, !is_relay(door), mail ? &env : NULL, &pd->run);
	pd->outcome = run_outcome(&pd->run, door);
	if (pd->run.tls_used) {
		pd->tls = pd->run.tls;
		pd->tls_seen = true;
	} else if (pd->run.conn.kind == CONN_TLS_CERT) {
		peek_certificate(o, pd);
	}
	if (pd->outcome->status == OUTCOME_S_NO_GREETING && door.tls != CLIENT_TLS_IMPLICIT &&
	    pd->run.connected && !pd->run.greeted)
		check_tls_first(o, pd);
	door_notes(o, pd);
	if (o->security)
		probe_security(o, pd);
}

/* ---- --security: raw OpenSSL ---- */

/* A blocking socket whose connect, reads and writes are bounded. */
static int
raw_connect(const char *host, unsigned short port, int timeout_ms)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *list;
	char serv[8];
	snprintf(serv, sizeof serv, "%u", port);
	if (getaddrinfo(host, serv, &hints, &list) != 0)
		return -1;
	int fd = -1;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		/* Linux bounds a blocking connect by SO_SNDTIMEO. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(list);
	return fd;
}

static int
raw_send(int fd, SSL *ssl, const char *s)
{
	size_t n = strlen(s);
	if (ssl)
		return SSL_write(ssl, s, (int)n) == (int)n ? 0 : -1;
	return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/*
 * One reply, all its lines; its code, or -1. Byte by byte, so nothing that
 * follows (the server's side of a TLS handshake) is taken from the socket.
 */
static int
raw_reply(int fd, SSL *ssl)
{
	char line[512];
	size_t n = 0;
	for (int lines = 0; lines < 100;) {
		char ch;
		int got = ssl ? SSL_read(ssl, &ch, 1) : (int)recv(fd, &ch, 1, 0);
		if (got <= 0)
			return -1;
		if (ch != '\n') {
			if (n < sizeof line - 1)
				line[n++] = ch;
			continue;
		}
		line[n] = '\0';
		lines++;
		if (n < 3)
			return -1;
		if (n == 3 || line[3] != '-')
			return atoi(line);
		n = 0;
	}
	return -1;
}

/* Greeting, EHLO, then STARTTLS and extra in one write; 0 at its 220. */
static int
raw_starttls(int fd, const char *ehlo, const char *extra)
{
	char cmd[320];
	if (raw_reply(fd, NULL) != 220)
		return -1;
	snprintf(cmd, sizeof cmd, "EHLO %s\r\n", ehlo);
	if (raw_send(fd, NULL, cmd) < 0 || raw_reply(fd, NULL) != 250)
		return -1;
	snprintf(cmd, sizeof cmd, "STARTTLS\r\n%s", extra);
	if (raw_send(fd, NULL, cmd) < 0 || raw_reply(fd, NULL) != 220)
		return -1;
	return 0;
}

/* A client context for one check; security level 0 lets old suites be offered. */
static SSL_CTX *
check_ctx(int min, int max, const char *ciphers)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

/* A TLS session on the door with ctx, or NULL; *fd_r is its socket. */
static SSL *
raw_tls(const struct probe_opts *o, struct door d, SSL_CTX *ctx, const char *extra, int *fd_r)
{
	int fd = raw_connect(o->connect_addr ? o->connect_addr : o->host, d.port, o->timeout_ms);
	if (fd < 0)
		return NULL;
	if (d.tls != CLIENT_TLS_IMPLICIT && raw_starttls(fd, o->ehlo_name, extra) < 0) {
		close(fd);
		return NULL;
	}
	SSL *ssl = SSL_new(ctx);
	bool ready = ssl != NULL && SSL_set_fd(ssl, fd) == 1 &&
		     (is_ip(o->host) || SSL_set_tlsext_host_name(ssl, o->host) == 1);
	if (!ready || SSL_connect(ssl) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	*fd_r = fd;
	return ssl;
}

static void
raw_close(SSL *ssl, int fd)
{
	SSL_free(ssl);
	close(fd);
}

/*
 * Each deprecated version on its own (a range would only show the highest
 * the server takes, hiding TLS 1.0 behind 1.1); one finding names them all.
 */
static void
check_old_tls(const struct probe_opts *o, struct probe_door *pd)
{
	static const struct {
		int version;
		const char *name;
	} old[] = {{TLS1_VERSION, "TLS 1.0"}, {TLS1_1_VERSION, "TLS 1.1"}};
	char accepted[256] = "";
	size_t n = 0;
	for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
		SSL_CTX *ctx = check_ctx(old[i].version, old[i].version, "DEFAULT:@SECLEVEL=0");
		int fd;
		SSL *ssl = ctx ? raw_tls(o, pd->door, ctx, "", &fd) : NULL;
		if (ssl) {
			size_t used = strlen(accepted);
			snprintf(accepted + used, sizeof accepted - used, "%s%s (cipher %s)",
				 n ? " and " : "", old[i].name, SSL_get_cipher_name(ssl));
			n++;
			raw_close(ssl, fd);
		}
		SSL_CTX_free(ctx);
	}
	if (n)
		finding(pd, PROBE_MEDIUM, "tls_old_version",
			"allow only TLS 1.2 and 1.3 (RFC 8996 deprecates TLS 1.0 and 1.1)",
			"the server accepts %s", accepted);
}

static void
check_weak_ciphers(const struct probe_opts *o, struct probe_door *pd)
{
	SSL_CTX *ctx =
	    check_ctx(TLS1_2_VERSION, TLS1_2_VERSION, "RC4:3DES:EXP:eNULL:aNULL:SHA1:@SECLEVEL=0");
	int fd;
	SSL *ssl = ctx ? raw_tls(o, pd->door, ctx, "", &fd) : NULL;
	if (ssl) {
		finding(pd, PROBE_MEDIUM, "weak_cipher",
			"offer only AEAD suites with forward secrecy (ECDHE with AES-GCM or "
			"ChaCha20-Poly1305); drop RC4, 3DES, NULL, EXPORT and CBC-SHA1 suites",
			"the server accepts the weak cipher suite %s with TLS 1.2",
			SSL_get_cipher_name(ssl));
		raw_close(ssl, fd);
	}
	SSL_CTX_free(ctx);
}

/*
 * CVE-2011-0411 and kin: NOOP rides in the same packet as STARTTLS. A safe
 * server drops it with the plaintext buffer; a vulnerable one answers it
 * over TLS, so the first reply after our QUIT is its 250, not the 221.
 */
static void
check_injection(const struct probe_opts *o, struct probe_door *pd)
{
	SSL_CTX *ctx = check_ctx(TLS1_VERSION, 0, "DEFAULT:@SECLEVEL=0");
	int fd;
	SSL *ssl = ctx ? raw_tls(o, pd->door, ctx, "NOOP\r\n", &fd) : NULL;
	if (ssl) {
		int code = raw_send(fd, ssl, "QUIT\r\n") == 0 ? raw_reply(fd, ssl) : -1;
		if (code == 250)
			finding(pd, PROBE_HIGH, "starttls_injection",
				"discard every byte received before the TLS handshake when "
				"STARTTLS is accepted (RFC 3207 section 5; CVE-2011-0411)",
				"a NOOP sent in the same packet as STARTTLS was answered after the "
				"handshake: an attacker can inject commands into the TLS session");
		raw_close(ssl, fd);
	}
	SSL_CTX_free(ctx);
}

/* RFC 2606 names: no real mailbox is ever at risk. */
static void
check_open_relay(const struct probe_opts *o, struct probe_door *pd)
{
	static const char *const rcpts[] = {"probe@example.net"};
	struct smtp_client_envelope env = {
	    .from = "probe@example.com", .rcpts = rcpts, .nrcpts = 1};
	struct client_run_result r;
	run_once(o, pd->door, true, false, &env, &r);
	if (r.greeted && r.smtp.failure == CLIENT_OK && r.smtp.accepted > 0)
		finding(
		    pd, PROBE_CRITICAL, "open_relay",
		    "without AUTH accept mail only for your own domains (Postfix: "
		    "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
		    "reject_unauth_destination)",
		    "open relay: RCPT TO:<probe@example.net> from MAIL FROM:<probe@example.com> "
		    "was accepted without authentication");
}

static void
probe_security(const struct probe_opts *o, struct probe_door *pd)
{
	if (pd->run.caps.auth_before_tls)
		finding(pd, PROBE_HIGH, "auth_cleartext",
			"offer AUTH only after STARTTLS (Postfix: smtpd_tls_auth_only = yes), "
			"or use implicit TLS on 465",
			"AUTH (%s) is offered before TLS: passwords can cross the network in the "
			"clear",
			pd->run.caps.auth_line);
	if (pd->tls_seen && pd->tls.days_left < 14)
		finding(pd, pd->tls.days_left < 0 ? PROBE_CRITICAL : PROBE_HIGH, "cert_expiry",
			"renew the certificate (automate it, e.g. with an ACME client) and reload "
			"the server",
			pd->tls.days_left < 0 ? "the certificate expired on %s"
					      : "the certificate expires within 14 days (%s)",
			pd->tls.not_after);
	if (pd->tls_seen) {
		check_old_tls(o, pd);
		check_weak_ciphers(o, pd);
		if (pd->door.tls != CLIENT_TLS_IMPLICIT)
			check_injection(o, pd);
	}
	if (is_relay(pd->door) && pd->run.greeted)
		check_open_relay(o, pd);
}

/* ---- the verdict ---- */

static int
door_rank(struct door d)
{
	switch (d.port) {
	case 587:
		return 0;
	case 465:
		return 1;
	case 2525:
		return 2;
	case 25:
		return 4;
	default:
		return is_relay(d) ? 4 : 3;
	}
}

int
probe_recommend(const struct probe_report *r)
{
	int best = -1;
	for (size_t i = 0; i < r->ndoors; i++)
		if (r->doors[i].outcome->id == OUTCOME_OK &&
		    (best < 0 || door_rank(r->doors[i].door) < door_rank(r->doors[best].door)))
			best = (int)i;
	return best;
}

/* How far a door got: the furthest failure says the most. */
static int
progress(enum outcome_status s)
{
	switch (s) {
	case OUTCOME_S_DNS_ERROR:
		return 0;
	case OUTCOME_S_TIMEOUT:
	case OUTCOME_S_REFUSED:
		return 1;
	case OUTCOME_S_NO_GREETING:
		return 2;
	case OUTCOME_S_TLS_FAILED:
	case OUTCOME_S_STARTTLS_MISSING:
		return 3;
	case OUTCOME_S_AUTH_MISSING:
	case OUTCOME_S_REJECTED:
		return 4;
	default:
		return 5;
	}
}

int
probe_exit_code(const struct probe_report *r)
{
	if (r->recommended >= 0)
		return EX_OK;
	const struct probe_door *best = NULL;
	for (size_t i = 0; i < r->ndoors; i++)
		if (best == NULL ||
		    progress(r->doors[i].outcome->status) > progress(best->outcome->status))
			best = &r->doors[i];
	return best ? best->outcome->exit_code : EX_USAGE;
}

const char *
probe_tls_mode(const struct probe_door *pd)
{
	switch (pd->door.tls) {
	case CLIENT_TLS_IMPLICIT:
		return "implicit";
	case CLIENT_TLS_STARTTLS:
		return "starttls";
	case CLIENT_TLS_OPPORTUNISTIC:
		/* A relay door is STARTTLS unless it turned out not to offer it. */
		return pd->run.tls_used || pd->tls_seen || pd->run.caps.starttls || !pd->run.greeted
			   ? "starttls"
			   : "none";
	case CLIENT_TLS_NONE:
		break;
	}
	return "none";
}

/* ---- JSON ---- */

static const char *
severity_name(enum probe_severity s)
{
	static const char *const names[] = {"low", "medium", "high", "critical"};
	return names[s];
}

/* "250 2.0.0 text", or "" when no reply came. */
static void
reply_text(const struct smtp_client_reply *r, char *out, size_t size)
{
	if (r->code == 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out, size, "%d%s%s%s%s", r->code, r->esc[0] ? " " : "", r->esc,
		 r->text[0] ? " " : "", r->text);
}

/* Our words when no reply said it: OpenSSL's, the system's, the core's. */
static const char *
door_detail(const struct probe_door *pd)
{
	if (pd->run.conn.kind != CONN_OK && pd->run.conn.detail[0])
		return pd->run.conn.detail;
	return pd->run.smtp.reply.code == 0 ? pd->run.smtp.reply.text : "";
}

static void
json_tls(struct buf *out, const struct probe_door *pd)
{
	const struct tls_info *t = &pd->tls;
	if (!pd->tls_seen) {
		buf_append_str(out, ",\"tls_info\":null");
		return;
	}
	buf_append_str(out, ",\"tls_info\":{");
	json_key_string(out, "version", t->version, false);
	json_key_string(out, "cipher", t->cipher, true);
	json_key_string(out, "subject", t->subject, true);
	json_key_string(out, "issuer", t->issuer, true);
	json_key_string(out, "sans", t->sans, true);
	json_key_string(out, "not_after", t->not_after, true);
	buf_printf(out, ",\"days_left\":%ld,\"verified\":%s", t->days_left,
		   t->verified ? "true" : "false");
	json_key_string(out, "verify_error", t->verify_error[0] ? t->verify_error : NULL, true);
	buf_append_str(out, "}");
}

static void
json_caps(struct buf *out, const struct probe_door *pd)
{
	const struct smtp_client_caps *k = &pd->run.caps;
	bool starttls = k->starttls || (pd->run.tls_used && pd->door.tls != CLIENT_TLS_IMPLICIT);
	buf_printf(out,
		   ",\"capabilities\":{\"esmtp\":%s,\"starttls\":%s,\"pipelining\":%s,"
		   "\"8bitmime\":%s,\"smtputf8\":%s,\"size\":%llu",
		   k->esmtp ? "true" : "false", starttls ? "true" : "false",
		   k->pipelining ? "true" : "false", k->eightbitmime ? "true" : "false",
		   k->smtputf8 ? "true" : "false", (unsigned long long)k->size);
	json_key_string(out, "auth", k->auth_line, true);
	buf_printf(out, ",\"auth_before_tls\":%s", k->auth_before_tls ? "true" : "false");
	/* Every extension the last EHLO listed, as offered (not only the known ones). */
	buf_append_str(out, ",\"keywords\":[");
	char line[sizeof k->keywords];
	const char *p = k->keywords;
	for (bool first = true; *p; first = false) {
		size_t n = strcspn(p, "\n");
		str_copy_n(line, sizeof line, p, n);
		buf_append_str(out, first ? "" : ",");
		json_string(out, line);
		p += n + (p[n] == '\n');
	}
	buf_printf(out, "],\"keywords_left_out\":%u}", k->keywords_dropped);
}

static void
json_notes(struct buf *out, const struct probe_door *pd)
{
	buf_append_str(out, ",\"warnings\":[");
	for (size_t i = 0; i < pd->nnotes; i++) {
		buf_append_str(out, i ? "," : "");
		json_string(out, pd->notes[i]);
	}
	buf_append_str(out, "],\"findings\":[");
	for (size_t i = 0; i < pd->nfindings; i++) {
		const struct probe_finding *f = &pd->findings[i];
		buf_printf(out, "%s{\"severity\":\"%s\",\"id\":\"%s\"", i ? "," : "",
			   severity_name(f->severity), f->id);
		json_key_string(out, "what", f->what, true);
		json_key_string(out, "fix", f->fix, true);
		buf_append_str(out, "}");
	}
	buf_append_str(out, "]");
}

static void
json_door(struct buf *out, const struct probe_report *r, const struct probe_door *pd)
{
	char reply[700];
	struct buf fix;
	buf_init(&fix, 0);
	outcome_fix_append(pd->outcome, r->opts->provider, &fix);
	reply_text(&pd->run.smtp.reply, reply, sizeof reply);
	buf_printf(out, "{\"port\":%u,\"tls\":\"%s\",\"status\":\"%s\"", pd->door.port,
		   probe_tls_mode(pd), outcome_status_name(pd->outcome->status));
	json_key_string(out, "reply", reply, true);
	json_key_string(out, "fix", fix.data ? fix.data : "", true);
	json_key_string(out, "what", pd->outcome->what, true);
	json_key_string(out, "cause", pd->outcome->cause, true);
	json_key_string(out, "detail", door_detail(pd), true);
	json_key_string(out, "greeting", pd->run.greeted ? pd->run.caps.greeting : NULL, true);
	json_tls(out, pd);
	json_caps(out, pd);
	json_notes(out, pd);
	buf_append_str(out, "}");
	buf_free(&fix);
}

static void
json_dns(struct buf *out, const struct probe_dns *d)
{
	if (d == NULL) {
		buf_append_str(out, ",\"dns\":null");
		return;
	}
	buf_append_str(out, ",\"dns\":{\"addresses\":[");
	for (size_t i = 0; i < d->naddrs; i++) {
		buf_append_str(out, i ? "," : "");
		json_string(out, d->addrs[i]);
	}
	buf_append_str(out, "],\"mx\":[");
	for (size_t i = 0; i < d->nmx; i++) {
		buf_printf(out, "%s{\"preference\":%u,\"host\":", i ? "," : "", d->mx[i].pref);
		json_string(out, d->mx[i].host);
		buf_append_str(out, "}");
	}
	buf_printf(out, "],\"null_mx\":%s", d->null_mx ? "true" : "false");
	json_key_string(out, "error", d->addr_error[0] ? d->addr_error : NULL, true);
	json_key_string(out, "mx_error", d->mx_error[0] ? d->mx_error : NULL, true);
	buf_append_str(out, "}");
}

void
probe_json(const struct probe_report *r, struct buf *out)
{
	buf_append_str(out, "{");
	json_key_string(out, "host", r->opts->host, false);
	json_key_string(out, "provider", r->opts->provider ? r->opts->provider->display : NULL,
			true);
	json_dns(out, r->dns);
	buf_append_str(out, ",\"doors\":[");
	for (size_t i = 0; i < r->ndoors; i++) {
		buf_append_str(out, i ? "," : "");
		json_door(out, r, &r->doors[i]);
	}
	buf_append_str(out, "],\"recommendation\":");
	if (r->recommended >= 0) {
		const struct probe_door *pd = &r->doors[r->recommended];
		buf_printf(out, "{\"port\":%u,\"tls\":\"%s\",\"host\":", pd->door.port,
			   probe_tls_mode(pd));
		json_string(out, r->opts->host);
		buf_append_str(out, "}");
	} else {
		buf_append_str(out, "null");
	}
	buf_printf(out, ",\"exit_code\":%d}\n", probe_exit_code(r));
}

/* ---- text ---- */

#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BOLD "\033[1m"
#define C_OFF "\033[0m"

/* Server bytes are escaped before they reach a terminal. */
static const char *
safe(const char *s, char *out, size_t size)
{
	return str_escape(out, size, s, strlen(s));
}

static const char *
paint(bool color, const char *code)
{
	return color ? code : "";
}

static const char *
encryption_name(const struct probe_door *pd)
{
	const char *m = probe_tls_mode(pd);
	return strcmp(m, "implicit") == 0   ? "implicit TLS"
	       : strcmp(m, "starttls") == 0 ? "STARTTLS"
					    : "no TLS";
}

static void
text_table(const struct probe_report *r, bool color, struct buf *out)
{
	buf_printf(out, "%-6s %-13s %-17s %s\n", "DOOR", "ENCRYPTION", "RESULT", "FIX");
	for (size_t i = 0; i < r->ndoors; i++) {
		const struct probe_door *pd = &r->doors[i];
		bool ok = pd->outcome->id == OUTCOME_OK;
		struct buf fix;
		buf_init(&fix, 0);
		outcome_fix_append(pd->outcome, r->opts->provider, &fix);
		buf_printf(out, "%-6u %-13s %s%-17s%s %s\n", pd->door.port, encryption_name(pd),
			   paint(color, ok ? C_GREEN : C_RED),
			   outcome_status_name(pd->outcome->status), paint(color, C_OFF),
			   fix.data ? fix.data : "");
		buf_free(&fix);
	}
}

static void
text_tls(const struct probe_door *pd, struct buf *out)
{
	const struct tls_info *t = &pd->tls;
	char a[300], b[300], c[600];
	if (!pd->tls_seen)
		return;
	buf_printf(out, "  TLS: %s, %s; %s\n", t->version, t->cipher,
		   t->verified ? "certificate verified, host name matches"
			       : "certificate NOT verified");
	buf_printf(out, "  certificate: subject %s; issuer %s\n", safe(t->subject, a, sizeof a),
		   safe(t->issuer, b, sizeof b));
	buf_printf(out, "  names: %s; expires %s (%ld days left)\n",
		   t->sans[0] ? safe(t->sans, c, sizeof c) : "(no SANs)", t->not_after,
		   t->days_left);
}

static void
text_caps(const struct probe_door *pd, struct buf *out)
{
	const struct smtp_client_caps *k = &pd->run.caps;
	char a[300];
	if (!k->esmtp)
		return;
	/* Every keyword line the last EHLO listed, in its order: a whitelist
	 * would hide DSN, VRFY, ETRN, HELP and whatever the server adds. */
	buf_append_str(out, "  capabilities:");
	char line[sizeof k->keywords];
	const char *p = k->keywords;
	while (*p) {
		size_t n = strcspn(p, "\n");
		str_copy_n(line, sizeof line, p, n);
		buf_printf(out, " %s", safe(line, a, sizeof a));
		p += n + (p[n] == '\n');
	}
	if (k->keywords_dropped)
		buf_printf(out, " (and %u more lines)", k->keywords_dropped);
	buf_append_str(out, "\n");
}

static void
text_door(const struct probe_report *r, const struct probe_door *pd, bool color, struct buf *out)
{
	char a[700], reply[700];
	bool ok = pd->outcome->id == OUTCOME_OK;
	buf_printf(out, "\n%s%s:%u (%s): %s%s\n", paint(color, C_BOLD), r->opts->host,
		   pd->door.port, door_tls_name(pd->door.tls), pd->outcome->what,
		   paint(color, C_OFF));
	if (pd->run.greeted)
		buf_printf(out, "  greeting: 220 %s\n", safe(pd->run.caps.greeting, a, sizeof a));
	text_tls(pd, out);
	text_caps(pd, out);
	if (!ok) {
		buf_printf(out, "  cause: %s\n", pd->outcome->cause);
		if (door_detail(pd)[0])
			buf_printf(out, "  reason: %s\n", safe(door_detail(pd), a, sizeof a));
		reply_text(&pd->run.smtp.reply, reply, sizeof reply);
		if (reply[0])
			buf_printf(out, "  server said: \"%s\"\n", safe(reply, a, sizeof a));
	}
	for (size_t i = 0; i < pd->nnotes; i++)
		buf_printf(out, "  %swarning:%s %s\n", paint(color, C_YELLOW), paint(color, C_OFF),
			   safe(pd->notes[i], a, sizeof a));
	for (size_t i = 0; i < pd->nfindings; i++) {
		const struct probe_finding *f = &pd->findings[i];
		buf_printf(out, "  %sfinding [%s]%s %s: %s\n    fix: %s\n",
			   paint(color, f->severity >= PROBE_HIGH ? C_RED : C_YELLOW),
			   severity_name(f->severity), paint(color, C_OFF), f->id,
			   safe(f->what, a, sizeof a), f->fix);
	}
}

static void
text_dns(const struct probe_report *r, struct buf *out)
{
	const struct probe_dns *d = r->dns;
	if (d == NULL)
		return;
	buf_printf(out, "DNS: %s ->", r->opts->host);
	for (size_t i = 0; i < d->naddrs; i++)
		buf_printf(out, " %s", d->addrs[i]);
	if (d->naddrs == 0)
		buf_printf(out, " no address (%s)", d->addr_error);
	for (size_t i = 0; i < d->nmx; i++)
		buf_printf(out, "%s %u %s", i ? "," : "; MX:", d->mx[i].pref, d->mx[i].host);
	if (d->null_mx)
		buf_append_str(out, "; null MX (RFC 7505): this domain accepts no mail");
	buf_append_str(out, "\n\n");
}

void
probe_text(const struct probe_report *r, bool color, struct buf *out)
{
	if (r->opts->provider)
		buf_printf(out, "Provider: %s\n", r->opts->provider->display);
	text_dns(r, out);
	text_table(r, color, out);
	for (size_t i = 0; i < r->ndoors; i++)
		text_door(r, &r->doors[i], color, out);
	buf_append_str(out, "\n");
	if (r->recommended < 0) {
		buf_printf(out, "%sNo door works for submission: see the fixes above.%s\n",
			   paint(color, C_RED), paint(color, C_OFF));
		return;
	}
	const struct probe_door *pd = &r->doors[r->recommended];
	buf_printf(out, "%sUse port %u with %s (server %s)%s\n", paint(color, C_GREEN),
		   pd->door.port, encryption_name(pd), r->opts->host, paint(color, C_OFF));
}
