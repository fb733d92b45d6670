/*
 * notify: the service manager's readiness protocol (sd_notify(3)), spoken
 * directly: one datagram of "KEY=VALUE" lines to the unix socket named by
 * $NOTIFY_SOCKET, a path or, after '@', an abstract name. systemd runs a
 * Type=notify unit as starting until READY=1, as reloading between
 * RELOADING=1 and READY=1, and as stopping after STOPPING=1.
 *
 * Our own ~100 lines rather than libsystemd: the protocol is one sendmsg()
 * and stable (systemd documents it for exactly this use), while the
 * library would add a run-time dependency (and its own dependencies) to a
 * binary that must also run where there is no systemd at all.
 *
 * Without $NOTIFY_SOCKET (not under systemd, or not Type=notify) every call
 * does nothing. The variable is taken out of the environment at open, so
 * the programs the server runs (useradd) do not speak for it.
 */
#ifndef MP_NOTIFY_H
#define MP_NOTIFY_H

struct notify;

/*
 * Reads and unsets $NOTIFY_SOCKET and makes the socket. Returns NULL when
 * the variable is unset; else the handle, to free with notify_free. A
 * name that cannot be used is logged with its fix, and the handle then
 * sends nothing (the service manager will say the start timed out).
 */
struct notify *notify_open(void);
void notify_free(struct notify **np);

/*
 * Sends state, "KEY=VALUE" lines joined by '\n' (e.g. "READY=1\nSTATUS=...").
 * n may be NULL. A failure is logged once with its fix; the server goes on.
 */
void notify_send(struct notify *n, const char *state);

/* RELOADING=1 with MONOTONIC_USEC= now, which systemd 253+ wants with it. */
void notify_reloading(struct notify *n);

#endif
