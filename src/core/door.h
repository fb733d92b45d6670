/*
 * door: a port and how TLS is used there ("587 with STARTTLS"), the unit
 * `send` tries in turn and `probe` reports on. Plain data, so the reports
 * (src/report) can name a door without the connection code.
 */
#ifndef MP_DOOR_H
#define MP_DOOR_H

#include "smtp_client.h"

struct door {
	unsigned short port;
	enum client_tls tls;
};

/* "STARTTLS", "implicit TLS", "STARTTLS if offered" or "no TLS"; static. */
const char *door_tls_name(enum client_tls tls);

#endif
