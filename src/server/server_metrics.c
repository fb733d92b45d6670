/*
 * server_metrics: the `metrics` listener and what the server counts for it:
 * connections per door, sessions refused by a cap, logins, messages
 * accepted and their bytes, TLS handshakes by version, and the queue's size
 * and the age of its oldest message (read from the spool's folder when
 * scraped: the queue IDs begin with the arrival time, so no file is
 * opened). The delivery agents and the DNS code count their own
 * (delivery_metrics.c, dns.c).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery_metrics.h"
#include "dns.h"
#include "log.h"
#include "metrics_http.h"
#include "prom.h"
#include "server_internal.h"
#include "spool_format.h"
#include "str.h"

static const char *const caps[] = {"smtp_doors", "door", "server", "client"};

int
server_metrics_start(struct server *srv)
{
	const struct config_hostport *hp = &srv->cfg.metrics;
	if (hp->host[0] == '\0')
		return 0;
	prom_enable();
	struct server_metrics *m = &srv->metrics;
	char labels[400], err[400];
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct listener *l = &srv->listeners[i];
		snprintf(labels, sizeof labels, "door=\"%s\",service=\"%s\"", l->name,
			 l->policy->name);
		l->connections = prom_counter("mailport_connections_total",
					      "Connections accepted, per door", labels);
	}
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		snprintf(labels, sizeof labels, "cap=\"%s\"", caps[i]);
		m->refused[i] = prom_counter("mailport_sessions_refused_total",
					     "Connections refused at once, by the cap that refused "
					     "them (see max-connections)",
					     labels);
	}
	m->auth_ok = prom_counter("mailport_auth_total", "SMTP AUTH attempts by result",
				  "result=\"success\"");
	m->auth_failed = prom_counter("mailport_auth_total", "SMTP AUTH attempts by result",
				      "result=\"failure\"");
	m->accepted = prom_counter("mailport_messages_accepted_total",
				   "Messages queued (a 250 to the end of data)", "");
	m->bytes = prom_counter("mailport_message_bytes_total",
				"Bytes of the messages queued, as the clients sent them", "");
	static const char *const versions[] = {"TLSv1.2", "TLSv1.3", "other"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(labels, sizeof labels, "version=\"%s\"", versions[i]);
		m->tls[i] = prom_counter("mailport_tls_handshakes_total",
					 "TLS handshakes completed with clients (STARTTLS and "
					 "implicit TLS), by protocol version",
					 labels);
	}
	prom_gauge_fn("mailport_queue_messages", "Messages in the queue (not yet fully delivered)",
		      "", server_metrics_queue_size, srv);
	prom_gauge_fn("mailport_queue_oldest_age_seconds",
		      "Age of the oldest message in the queue (0 when it is empty)", "",
		      server_metrics_queue_age, srv);
	delivery_metrics_register();
	dns_metrics_register();
	m->http = metrics_http_start(srv->base, hp->host, hp->port, err, sizeof err);
	if (m->http == NULL) {
		fprintf(stderr,
			"mailport: %s\n  fix: pick a free port in the metrics line of %s (or stop "
			"what listens there)\n",
			err, srv->config_path);
		return -1;
	}
	log_info("event=metrics_listening address=%s:%u path=/metrics", hp->host,
		 (unsigned)hp->port);
	return 0;
}

void
server_metrics_stop(struct server *srv)
{
	metrics_http_stop(&srv->metrics.http);
}

/* Count the queue's messages and find the oldest arrival, from the names. */
static void
queue_scan(const struct server *srv, size_t *count, long long *oldest)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/queue", srv->cfg.spool_dir);
	*count = 0;
	*oldest = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!spool_id_valid(de->d_name))
			continue; /* .state and .retry files, tmp names */
		char head[9];
		memcpy(head, de->d_name, 8);
		head[8] = '\0';
		long long t = strtoll(head, NULL, 16);
		if (*count == 0 || t < *oldest)
			*oldest = t;
		(*count)++;
	}
	closedir(d);
}

double
server_metrics_queue_size(void *arg)
{
	size_t n;
	long long oldest;
	queue_scan(arg, &n, &oldest);
	return (double)n;
}

double
server_metrics_queue_age(void *arg)
{
	size_t n;
	long long oldest;
	queue_scan(arg, &n, &oldest);
	long long age = n ? (long long)time(NULL) - oldest : 0;
	return age > 0 ? (double)age : 0;
}

void
server_metrics_refused(struct server *srv, const char *cap)
{
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
		if (strcmp(cap, caps[i]) == 0)
			prom_inc(srv->metrics.refused[i]);
}

void
server_metrics_tls(struct server *srv, const char *version)
{
	size_t i = strcmp(version, "TLSv1.2") == 0 ? 0 : strcmp(version, "TLSv1.3") == 0 ? 1 : 2;
	prom_inc(srv->metrics.tls[i]);
}
