/*
 * elapsed: time on CLOCK_MONOTONIC in milliseconds, for timing an
 * operation and for backoffs (never moved by a change of the wall clock).
 */
#ifndef MP_ELAPSED_H
#define MP_ELAPSED_H

#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC, from an arbitrary start. */
long long elapsed_now_ms(void);
/* Microseconds on CLOCK_MONOTONIC: systemd's MONOTONIC_USEC= (notify.c). */
long long elapsed_now_us(void);
/* Milliseconds since t0, taken with clock_gettime(CLOCK_MONOTONIC). */
double elapsed_ms_since(const struct timespec *t0);

#endif
