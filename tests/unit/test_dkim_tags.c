/*
 * dkim_tags: tag lists (RFC 6376 3.2), the signature checks of 6.1.1 on
 * RFC 8463's example signature and on broken variants of it, the b=
 * blanking of 3.7, key records (3.6.1), and that what the builder writes
 * parses back, stays within 78 columns and blanks to the text it hashed.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dkim_tags.h"
#include "harness.h"

/* RFC 8463 appendix A.3, the Ed25519 signature's field. */
static const char RFC8463_SIG[] = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
				  " d=football.example.com; i=@football.example.com;\r\n"
				  " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
				  " subject : date : message-id : from : subject : date;\r\n"
				  " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
				  " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
				  " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n";

static char why[256];

static int
parse_sig(const char *value, struct dkim_sig *sig)
{
	why[0] = '\0';
	return dkim_sig_parse(value, strlen(value), sig, why, sizeof why);
}

static void
test_tag_list(void)
{
	struct dkim_tag_list l;
	const char *t = " a = b c ;\r\n\tbb=;  c=x=y ; ";
	CHECK(dkim_tags_parse(t, strlen(t), &l, why, sizeof why) == 0);
	CHECK(l.n == 3);
	const struct strv *v = dkim_tags_get(&l, "a");
	CHECK(v && v->len == 3 && memcmp(v->p, "b c", 3) == 0);
	CHECK(dkim_tags_get(&l, "bb") && dkim_tags_get(&l, "bb")->len == 0);
	CHECK(dkim_tags_get(&l, "c") && dkim_tags_get(&l, "c")->len == 3);
	CHECK(dkim_tags_get(&l, "A") == NULL); /* names are case-sensitive */
	CHECK(dkim_tags_parse("", 0, &l, why, sizeof why) == 0 && l.n == 0);
	CHECK(dkim_tags_parse("a=1;a=2", 7, &l, why, sizeof why) < 0);
	CHECK(strstr(why, "twice") != NULL);
	CHECK(dkim_tags_parse("a", 1, &l, why, sizeof why) < 0);
	CHECK(dkim_tags_parse("1a=b", 4, &l, why, sizeof why) < 0);
	CHECK(dkim_tags_parse("a=b\x01", 4, &l, why, sizeof why) < 0);
	CHECK(dkim_tags_parse("a=1;;b=2;", 9, &l, why, sizeof why) == 0 && l.n == 2);
	/* More tags than the list holds: refused, not overrun. */
	char many[1024] = "";
	for (int i = 0; i < DKIM_TAGS_MAX + 1; i++)
		sprintf(many + strlen(many), "t%d=1;", i);
	CHECK(dkim_tags_parse(many, strlen(many), &l, why, sizeof why) < 0);
}

static void
test_rfc8463_signature(void)
{
	struct dkim_sig sig;
	const char *value = strchr(RFC8463_SIG, ':') + 1;
	CHECK(parse_sig(value, &sig) == 0);
	CHECK(sig.alg == DKIM_ED25519_SHA256);
	CHECK(sig.hcanon == DKIM_CANON_RELAXED && sig.bcanon == DKIM_CANON_RELAXED);
	CHECK_STR(sig.d, "football.example.com");
	CHECK_STR(sig.s, "brisbane");
	CHECK_STR(sig.i, "@football.example.com");
	CHECK(sig.has_t && sig.t == 1528637909 && !sig.has_x && !sig.has_l);
	CHECK(sig.nh == 8);
	CHECK_STR(sig.hv[0], "from");
	CHECK_STR(sig.hv[4], "message-id");
	CHECK_STR(sig.hv[7], "date");
	CHECK(sig.b_len == 64 && sig.bh_len == 32);
	CHECK(sig.bh[0] == 0xda); /* "2j..." */
	CHECK_STR(sig.b64b, "/gCrinpcQOoIfuH");

	/* 3.7: b= and the white space around its value gone, no final CRLF. */
	struct buf b;
	buf_init(&b, 0);
	CHECK(dkim_sig_blank_b(RFC8463_SIG, strlen(RFC8463_SIG), &b));
	const char *tail = " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n b=";
	CHECK(b.len > strlen(tail) && strcmp(b.data + b.len - strlen(tail), tail) == 0);
	buf_free(&b);
	/* b= not last: the rest stays; bh= is not taken for b=. */
	buf_init(&b, 0);
	const char *f = "DKIM-Signature: bh=xyz; b = abc\r\n def ; d=x\r\n";
	CHECK(dkim_sig_blank_b(f, strlen(f), &b));
	CHECK_STR(b.data, "DKIM-Signature: bh=xyz; b =; d=x");
	buf_free(&b);
	buf_init(&b, 0);
	CHECK(!dkim_sig_blank_b("DKIM-Signature: bh=x\r\n", 22, &b));
	buf_free(&b);
}

