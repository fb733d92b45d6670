/*
 * server: `mailport serve` — the listeners, the event loop, signals,
 * privileges and reloads. Sessions are in session.c.
 */
#ifndef MP_SERVER_H
#define MP_SERVER_H

/* Run the server on config_path until SIGTERM/SIGINT. Returns a sysexits code. */
int server_run(const char *config_path);

#endif
