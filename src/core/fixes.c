/*
 * fixes: the table of what went wrong, its cause and its fix (see the
 * header). A row's first field is its signature: the conversions its what
 * and fix texts take, checked against the texts by test_fixes.
 */
#include "fixes.h"

#include <string.h>

#include "panic.h"
#include "tmpl.h"

/* clang-format off */
static const struct fix fixes[FIX_COUNT] = {
	[FIX_BIND_PRIVILEGED] = {"u",
		"cannot listen on port %u: permission denied",
		"ports below 1024 need root",
		"run mailport serve as root (it drops privileges after binding), or allow it with "
		"setcap (the command is below), or use 'unprivileged-port-offset 10000' "
		"in the config to listen on port+10000 instead"},
	[FIX_BIND_IN_USE] = {"u",
		"cannot listen on port %u: address already in use",
		"another program (often another mail server such as Postfix or Exim) already listens there",
		"find it with \"ss -ltnp 'sport = :%u'\" and stop it, or change this listen line to a free port"},
	[FIX_BIND_NO_ADDRESS] = {"",
		"cannot listen: the address is not on this machine",
		"the listen line names an IP address no interface has",
		"use 127.0.0.1, ::1, 0.0.0.0 or an address shown by 'ip addr'"},
	[FIX_BIND_OTHER] = {"",
		"cannot listen",
		"the operating system refused the socket",
		"check the listen line and the system's limits"},
	[FIX_PORT_OFFSET_USED] = {"uu",
		"port %u needs root, so listening on port %u instead",
		"mailport was started without root and the config sets unprivileged-port-offset",
		"point clients at the alternate port, or start mailport as root to use the standard one"},
	[FIX_PLAINTEXT_ON_TLS] = {"",
		"client spoke plaintext SMTP on the implicit-TLS port",
		"the client is set to STARTTLS or no encryption, but this port (465, 'submissions') "
		"expects TLS from the first byte",
		"in the client choose SSL/TLS (implicit TLS) for this port, or use port 587 with STARTTLS"},
	[FIX_SILENT_ON_TLS] = {"",
		"client sent nothing on the implicit-TLS port and gave up or timed out",
		"a plaintext client waiting for a 220 greeting that, on a TLS port, never comes",
		"in the client choose SSL/TLS (implicit TLS) for this port, or use port 587 with STARTTLS"},
	[FIX_TLS_HANDSHAKE] = {"",
		"TLS handshake failed",
		"TLS version mismatch (this server accepts TLS 1.2 and 1.3), or the client rejected the certificate",
		"test with 'openssl s_client -starttls smtp -connect HOST:587' (or -connect HOST:465); "
		"update the client's TLS library, or install a certificate the client trusts"},
	[FIX_CERT_LOAD] = {"",
		"cannot load the TLS certificate or key",
		"a file is missing, unreadable, not PEM, or the key does not match the certificate",
		"check the 'tls CERT KEY' line; the chain file starts with the server certificate; "
		"'openssl x509 -in CERT -noout -subject' and 'openssl pkey -in KEY -noout' must both work"},
	[FIX_USERS_UNREADABLE] = {"",
		"cannot read the users file",
		"it does not exist yet, or the account mailport runs as cannot read it",
		"create it with lines made by 'mailport passwd --user you@your.domain', readable by the server's user"},
	[FIX_RUN_USER_UNKNOWN] = {"s",
		"unknown user '%s' in the 'user' directive",
		"mailport drops root privileges to this account after binding its ports, and it does not exist",
		"create it (useradd --system --user-group --no-create-home --shell /usr/sbin/nologin NAME) "
		"or name an existing account"},
	[FIX_RUN_USER_CREATE] = {"",
		"cannot create the account 'mailport' to run as",
		"started as root, mailport drops privileges to an account of its own (never the shared "
		"'nobody', whose other daemons could read the spool, the mail and the key), and useradd "
		"failed or is missing",
		"create it with 'useradd --system --user-group --no-create-home --home-dir /nonexistent "
		"--shell /usr/sbin/nologin mailport', or name an existing account in a 'user' line"},
	[FIX_FD_LIMIT] = {"",
		"the open-file limit is too low for the connection caps",
		"each connection holds a descriptor; past the limit accept() fails instead of the "
		"server's own 421, so it will not start",
		"lower max-connections (or outbound-connections), or raise the hard limit: "
		"LimitNOFILE=65536 in the systemd unit, or 'ulimit -Hn 65536' as root in the shell "
		"that starts mailport"},	[FIX_CERT_NAME] = {"s",
		"the TLS certificate does not cover this server's name %s",
		"clients that check certificates (mail apps, MTA-STS and DANE senders) refuse it",
		"get a certificate for %s (e.g. 'certbot certonly --standalone -d NAME'), or set "
		"'hostname' to a name the certificate covers"},
	[FIX_CERT_EXPIRING] = {"u",
		"the TLS certificate expires in %u days",
		"after that date clients that check certificates refuse the connection",
		"renew it (e.g. 'certbot renew'), then send SIGHUP: the server takes the new "
		"certificate without a restart"},
	[FIX_CERT_EXPIRED] = {"",
		"the TLS certificate has expired",
		"clients that check certificates refuse the connection",
		"renew it (e.g. 'certbot renew'), then send SIGHUP: the server takes the new "
		"certificate without a restart"},
	[FIX_CERT_SELF_SIGNED] = {"s",
		"the TLS certificate is self-signed",
		"mail apps warn or refuse, and senders that check certificates (MTA-STS, DANE) will "
		"not deliver; opportunistic STARTTLS still encrypts",
		"get a certificate from a CA for %s (e.g. 'certbot certonly --standalone -d NAME') and "
		"point the 'tls CERT KEY' line at it"},
	[FIX_SECRET_READABLE] = {"s",
		"%s can be read by every account on this machine",
		"it holds secrets (password hashes or a private key)",
		"chmod o-r %s (0640 with the group of the server's account, or 0600)"},
	[FIX_PORT25_BLOCKED] = {"",
		"connections from this host to port 25 of other mail servers time out",
		"the hosting provider blocks outbound port 25 (AWS, Azure and GCP do by default) or a "
		"firewall drops it, so mail for other domains cannot go straight to their MX",
		"send through a relay on port 587: add 'relayhost smtp.your-provider.example:587 USER "
		"SECRETFILE' (or ask the provider to lift the block)"},
	[FIX_RELAY_UNREACHABLE] = {"",
		"the relay host does not answer",
		"a wrong name or port in the relayhost line, or a firewall on the way",
		"check the relayhost line; 'mailport probe HOST' tries its ports 587, 465 and 2525 and "
		"says which works"},	[FIX_PORT25_UNCHECKED] = {"s",
		"outbound port 25 not checked: no address for an MX of %s",
		"the check connects to port 25 of that domain's first MX, found through the resolver",
		"check the resolver line (or /etc/resolv.conf), or give --probe-domain a domain "
		"whose MX it finds"},
	[FIX_FOLDER_NOT_WRITABLE] = {"",
		"this account cannot write the folder",
		"serve keeps the queue and the mail there",
		"run serve as root (it drops to an account of its own and makes the folders its "
		"own), or give this account the folder"},	[FIX_ALIASES_INVALID] = {"",
		"the aliases file has lines mailport cannot use",
		"serve would not start with it (a reload keeps the table it has)",
		"correct the lines named above; 'mailport config check' lists each with its "
		"line number"},
	[FIX_ALIASES_READABLE] = {"s",
		"%s can be read by every account on this machine",
		"it lists the addresses and where their mail goes, which spammers look for",
		"chmod o-r %s (0640 with the group of the server's account)"},
};
/* clang-format on */

