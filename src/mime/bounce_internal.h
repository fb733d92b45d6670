/*
 * bounce_internal: what bounce.c (the DSN builder) takes from
 * bounce_status.c (reading SMTP replies); callers use bounce.h only.
 */
#ifndef MP_BOUNCE_INTERNAL_H
#define MP_BOUNCE_INTERNAL_H

#include "bounce.h"

/*
 * Append a reply (or our own reason) to d as one line of printable ASCII:
 * "550 5.1.1 first line second line ...", the code and enhanced code of
 * continuation lines dropped when they repeat the first line's, white
 * space and controls single spaces, other bytes '?', cut with "..." at
 * BOUNCE_DIAG_MAX, so no reply can break a line, a field or a boundary.
 */
void bounce_status_diag(const char *text, struct buf *d);

#endif