/* The RFC 8463 value with one tag replaced (or removed with ""). */
static const char *
variant(const char *tag, const char *replacement)
{
	static char out[1024];
	const char *value = strchr(RFC8463_SIG, ':') + 1;
	out[0] = '\0';
	char copy[1024];
	strcpy(copy, value);
	for (char *spec = strtok(copy, ";"); spec; spec = strtok(NULL, ";")) {
		const char *name = spec;
		while (*name == ' ' || *name == '\r' || *name == '\n' || *name == '\t')
			name++;
		size_t tl = strlen(tag);
		if (strncmp(name, tag, tl) == 0 && name[tl] == '=') {
			if (*replacement)
				sprintf(out + strlen(out), "%s;", replacement);
			continue;
		}
		sprintf(out + strlen(out), "%s;", spec);
	}
	return out;
}

static void
test_signature_checks(void)
{
	struct dkim_sig sig;
	static const char *const required[] = {"v", "a", "b", "bh", "d", "h", "s"};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
		CHECK(parse_sig(variant(required[i], ""), &sig) < 0);
		CHECK(strstr(why, "no ") != NULL);
	}
	CHECK(parse_sig(variant("v", "v=2"), &sig) < 0 && strstr(why, "version"));
	CHECK(parse_sig(variant("a", "a=rsa-md5"), &sig) < 0 && strstr(why, "algorithm"));
	CHECK(parse_sig(variant("a", "a=rsa-sha1"), &sig) < 0 && strstr(why, "bh="));
	CHECK(parse_sig(variant("h", "h=to:subject"), &sig) < 0 && strstr(why, "From"));
	CHECK(parse_sig(variant("h", "h=From"), &sig) == 0 && sig.nh == 1);
	CHECK(parse_sig(variant("h", "h=from::to"), &sig) < 0);
	CHECK(parse_sig(variant("i", "i=joe@eng.football.example.com"), &sig) == 0);
	CHECK(parse_sig(variant("i", "i=joe@FOOTBALL.example.com"), &sig) == 0);
	CHECK(parse_sig(variant("i", "i=joe@notfootball.example.com"), &sig) < 0);
	CHECK(parse_sig(variant("i", "i=joe@example.com"), &sig) < 0 && strstr(why, "i="));
	CHECK(parse_sig(variant("i", "i=nobody"), &sig) < 0);
	CHECK(parse_sig(variant("i", ""), &sig) == 0);
	CHECK_STR(sig.i, "@football.example.com");
	CHECK(parse_sig(variant("c", ""), &sig) == 0 && sig.hcanon == DKIM_CANON_SIMPLE &&
	      sig.bcanon == DKIM_CANON_SIMPLE);
	CHECK(parse_sig(variant("c", "c=relaxed"), &sig) == 0 && sig.hcanon == DKIM_CANON_RELAXED &&
	      sig.bcanon == DKIM_CANON_SIMPLE);
	CHECK(parse_sig(variant("c", "c=simple/fancy"), &sig) < 0);
	CHECK(parse_sig(variant("q", "q=dns/txt:other"), &sig) == 0);
	CHECK(parse_sig(variant("q", "q=http"), &sig) < 0);
	CHECK(parse_sig(variant("d", "d=exa mple.com"), &sig) < 0);
	CHECK(parse_sig(variant("d", "d=a..b"), &sig) < 0);
	CHECK(parse_sig(variant("s", "s=bad/sel"), &sig) < 0);
	CHECK(parse_sig(variant("bh", "bh=AAAA"), &sig) < 0);
	CHECK(parse_sig(variant("b", "b=!!!"), &sig) < 0);
	CHECK(parse_sig(variant("b", "b="), &sig) < 0);
	/* t=, x=, l= */
	CHECK(parse_sig(variant("t", "t=1528637909; x=1528637909"), &sig) < 0);
	CHECK(parse_sig(variant("t", "t=1528637909; x=1528637910"), &sig) == 0);
	CHECK(sig.has_x && !dkim_sig_expired(&sig, 1528637910) &&
	      dkim_sig_expired(&sig, 1528637911));
	CHECK(parse_sig(variant("t", "t=12345678901234"), &sig) < 0);
	CHECK(parse_sig(variant("t", "t=-1"), &sig) < 0);
	CHECK(parse_sig(variant("q", "q=dns/txt; l=42"), &sig) == 0 && sig.has_l && sig.l == 42);
	CHECK(parse_sig(variant("q", "l=99999999999999999999999"), &sig) < 0);
	CHECK(parse_sig(variant("q", "l=x"), &sig) < 0);
	/* Unknown tags are ignored (3.2). */
	CHECK(parse_sig(variant("q", "z=From:foo|To:bar; foo=bar"), &sig) == 0);
}

