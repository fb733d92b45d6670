/*
 * probe: one door through the procedure (see the header): the main run
 * through the client core (client_run), a look at a certificate we do not
 * trust (again with verification off, and never with the password), the
 * "TLS where we waited for a greeting" check, and the warnings a person
 * needs. The result is copied into the report's plain struct probe_door;
 * the --security checks are probe_security.c's.
 */
#include "probe.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "probe_int.h"
#include "str.h"

/* The report's arrays take whatever the lookups and the command hand over. */
_Static_assert(PROBE_MAX_ADDRS == DNS_MAX_ADDRS, "probe_dns.addrs is filled by dns_addrs");
_Static_assert(PROBE_MAX_DOORS >= SUBMIT_MAX_DOORS, "probe takes as many doors as submit");

/* ---- notes and findings ---- */

void
probe_note(struct probe_door *pd, const char *fmt, ...)
{
	if (pd->nnotes >= PROBE_MAX_NOTES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pd->notes[pd->nnotes++], sizeof pd->notes[0], fmt, ap);
	va_end(ap);
}

void
probe_finding(struct probe_door *pd, enum probe_severity sev, const char *id, const char *fix,
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

bool
probe_is_relay(struct door d)
{
	return d.tls == CLIENT_TLS_OPPORTUNISTIC;
}

bool
probe_is_ip(const char *host)
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
	if (!probe_is_ip(name)) {
		struct dns_mx mx[DNS_MAX_MX];
		size_t nmx = 0;
		st = dns_mx(d, name, mx, &nmx);
		out->null_mx = st == DNS_NULL_MX;
		if (st == DNS_TEMPFAIL)
			str_copy(out->mx_error, sizeof out->mx_error, dns_status_name(st));
		for (size_t i = 0; st == DNS_OK && i < nmx && i < PROBE_MAX_MX; i++) {
			str_copy(out->mx[i].host, sizeof out->mx[i].host, mx[i].host);
			out->mx[i].pref = mx[i].pref;
			out->nmx = i + 1;
		}
	}
	dns_free(&d);
	if (out->naddrs == 0 && resolver == NULL)
		system_addrs(name, out); /* /etc/hosts knows names DNS does not */
}

/* ---- runs through the client core ---- */

/* One session on door; login and env are optional. */
void
probe_run_once(const struct probe_opts *o, struct door d, bool insecure, bool login,
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
	probe_run_once(o, pd->door, true, false, NULL, &r);
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
	probe_run_once(o, implicit, true, false, NULL, &r);
	if (!r.tls_used)
		return;
	pd->outcome = outcome_get(OUTCOME_TLS_MIXUP_PLAIN_ON_IMPLICIT_PORT);
	probe_note(pd, "port %u answered a TLS handshake (%s): it speaks implicit TLS, like 465",
		   pd->door.port, r.tls.version);
}

static void
tls_notes(const struct probe_opts *o, struct probe_door *pd)
{
	const struct tls_info *t = &pd->tls;
	if (!pd->tls_seen)
		return;
	if (!t->verified)
		probe_note(pd, "certificate not verified: %s", t->verify_error);
	if (t->days_left < 0)
		probe_note(pd, "the certificate expired on %s", t->not_after);
	else if (t->days_left < 14)
		probe_note(pd, "the certificate expires in %ld days (%s)", t->days_left,
			   t->not_after);
	if (o->insecure && pd->tls_used)
		probe_note(pd, "--insecure: the certificate was not checked");
}

static void
door_notes(const struct probe_opts *o, const struct client_run_result *r, struct probe_door *pd)
{
	if (r->caps.auth_before_tls)
		probe_note(
		    pd, "AUTH was offered before TLS: a client may send its password in the clear");
	if (probe_is_relay(pd->door) && r->greeted && !r->tls_used) {
		if (r->smtp.starttls_reply.code)
			probe_note(
			    pd, "STARTTLS refused (%d %s): mail to this door travels in the clear",
			    r->smtp.starttls_reply.code, r->smtp.starttls_reply.text);
		else if (r->caps.esmtp && !r->caps.starttls)
			probe_note(pd,
				   "STARTTLS not offered: mail to this door travels in the clear "
				   "(a warning on a relay door, where TLS is opportunistic)");
	}
	if (probe_is_relay(pd->door) && o->user)
		probe_note(pd,
			   "no login tried on port %u: it is for server-to-server relay; submit "
			   "on 587 or 465",
			   pd->door.port);
	if (!probe_is_relay(pd->door) && !o->user && r->tls_used && r->smtp.failure == CLIENT_OK &&
	    r->caps.auth_mechs == 0 && !r->caps.auth_line[0])
		probe_note(pd, "no AUTH offered after TLS: this door will not take a login");
	tls_notes(o, pd);
}

/* What the report shows of the main run. */
static void
keep_run(const struct client_run_result *r, struct probe_door *pd)
{
	pd->greeted = r->greeted;
	pd->tls_used = r->tls_used;
	pd->caps = r->caps;
	pd->reply = r->smtp.reply;
	/* Our words when no reply said it: OpenSSL's, the system's, the core's. */
	if (r->conn.kind != CONN_OK && r->conn.detail[0])
		str_copy(pd->detail, sizeof pd->detail, r->conn.detail);
	else if (r->smtp.reply.code == 0)
		str_copy(pd->detail, sizeof pd->detail, r->smtp.reply.text);
	if (r->tls_used) {
		pd->tls = r->tls;
		pd->tls_seen = true;
	}
}

void
probe_door(const struct probe_opts *o, struct door door, struct probe_door *pd)
{
	memset(pd, 0, sizeof *pd);
	pd->door = door;
	const char *rcpts[1] = {o->to};
	struct smtp_client_envelope env = {.from = o->from, .rcpts = rcpts, .nrcpts = 1};
	bool mail = o->from && o->to;
	struct client_run_result run;
	/* Never a password on a relay door: that is not where users log in. */
	probe_run_once(o, door, o->insecure, !probe_is_relay(door), mail ? &env : NULL, &run);
	pd->outcome = run_outcome(&run, door);
	keep_run(&run, pd);
	if (!run.tls_used && run.conn.kind == CONN_TLS_CERT)
		peek_certificate(o, pd);
	if (pd->outcome->status == OUTCOME_S_NO_GREETING && door.tls != CLIENT_TLS_IMPLICIT &&
	    run.connected && !run.greeted)
		check_tls_first(o, pd);
	door_notes(o, &run, pd);
	if (o->security)
		probe_security(o, pd);
}
