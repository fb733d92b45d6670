/*
 * tls_required: the "TLS-Required: No" header field of RFC 8689 5, read
 * from a message's header section. Pure; the input is an untrusted
 * message.
 *
 * The sender asks with it that recipient-side TLS policies (DANE,
 * MTA-STS) not block the message; delivery still uses TLS when offered.
 * It counts only when every TLS-Required field of the header says "No"
 * (case-insensitive, white space around it ignored): a field with another
 * value, which RFC 8689 does not define, is read as not asking for less
 * security, so the safer reading wins.
 */
#ifndef MP_TLS_REQUIRED_H
#define MP_TLS_REQUIRED_H

#include <stdbool.h>
#include <stddef.h>

/* msg[0..len) is the message from its first header byte. */
bool tls_required_no(const char *msg, size_t len);

#endif
