/*
 * notify: sd_notify's datagram to $NOTIFY_SOCKET (see the header).
 *
 * The address is sent with every message instead of connect()ing once,
 * as libsystemd does: systemd re-creates its socket when it re-executes,
 * and a connected socket would keep pointing at the old one.
 */
#include "notify.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "elapsed.h"
#include "log.h"
#include "xmalloc.h"

struct notify {
	int fd; /* -1: the name was unusable, send nothing */
	struct sockaddr_un addr;
	socklen_t addr_len;
	bool failed_once; /* a send failed and was logged */
};

/* The address in name, a path or '@' and an abstract name. */
static bool
notify_address(struct notify *n, const char *name)
{
	size_t len = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || len < 2 || len > sizeof n->addr.sun_path)
		return false;
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, name, len);
	if (name[0] == '@')
		n->addr.sun_path[0] = '\0'; /* Linux: an abstract name, its length counted */
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	return true;
}

struct notify *
notify_open(void)
{
	const char *env = getenv("NOTIFY_SOCKET");
	if (env == NULL || env[0] == '\0')
		return NULL;
	struct notify *n = xcalloc(1, sizeof *n);
	n->fd = -1;
	if (!notify_address(n, env)) {
		log_warn(
		    "event=notify_error socket=\"%s\" what=\"NOTIFY_SOCKET is neither an "
		    "absolute path nor an abstract name (@name) of at most %zu bytes\" "
		    "fix=\"start mailport from systemd (Type=notify), or unset NOTIFY_SOCKET\"",
		    env, sizeof n->addr.sun_path);
	} else if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("event=notify_error what=\"cannot make a unix socket: %s\" "
			 "fix=\"check the process's open-file limit\"",
			 strerror(errno));
	}
	unsetenv("NOTIFY_SOCKET");
	return n;
}

void
notify_free(struct notify **np)
{
	struct notify *n = *np;
	if (n == NULL)
		return;
	if (n->fd >= 0)
		close(n->fd);
	free(n);
	*np = NULL;
}

void
notify_send(struct notify *n, const char *state)
{
	if (n == NULL || n->fd < 0)
		return;
	/* One datagram; MSG_NOSIGNAL: a gone manager is an error, not a SIGPIPE. */
	ssize_t r;
	do
		r = sendto(n->fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&n->addr,
			   n->addr_len);
	while (r < 0 && errno == EINTR);
	if (r >= 0 || n->failed_once)
		return;
	n->failed_once = true;
	char name[sizeof n->addr.sun_path + 1];
	size_t len = n->addr_len - offsetof(struct sockaddr_un, sun_path);
	memcpy(name, n->addr.sun_path, len);
	name[len] = '\0';
	if (name[0] == '\0')
		name[0] = '@';
	log_warn("event=notify_error socket=%s error=\"%s\" what=\"cannot tell the service "
		 "manager our state\" fix=\"if systemd runs mailport, check NotifyAccess=main "
		 "and that the unit does not hide the socket (e.g. by PrivateNetwork= for an "
		 "abstract one); else unset NOTIFY_SOCKET\"",
		 name, strerror(errno));
}

void
notify_reloading(struct notify *n)
{
	char state[64];
	if (n == NULL)
		return;
	snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%lld", elapsed_now_us());
	notify_send(n, state);
}
