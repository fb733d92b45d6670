/*
 * door: the names of the TLS modes (see the header).
 */
#include "door.h"

const char *
door_tls_name(enum client_tls tls)
{
	switch (tls) {
	case CLIENT_TLS_STARTTLS:
		return "STARTTLS";
	case CLIENT_TLS_IMPLICIT:
		return "implicit TLS";
	case CLIENT_TLS_OPPORTUNISTIC:
		return "STARTTLS if offered";
	case CLIENT_TLS_NONE:
		break;
	}
	return "no TLS";
}