static int
parse_key(const char *txt, struct dkim_key_record *k)
{
	why[0] = '\0';
	return dkim_key_parse(txt, strlen(txt), k, why, sizeof why);
}

static void
test_key_records(void)
{
	struct dkim_key_record k;
	struct dkim_sig sig;
	CHECK(parse_sig(strchr(RFC8463_SIG, ':') + 1, &sig) == 0);

	/* RFC 8463 A.2 */
	CHECK(parse_key("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", &k) ==
	      0);
	CHECK(k.type == DKIM_KEY_ED25519 && k.p_len == 32 && !k.revoked && k.sha256_ok);
	CHECK(dkim_key_allows(&k, &sig, why, sizeof why));
	CHECK(parse_key("k=ed25519; p=", &k) == 0 && k.revoked);
	CHECK(parse_key("k=ed25519; p=AAAA", &k) < 0 && strstr(why, "32 bytes"));
	CHECK(parse_key("k=ed25519", &k) < 0 && strstr(why, "p="));
	CHECK(parse_key("p=AAAA; v=DKIM1", &k) < 0 && strstr(why, "first"));
	CHECK(parse_key("v=DKIM2; p=AAAA", &k) < 0);
	CHECK(parse_key("k=dsa; p=AAAA", &k) < 0 && strstr(why, "k=dsa"));
	CHECK(parse_key("p=A A\r\n AA", &k) == 0 && k.type == DKIM_KEY_RSA && k.p_len == 3);
	/* The RSA key against an Ed25519 signature. */
	CHECK(!dkim_key_allows(&k, &sig, why, sizeof why) && strstr(why, "RSA"));
	CHECK(parse_key("p=!!", &k) < 0);
	/* s=: email or * */
	CHECK(parse_key("s=email:tlsrpt; p=AAAA", &k) == 0);
	CHECK(parse_key("s=*; p=AAAA", &k) == 0);
	CHECK(parse_key("s=tlsrpt; p=AAAA", &k) < 0 && strstr(why, "email"));
	/* h= */
	CHECK(parse_key("k=ed25519; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", &k) ==
	      0);
	CHECK(!dkim_key_allows(&k, &sig, why, sizeof why) && strstr(why, "h="));
	/* t=y and t=s; t=s refuses an i= below d=. */
	CHECK(parse_key("k=ed25519; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", &k) ==
	      0);
	CHECK(k.testing && k.strict);
	CHECK(dkim_key_allows(&k, &sig, why, sizeof why));
	CHECK(parse_sig(variant("i", "i=joe@eng.football.example.com"), &sig) == 0);
	CHECK(!dkim_key_allows(&k, &sig, why, sizeof why) && strstr(why, "t=s"));
}

