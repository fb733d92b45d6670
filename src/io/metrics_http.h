/*
 * metrics_http: the `metrics` listener, a small HTTP server on the event
 * loop (libevent's evhttp) that answers GET /metrics with the registry in
 * Prometheus's text format (lib/prom). Nothing else is served: other paths
 * get 404 with a pointer to /metrics, other methods 405, bodies are
 * refused, and a connection that sends nothing is closed after 10 s.
 */
#ifndef MP_METRICS_HTTP_H
#define MP_METRICS_HTTP_H

#include <event2/event.h>
#include <stddef.h>

struct metrics_http;

/* Listen on host:port (an IP literal). NULL with why in err. */
struct metrics_http *metrics_http_start(struct event_base *base, const char *host,
					unsigned short port, char *err, size_t err_size);
void metrics_http_stop(struct metrics_http **m);

#endif