const struct fix *
fix_get(enum fix_id id)
{
	const struct fix *f = &fixes[id];
	if (f->sig[0])
		mp_panic("fix %d (\"%s\") takes \"%s\": use fix_text_*", (int)id, f->what, f->sig);
	return f;
}

const struct fix *
fix_row(enum fix_id id)
{
	return &fixes[id];
}

/* The row's texts filled from args; the row may use fewer than given. */
static void
fill(struct fix_text *t, enum fix_id id, const char *sig, const struct tmpl_arg *args, size_t n)
{
	const struct fix *f = &fixes[id];
	if (strncmp(f->sig, sig, strlen(f->sig)) != 0)
		mp_panic("fix %d (\"%s\") takes \"%s\", the caller gave \"%s\"", (int)id, f->what,
			 f->sig, sig);
	tmpl_fill(t->what, sizeof t->what, f->what, args, n);
	t->cause = f->cause;
	tmpl_fill(t->fix, sizeof t->fix, f->fix, args, n);
}

void
fix_text(struct fix_text *t, enum fix_id id)
{
	fill(t, id, "", NULL, 0);
}

void
fix_text_port(struct fix_text *t, enum fix_id id, unsigned port)
{
	struct tmpl_arg a[] = {tmpl_u(port)};
	fill(t, id, "u", a, 1);
}

void
fix_text_ports(struct fix_text *t, enum fix_id id, unsigned port, unsigned alternate)
{
	struct tmpl_arg a[] = {tmpl_u(port), tmpl_u(alternate)};
	fill(t, id, "uu", a, 2);
}

void
fix_text_name(struct fix_text *t, enum fix_id id, const char *name)
{
	struct tmpl_arg a[] = {tmpl_s(name)};
	fill(t, id, "s", a, 1);
}
