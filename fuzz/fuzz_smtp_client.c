/*
 * Fuzzes the client session: arbitrary server lines to a client in any
 * configuration, with actions answered as the glue would (the handshake
 * succeeds or fails, the body is sent), and the connection lost at the end.
 * Beyond no crash and no leak, it checks the promises of smtp_client.h:
 * with TLS required nothing of AUTH, MAIL, RCPT or DATA (and no secret)
 * leaves before the handshake; no secret reaches the transcript's C: lines;
 * output is CRLF-terminated lines; nothing is sent once the session is done.
 *
 * Input: byte 0 picks TLS mode (bits 0-1), credentials (bits 2-3: none,
 * password, token, both), stop_after_auth, rset_instead_of_data,
 * all_recipients_or_none and a failing handshake (bits 4-7); byte 1 picks
 * allowed_mechs (bits 0-3), the envelope (bits 4-5), a timeout (bit 6) and
 * keep_open (bit 7: up to three more transactions on the connection, then
 * QUIT); then server lines separated by "\n".
 */
#include <stdint.h>
#include <string.h>

#include "b64.h"
#include "smtp_client.h"

#define USER "fuzz-user"
#define PASS "fuzz-S3cret-pw"
#define TOKEN "fuzz-T0ken-xyz"

static char secrets[6][160];

static void
init_secrets(void)
{
	static const char plain[] = "\0" USER "\0" PASS;
	static const char xo[] = "user=" USER "\001auth=Bearer " TOKEN "\001\001";
	static const char ob[] =
	    "n,a=" USER ",\001host=mx.example\001port=25\001auth=Bearer " TOKEN "\001\001";
	if (secrets[0][0])
		return;
	strcpy(secrets[0], PASS);
	strcpy(secrets[1], TOKEN);
	b64_encode(plain, sizeof plain - 1, secrets[2]);
	b64_encode(xo, sizeof xo - 1, secrets[3]);
	b64_encode(ob, sizeof ob - 1, secrets[4]);
	b64_encode(PASS, strlen(PASS), secrets[5]);
}

static bool
has_secret(const char *p, size_t n, size_t first)
{
	for (size_t i = first; i < sizeof secrets / sizeof secrets[0]; i++)
		if (memmem(p, n, secrets[i], strlen(secrets[i])))
			return true;
	return false;
}

static bool
starts_ci(const char *p, size_t n, const char *verb)
{
	size_t v = strlen(verb);
	if (n < v)
		return false;
	for (size_t i = 0; i < v; i++)
		if ((p[i] & ~0x20) != verb[i])
			return false;
	return true;
}

struct state {
	struct smtp_client_config cfg;
	const struct smtp_client_envelope *env;
	struct smtp_client *c;
	bool tls;	/* the handshake succeeded (or implicit) */
	bool tls_fails; /* the handshake will fail */
	bool done;	/* action DONE seen */
	unsigned more;	/* keep_open: transactions still to start when idle */
};

static void
check_output(struct state *s)
{
	struct buf *out = smtp_client_output(s->c);
	if (s->done && out->len)
		__builtin_trap(); /* output after DONE */
	size_t start = 0;
	for (size_t i = 0; i < out->len; i++) {
		if (out->data[i] != '\r' && out->data[i] != '\n')
			continue;
		if (out->data[i] != '\r' || i + 1 >= out->len || out->data[i + 1] != '\n')
			__builtin_trap();
		const char *p = out->data + start;
		size_t n = i - start;
		if (s->cfg.tls == CLIENT_TLS_STARTTLS && !s->tls &&
		    (starts_ci(p, n, "AUTH") || starts_ci(p, n, "MAIL") ||
		     starts_ci(p, n, "RCPT") || starts_ci(p, n, "DATA") || has_secret(p, n, 2)))
			__builtin_trap();
		start = ++i + 1;
	}
	if (start != out->len)
		__builtin_trap();
	buf_reset(out);
	/* Our lines only: a server may echo anything in its own. */
	struct buf *t = smtp_client_transcript(s->c);
	for (size_t i = 0; i < t->len;) {
		const char *nl = memchr(t->data + i, '\n', t->len - i);
		size_t n = nl ? (size_t)(nl - t->data) - i : t->len - i;
		if (n >= 3 && memcmp(t->data + i, "C: ", 3) == 0 && has_secret(t->data + i, n, 0))
			__builtin_trap();
		if (n < 3 ||
		    (memcmp(t->data + i, "C: ", 3) != 0 && memcmp(t->data + i, "S: ", 3) != 0))
			__builtin_trap();
		i += n + 1;
	}
	buf_reset(t);
}

