/*
 * metrics_http: GET /metrics over evhttp (see the header).
 */
#include "metrics_http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "prom.h"
#include "xmalloc.h"

#define SCRAPE_MAX (4 * 1024 * 1024) /* the text stays far below; a bound all the same */

struct metrics_http {
	struct evhttp *http;
};

static void
on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	struct evbuffer *body = evbuffer_new();
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
		evbuffer_add_printf(body, "mailport serves its metrics at /metrics\n");
		evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", body);
		evbuffer_free(body);
		return;
	}
	struct buf text;
	buf_init(&text, SCRAPE_MAX);
	prom_render(&text);
	evhttp_add_header(headers, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evbuffer_add(body, text.data ? text.data : "", text.len);
	buf_free(&text);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

struct metrics_http *
metrics_http_start(struct event_base *base, const char *host, unsigned short port, char *err,
		   size_t err_size)
{
	struct metrics_http *m = xcalloc(1, sizeof *m);
	m->http = evhttp_new(base);
	if (m->http == NULL) {
		snprintf(err, err_size, "cannot make the metrics HTTP server");
		free(m);
		return NULL;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_gencb(m->http, on_request, m);
	if (evhttp_bind_socket_with_handle(m->http, host, port) == NULL) {
		snprintf(err, err_size, "cannot listen for metrics on %s:%u: %s", host,
			 (unsigned)port, strerror(errno));
		evhttp_free(m->http);
		free(m);
		return NULL;
	}
	return m;
}

void
metrics_http_stop(struct metrics_http **mp)
{
	struct metrics_http *m = *mp;
	if (m == NULL)
		return;
	evhttp_free(m->http);
	free(m);
	*mp = NULL;
}