static size_t
max_line(const char *s)
{
	size_t max = 0, cur = 0;
	for (; *s; s++) {
		if (*s == '\n') {
			cur = 0;
			continue;
		}
		if (*s != '\r' && ++cur > max)
			max = cur;
	}
	return max;
}

static void
test_build(void)
{
	static const char *const h[] = {"from",	      "to",	      "cc",	      "subject",
					"date",	      "message-id",   "reply-to",     "in-reply-to",
					"references", "mime-version", "content-type", "from"};
	struct dkim_sig_params p = {
	    .alg = DKIM_RSA_SHA256,
	    .d = "mail.example.org",
	    .s = "2026a",
	    .h = h,
	    .nh = sizeof h / sizeof h[0],
	    .bh = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=",
	    .has_t = true,
	    .t = 1780000000,
	};
	struct buf out, blank;
	buf_init(&out, 0);
	buf_init(&blank, 0);
	dkim_sig_build(&p, &out);
	char *hashed = strdup(out.data);
	/* 258 bytes of "signature" in base64 */
	char b64[345];
	memset(b64, 'A', 344);
	b64[344] = '\0';
	dkim_sig_add_b(&out, b64);
	CHECK(max_line(out.data) <= 78);
	CHECK(out.len > 2 && memcmp(out.data + out.len - 2, "\r\n", 2) == 0);
	/* It parses back to what went in. */
	struct dkim_sig sig;
	const char *value = strchr(out.data, ':') + 1;
	CHECK(dkim_sig_parse(value, strlen(value), &sig, why, sizeof why) == 0);
	CHECK(sig.alg == DKIM_RSA_SHA256 && sig.nh == p.nh && sig.b_len == 258);
	CHECK_STR(sig.d, "mail.example.org");
	CHECK_STR(sig.s, "2026a");
	CHECK_STR(sig.hv[11], "from");
	CHECK(sig.t == 1780000000 && sig.hcanon == DKIM_CANON_RELAXED &&
	      sig.bcanon == DKIM_CANON_RELAXED);
	/* A verifier's blanking gives back the very text that was hashed. */
	CHECK(dkim_sig_blank_b(out.data, out.len, &blank));
	CHECK_STR(blank.data, hashed);
	free(hashed);
	buf_free(&out);
	buf_free(&blank);
}

static void
test_record_text(void)
{
	unsigned char pub[300];
	for (size_t i = 0; i < sizeof pub; i++)
		pub[i] = (unsigned char)i;
	struct buf rec, q;
	buf_init(&rec, 0);
	buf_init(&q, 0);
	dkim_key_record_text(DKIM_KEY_RSA, pub, sizeof pub, &rec);
	CHECK(strncmp(rec.data, "v=DKIM1; k=rsa; p=AAECAwQF", 26) == 0);
	struct dkim_key_record k;
	CHECK(dkim_key_parse(rec.data, rec.len, &k, why, sizeof why) == 0);
	CHECK(k.p_len == sizeof pub && memcmp(k.p, pub, sizeof pub) == 0);
	dkim_txt_quoted(rec.data, &q);
	/* Strings of at most 255 octets that join back to the record. */
	char joined[1024] = "";
	size_t strings = 0;
	for (const char *s = q.data; (s = strchr(s, '"')) != NULL;) {
		const char *e = strchr(s + 1, '"');
		CHECK(e != NULL && e - s - 1 <= 255);
		strncat(joined, s + 1, (size_t)(e - s - 1));
		strings++;
		s = e + 1;
	}
	CHECK(strings == (rec.len + 254) / 255);
	CHECK_STR(joined, rec.data);
	buf_reset(&rec);
	dkim_key_record_text(DKIM_KEY_ED25519, pub, 32, &rec);
	CHECK(strncmp(rec.data, "v=DKIM1; k=ed25519; p=", 22) == 0);
	buf_free(&rec);
	buf_free(&q);
}

int
main(void)
{
	test_tag_list();
	test_rfc8463_signature();
	test_signature_checks();
	test_key_records();
	test_build();
	test_record_text();
	return test_summary("test_dkim_tags");
}
