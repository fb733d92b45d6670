/*
 * dkim_tool: the DKIM signer and verifier of the server, on a file, for
 * the interoperability tests (tests/integration/test_dkim_interop.py),
 * which hold them against dkimpy and the mailauth package.
 *
 *   dkim_tool sign [--time T] DOMAIN SELECTOR KEYFILE [DOMAIN SELECTOR KEYFILE]... < msg
 *       writes the DKIM-Signature fields, then the message, to stdout
 *   dkim_tool verify --resolver HOST:PORT [--time T] < msg
 *       prints one line per signature: RESULT DOMAIN SELECTOR ALGORITHM REASON
 *
 * The message is read in 1000-byte pieces, as a socket would give it.
 * Exit status: 0 done (whatever the results), 1 an error (said on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_dns.h"
#include "dkim_sign.h"
#include "dkim_verify.h"

static char *
read_all(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *p = malloc(cap);
	size_t k;
	while (p && (k = fread(p + n, 1, cap - n, stdin)) > 0) {
		n += k;
		if (n == cap)
			p = realloc(p, cap *= 2);
	}
	*len = n;
	return p;
}

/* The message in 1000-byte pieces: its header section to h, then to
 * on_headers once whole, the rest to on_body. */
static void
feed(const char *msg, size_t len, struct msg_headers *h,
     void (*on_headers)(void *, const struct msg_headers *),
     void (*on_body)(void *, const char *, size_t), void *arg)
{
	bool done = false, told = false;
	for (size_t off = 0; off < len; off += 1000) {
		size_t k = len - off < 1000 ? len - off : 1000, used = 0;
		if (!done)
			used = msg_headers_feed(h, msg + off, k, &done);
		if (done && !told) {
			on_headers(arg, h);
			told = true;
		}
		if (done)
			on_body(arg, msg + off + used, k - used);
	}
	if (!told)
		on_headers(arg, h);
}

static void
sign_headers(void *s, const struct msg_headers *h)
{
	dkim_signer_headers(s, h);
}

static void
sign_body(void *s, const char *p, size_t n)
{
	dkim_signer_body(s, p, n);
}

static void
verify_headers(void *v, const struct msg_headers *h)
{
	dkim_verifier_headers(v, h);
}

static void
verify_body(void *v, const char *p, size_t n)
{
	dkim_verifier_body(v, p, n);
}

static int
sign(int argc, char **argv, int64_t now, const char *msg, size_t len)
{
	static struct config cfg;
	config_init(&cfg);
	for (int i = 0; i + 2 < argc && cfg.ndkim < CONFIG_MAX_DKIM; i += 3) {
		struct config_dkim *d = &cfg.dkim[cfg.ndkim++];
		snprintf(d->domain, sizeof d->domain, "%s", argv[i]);
		snprintf(d->selector, sizeof d->selector, "%s", argv[i + 1]);
		snprintf(d->keyfile, sizeof d->keyfile, "%s", argv[i + 2]);
	}
	char err[1024];
	struct dkim_keyset *ks = dkim_keys_load(&cfg, err, sizeof err);
	if (ks == NULL) {
		fprintf(stderr, "dkim_tool: %s\n", err);
		return 1;
	}
	struct msg_headers h;
	msg_headers_init(&h, 0);
	struct dkim_signer *s = dkim_signer_new(ks, now);
	feed(msg, len, &h, sign_headers, sign_body, s);
	struct buf out;
	buf_init(&out, 0);
	int n = dkim_signer_finish(s, &out, err, sizeof err);
	fprintf(stderr, "dkim_tool: %d signature(s): %s\n", n, err);
	fwrite(out.data, 1, out.len, stdout);
	fwrite(msg, 1, len, stdout);
	buf_free(&out);
	dkim_signer_free(&s);
	msg_headers_free(&h);
	dkim_keys_free(&ks);
	return n < 0;
}

static int
verify(const char *resolver, int64_t now, const char *msg, size_t len)
{
	char err[512];
	struct auth_dns *a = auth_dns_new(resolver, 2000, err, sizeof err);
	if (a == NULL) {
		fprintf(stderr, "dkim_tool: %s\n", err);
		return 1;
	}
	auth_dns_start(a, 5000);
	struct msg_headers h;
	msg_headers_init(&h, 0);
	struct dkim_verifier *v = dkim_verifier_new();
	feed(msg, len, &h, verify_headers, verify_body, v);
	struct dkim_result r[DKIM_VERIFY_MAX];
	struct ma_dns dns = auth_dns_iface(a);
	size_t n = dkim_verifier_finish(v, &dns, now, r, DKIM_VERIFY_MAX);
	for (size_t i = 0; i < n; i++)
		printf("%s %s %s %s %s\n", r[i].result, r[i].domain[0] ? r[i].domain : "-",
		       r[i].selector[0] ? r[i].selector : "-",
		       r[i].algorithm[0] ? r[i].algorithm : "-", r[i].reason);
	dkim_verifier_free(&v);
	msg_headers_free(&h);
	auth_dns_free(&a);
	return 0;
}

int
main(int argc, char **argv)
{
	int64_t now = (int64_t)time(NULL);
	const char *resolver = NULL;
	if (argc < 2) {
		fprintf(stderr, "usage: dkim_tool sign|verify ...\n");
		return 1;
	}
	int i = 2;
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--time") == 0)
			now = strtoll(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--resolver") == 0)
			resolver = argv[i + 1];
	}
	size_t len;
	char *msg = read_all(&len);
	int rc = strcmp(argv[1], "sign") == 0 ? sign(argc - i, argv + i, now, msg, len)
					      : verify(resolver, now, msg, len);
	free(msg);
	return rc;
}
