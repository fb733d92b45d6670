/*
 * session_caps: whether a new connection may be taken, and the refusal.
 *
 * Three caps, checked in this order so the log names the narrowest: the
 * door's (its listen line's max-connections, or the share of the server's
 * cap that the smtp doors have between them: config_door_cap), the whole
 * server's (max-connections) and the client's (max-connections-per-ip,
 * where an IPv6 client is its network: client_key). A door of its own means
 * a flood on port 25 leaves the submission doors reachable.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "session_internal.h"

/* Live sessions of the smtp doors that share the default pool (config_door_cap). */
static unsigned
smtp_pool_live(const struct server *srv)
{
	unsigned n = 0;
	bool shared;
	for (size_t i = 0; i < srv->nlisteners; i++)
		if (config_door_cap(&srv->cfg, &srv->listeners[i].conf, &shared) && shared)
			n += srv->listeners[i].live;
	return n;
}

bool
session_is_over_cap(const struct server *srv, const struct listener *l, unsigned from_client,
		    struct refusal *r_r)
{
	bool shared;
	unsigned door = config_door_cap(&srv->cfg, &l->conf, &shared);
	/* The door's own cap first: a flood on port 25 is reported as such. */
	if (door && (shared ? smtp_pool_live(srv) : l->live) >= door)
		*r_r = (struct refusal){R_TOO_MANY_CONN, shared ? "smtp_doors" : "door", door};
	else if (srv->nsessions >= srv->cfg.max_connections)
		*r_r = (struct refusal){R_TOO_MANY_CONN, "server", srv->cfg.max_connections};
	else if (from_client >= srv->cfg.max_connections_per_ip)
		*r_r =
		    (struct refusal){R_TOO_MANY_CONN_IP, "client", srv->cfg.max_connections_per_ip};
	else
		return false;
	return true;
}

void
session_refuse(struct listener *l, evutil_socket_t fd, const char *addr, const char *key,
	       const struct refusal *r)
{
	log_warn("event=refused client=%s key=%s door=%s service=%s cap=%s max=%u", addr, key,
		 l->name, l->policy->name, r->cap, r->max);
	server_metrics_refused(l->srv, r->cap);
	if (!l->policy->implicit_tls) {
		struct buf b;
		buf_init(&b, 512);
		reply_append(&b, r->reply);
		/* Best effort: the socket buffer of a new connection takes a short line. */
		if (send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("event=refused_reply_lost error=\"%s\"", strerror(errno));
		buf_free(&b);
	}
	close(fd);
}
