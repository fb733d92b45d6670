/*
 * tls_policy: MTA-STS and TLS-RPT TXT records (see the header).
 */
#include "tls_policy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "str.h"

bool
tls_policy_tag(const char *record, const char *tag, char *out, size_t size)
{
	size_t tn = strlen(tag);
	for (const char *p = record; *p;) {
		p += strspn(p, " \t;");
		size_t n = strcspn(p, ";");
		const char *eq = memchr(p, '=', n);
		if (eq != NULL) {
			const char *ke = eq;
			while (ke > p && (ke[-1] == ' ' || ke[-1] == '\t'))
				ke--;
			if ((size_t)(ke - p) == tn && strncmp(p, tag, tn) == 0) {
				const char *v = eq + 1, *ve = p + n;
				v += strspn(v, " \t");
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				str_copy_n(out, size, v, (size_t)(ve - v));
				return true;
			}
		}
		p += n;
	}
	return false;
}

/* The record starts with version exactly, then the end, white space or ';'. */
static bool
has_version(const char *txt, const char *version)
{
	size_t n = strlen(version);
	return strncmp(txt, version, n) == 0 && strchr(" \t;", txt[n]) != NULL;
}

/* RFC 8461 3.1: sts-id = 1*32(ALPHA / DIGIT). */
static bool
is_sts_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9')))
			return false;
	return true;
}

int
mta_sts_record_parse(const char *txt, char *id, size_t size, char *why, size_t why_size)
{
	char v[64];
	id[0] = '\0';
	if (!has_version(txt, "v=STSv1")) {
		snprintf(why, why_size, "it does not start with v=STSv1");
		return -1;
	}
	if (!tls_policy_tag(txt, "id", v, sizeof v)) {
		snprintf(why, why_size, "it has no id= (RFC 8461 3.1)");
		return -1;
	}
	if (!is_sts_id(v)) {
		snprintf(why, why_size, "id= is not 1 to 32 letters and digits (RFC 8461 3.1)");
		return -1;
	}
	str_copy(id, size, v);
	return 0;
}

/* One rua URI: "mailto:" with an address, or "https://" with a host. */
static bool
is_rua_uri(const char *uri)
{
	if (strncasecmp(uri, "https://", 8) == 0)
		return uri[8] != '\0' && uri[8] != '/';
	if (strncasecmp(uri, "mailto:", 7) != 0)
		return false;
	const char *at = strchr(uri + 7, '@');
	return at != NULL && at > uri + 7 && at[1] != '\0';
}

int
tlsrpt_record_parse(const char *txt, char *rua, size_t size, char *why, size_t why_size)
{
	char v[1024];
	rua[0] = '\0';
	if (!has_version(txt, "v=TLSRPTv1")) {
		snprintf(why, why_size, "it does not start with v=TLSRPTv1");
		return -1;
	}
	if (!tls_policy_tag(txt, "rua", v, sizeof v) || v[0] == '\0') {
		snprintf(why, why_size, "it has no rua= (RFC 8460 3)");
		return -1;
	}
	for (const char *p = v; *p;) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, ",");
		char uri[1024];
		str_copy_n(uri, sizeof uri, p, n);
		for (size_t e = strlen(uri); e > 0 && (uri[e - 1] == ' ' || uri[e - 1] == '\t');)
			uri[--e] = '\0';
		if (uri[0] && !is_rua_uri(uri)) {
			snprintf(
			    why, why_size,
			    "rua= holds \"%.200s\", neither a mailto: address nor an https: URI "
			    "(RFC 8460 3)",
			    uri);
			return -1;
		}
		p += n;
	}
	str_copy(rua, size, v);
	return 0;
}
