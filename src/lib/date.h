/*
 * date: the RFC 5322 3.3 date-time of mail headers ("Sun, 29 Nov 2026
 * 10:00:00 +0000"), in local time, with English names whatever the locale.
 */
#ifndef MP_DATE_H
#define MP_DATE_H

#include <stddef.h>
#include <time.h>

void date_rfc5322(time_t t, char *out, size_t size);

#endif