static void
check_result(struct state *s)
{
	const struct smtp_client_result *res = smtp_client_result(s->c);
	if (!res->phase || (unsigned)res->failure > CLIENT_REQUIRETLS_UNSUPPORTED)
		__builtin_trap();
	if (s->env && res->accepted > s->env->nrcpts)
		__builtin_trap();
	/* The count and the flags agree (LMTP clears flags after the body). */
	if (s->env && res->rcpts) {
		size_t k = 0;
		for (size_t i = 0; i < s->env->nrcpts; i++)
			k += res->rcpts[i].accepted;
		if (k != res->accepted)
			__builtin_trap();
	}
	if (res->failure == CLIENT_OK && s->done && strcmp(res->phase, "done") != 0)
		__builtin_trap();
	enum smtp_client_action act = smtp_client_action(s->c);
	if (act == CLIENT_ACT_IDLE && !s->cfg.keep_open)
		__builtin_trap();
	if (act == CLIENT_ACT_START_TLS && s->cfg.tls != CLIENT_TLS_STARTTLS &&
	    s->cfg.tls != CLIENT_TLS_OPPORTUNISTIC)
		__builtin_trap();
	if (act == CLIENT_ACT_SEND_BODY &&
	    (!s->env || res->accepted == 0 || s->cfg.rset_instead_of_data ||
	     (s->cfg.all_recipients_or_none && res->accepted != s->env->nrcpts) ||
	     (s->cfg.tls == CLIENT_TLS_STARTTLS && !res->tls)))
		__builtin_trap();
}

/* Answer actions as the glue would, until the client waits for a line. */
static void
settle(struct state *s)
{
	for (;;) {
		check_output(s);
		check_result(s);
		enum smtp_client_action act = smtp_client_action(s->c);
		if (act == CLIENT_ACT_DONE) {
			s->done = true;
			return;
		}
		if (act == CLIENT_ACT_START_TLS) {
			smtp_client_tls_done(s->c, !s->tls_fails, "handshake failure");
			s->tls = !s->tls_fails;
			continue;
		}
		if (act == CLIENT_ACT_SEND_BODY) {
			smtp_client_body_sent(s->c);
			continue;
		}
		if (act == CLIENT_ACT_IDLE) {
			if (s->more > 0 && s->env) {
				s->more--;
				if (!smtp_client_next(s->c, s->env))
					__builtin_trap();
			} else {
				smtp_client_quit(s->c);
			}
			continue;
		}
		return;
	}
}

static const char *const rcpts[] = {"a@example.net", "b@example.net", "c@example.net"};
static const struct smtp_client_envelope envs[] = {
    {"s@example.org", rcpts, 1, 100, false, false, false},
    {"s@example.org", rcpts, 3, 0, true, false, true},
    {"", rcpts, 2, 5000000, true, true, false},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	init_secrets();
	struct state s = {0};
	unsigned cred = (data[0] >> 2) & 3;
	s.cfg.ehlo_name = "client.example";
	s.cfg.tls = (enum client_tls)(data[0] & 3);
	s.cfg.user = cred ? USER : NULL;
	s.cfg.password = cred & 1 ? PASS : NULL;
	s.cfg.oauth_token = cred & 2 ? TOKEN : NULL;
	s.cfg.host = "mx.example";
	s.cfg.port = 25;
	s.cfg.stop_after_auth = data[0] & 0x10;
	s.cfg.rset_instead_of_data = data[0] & 0x20;
	s.cfg.all_recipients_or_none = data[0] & 0x40;
	s.tls_fails = data[0] & 0x80;
	s.cfg.allowed_mechs = data[1] & 0x0f;
	unsigned e = (data[1] >> 4) & 3;
	s.env = e < 3 ? &envs[e] : NULL;
	s.cfg.keep_open = data[1] & 0x80;
	s.cfg.lmtp = data[1] & 0x40; /* LHLO, a reply per recipient after the body */
	s.more = 3;
	s.tls = s.cfg.tls == CLIENT_TLS_IMPLICIT;
	s.c = smtp_client_new(&s.cfg, s.env);
	settle(&s);
	const char *p = (const char *)data + 2, *end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		smtp_client_feed(s.c, (struct strv){p, n});
		settle(&s);
		p += n + (nl != NULL);
	}
	smtp_client_connection_lost(s.c, data[1] & 0x40);
	s.done = smtp_client_action(s.c) == CLIENT_ACT_DONE;
	if (!s.done)
		__builtin_trap();
	check_output(&s);
	check_result(&s);
	smtp_client_free(&s.c);
	return 0;
}
