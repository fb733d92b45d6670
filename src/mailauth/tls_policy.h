/*
 * tls_policy: the two TXT records a domain publishes about TLS for mail
 * it receives, as the domain check reads them: MTA-STS's
 * "_mta-sts.DOMAIN" (RFC 8461 3.1: v=STSv1; id=1*32(ALPHA/DIGIT)) and SMTP
 * TLS reporting's "_smtp._tls.DOMAIN" (RFC 8460 3: v=TLSRPTv1;
 * rua=URI[,URI]... with mailto: or https: URIs). Pure; the input is an
 * untrusted DNS answer (one record, its strings joined).
 *
 * Both are "field; field" lists with optional white space around the ';'
 * (sts-field-delim, field-delim); the version must come first, exactly.
 */
#ifndef MP_TLS_POLICY_H
#define MP_TLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The value of tag in a "k=v; k=v" list (the first one, white space
 * around it removed), into out; false when the tag is absent.
 */
bool tls_policy_tag(const char *record, const char *tag, char *out, size_t size);

/* RFC 8461 3.1. 0 and the id in id[size], or -1 and why. */
int mta_sts_record_parse(const char *txt, char *id, size_t size, char *why, size_t why_size);

/* RFC 8460 3. 0 and rua= as published in rua[size], or -1 and why. */
int tlsrpt_record_parse(const char *txt, char *rua, size_t size, char *why, size_t why_size);

#endif
