/* tlsrpt_daily: see tlsrpt_daily.h. */
#include "tlsrpt_daily.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "str.h"
#include "tlsrpt_store.h"
#include "xmalloc.h"

#define AFTER_MIDNIGHT 300 /* seconds: let the day's last deliveries finish */
#define RETRY_SECONDS 3600

struct tlsrpt_daily {
	struct tlsrpt_daily_config cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool kicked, stopping;
};

void
tlsrpt_daily_request_path(const char *spool_dir, char *out, size_t size)
{
	snprintf(out, size, "%s/tlsrpt/send-now", spool_dir);
}

void
tlsrpt_daily_today_path(const char *spool_dir, char *out, size_t size)
{
	snprintf(out, size, "%s/tlsrpt/include-today", spool_dir);
}

/* One run: every pending report; false when some must wait for the next. */
static bool
run(struct tlsrpt_daily *d)
{
	char err[600], resolver[300], today[4200];
	config_hostport_format(&d->cfg.resolver, resolver, sizeof resolver);
	struct dns *dns = dns_new(resolver, 5000, err, sizeof err);
	if (dns == NULL) {
		log_err("event=tlsrpt_failed reason=\"%s\"", err);
		return false;
	}
	err[0] = '\0';
	tlsrpt_daily_today_path(d->cfg.spool_dir, today, sizeof today);
	bool include_today = unlink(today) == 0;
	struct tlsrpt_send_opts o = {
	    .hostname = d->cfg.hostname,
	    .from = d->cfg.from,
	    .include_today = include_today,
	    .now = (int64_t)time(NULL),
	    .dns = dns,
	    .sp = d->cfg.sp,
	    .queued = d->cfg.queued,
	    .arg = d->cfg.arg,
	    .sign = d->cfg.sign,
	    .sign_arg = d->cfg.sign_arg,
	};
	int n = tlsrpt_store_send(d->cfg.store, &o, err, sizeof err);
	dns_free(&dns);
	log_info("event=tlsrpt_run queued=%d today=%s%s%s%s", n < 0 ? 0 : n,
		 include_today ? "yes" : "no", n < 0 || err[0] ? " reason=\"" : "",
		 n < 0 || err[0] ? err : "", n < 0 || err[0] ? "\"" : "");
	return n >= 0 && err[0] == '\0';
}

static void *
thread_main(void *arg)
{
	struct tlsrpt_daily *d = arg;
	time_t next = time(NULL); /* at start: days that ended while we were down */
	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		time_t now = time(NULL);
		if (!d->kicked && now < next) {
			struct timespec until = {.tv_sec = next};
			pthread_cond_timedwait(&d->cond, &d->lock, &until);
			continue;
		}
		d->kicked = false;
		pthread_mutex_unlock(&d->lock);
		bool done = run(d);
		now = time(NULL);
		time_t midnight = now - now % 86400 + 86400;
		next = done ? midnight + AFTER_MIDNIGHT : now + RETRY_SECONDS;
		if (next > midnight + AFTER_MIDNIGHT)
			next = midnight + AFTER_MIDNIGHT;
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct tlsrpt_daily *
tlsrpt_daily_start(const struct tlsrpt_daily_config *cfg)
{
	struct tlsrpt_daily *d = xcalloc(1, sizeof *d);
	d->cfg = *cfg;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_REALTIME); /* the wait is until a UTC time */
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&d->thread, NULL, thread_main, d);
	if (rc != 0) {
		log_err("event=tlsrpt_failed reason=\"cannot start the TLS report thread: %s\" "
			"fix=\"check the system's limit on threads (ulimit -u)\"",
			strerror(rc));
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	return d;
}

void
tlsrpt_daily_kick(struct tlsrpt_daily *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->kicked = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void
tlsrpt_daily_stop(struct tlsrpt_daily **dp)
{
	struct tlsrpt_daily *d = *dp;
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
	*dp = NULL;
}
