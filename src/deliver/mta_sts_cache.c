/*
 * mta_sts_cache: MTA-STS discovery, fetch and the on-disk cache (see the
 * header for the rules and the layout). The disk is the only copy: a policy
 * file is small and read once per delivery to its domain, which keeps the
 * threads from sharing anything but the list of recent fetch failures.
 */
#include "mta_sts_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dns.h"
#include "https_get.h"
#include "mta_sts_fetch.h"
#include "log.h"
#include "str.h"
#include "tls_policy.h"
#include "xmalloc.h"

#define FAIL_SLOTS 32
#define FAIL_HOLD 300 /* seconds before a failed fetch of the same domain and id is retried */

struct fetch_failure {
	char domain[256];
	char id[33];
	int64_t at;
	char why[300];
};

struct mta_sts_cache {
	char dir[4200];
	char *cafile;
	long timeout_ms;
	size_t max_bytes;
	pthread_mutex_t lock; /* guards failures */
	struct fetch_failure failures[FAIL_SLOTS];
	size_t next_failure;
};

struct mta_sts_cache *
mta_sts_cache_open(const char *spool_dir, const char *cafile)
{
	char why[256];
	if (https_get_global_init(why, sizeof why) < 0) {
		log_err("event=mta_sts_failed reason=\"%s\"", why);
		return NULL;
	}
	struct mta_sts_cache *c = xcalloc(1, sizeof *c);
	snprintf(c->dir, sizeof c->dir, "%s/mta-sts", spool_dir);
	if (mkdir(c->dir, 0700) < 0 && errno != EEXIST) {
		log_err("event=mta_sts_failed reason=\"cannot make %s: %s\" fix=\"make the spool "
			"directory writable by mailport's user\"",
			c->dir, strerror(errno));
		free(c);
		return NULL;
	}
	c->cafile = xstrdup(cafile ? cafile : "");
	c->timeout_ms = 10000;
	c->max_bytes = MTA_STS_POLICY_MAX;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
mta_sts_cache_set_limits(struct mta_sts_cache *c, long timeout_ms, size_t max_bytes)
{
	c->timeout_ms = timeout_ms;
	c->max_bytes = max_bytes;
}

void
mta_sts_cache_close(struct mta_sts_cache **cp)
{
	struct mta_sts_cache *c = *cp;
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->cafile);
	free(c);
	*cp = NULL;
}

/* domain in lower case, no trailing dot, checked to be a DNS name (it names a file). */
static bool
policy_domain(const char *domain, char *out, size_t size)
{
	if (!str_copy(out, size, domain))
		return false;
	str_lower(out);
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == '.')
		out[n - 1] = '\0';
	return str_is_dns_name(out) && out[0] != '.';
}

/* The cached policy of domain: 0 and *p, -1 none or unreadable (logged when damaged). */
static int
cache_load(struct mta_sts_cache *c, const char *domain, struct mta_sts_policy *p)
{
	char path[4600], why[300];
	snprintf(path, sizeof path, "%s/%s", c->dir, domain);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct buf b;
	buf_init(&b, MTA_STS_POLICY_MAX + 512);
	char chunk[8192];
	ssize_t r;
	bool ok = true;
	while (ok && (r = read(fd, chunk, sizeof chunk)) > 0)
		ok = buf_append(&b, chunk, (size_t)r);
	close(fd);
	int rc = ok ? mta_sts_cache_file_parse(b.data, b.len, p, why, sizeof why) : -1;
	if (rc < 0)
		log_warn("event=mta_sts_cache domain=%s reason=\"%s: %s\" fix=\"none needed: the "
			 "policy is fetched again\"",
			 domain, path, ok ? why : "too large");
	buf_free(&b);
	return rc;
}

/* Store the policy text as fetched under id; logged on failure (the policy still applies). */
static void
cache_store(struct mta_sts_cache *c, const char *domain, const char *id, int64_t now,
	    const struct buf *body)
{
	char path[4600], tmp[4700];
	size_t size = body->len + 256;
	char *file = xmalloc(size);
	int len = mta_sts_cache_file_format(id, now, body->data, body->len, file, size);
	snprintf(path, sizeof path, "%s/%s", c->dir, domain);
	snprintf(tmp, sizeof tmp, "%s/.%s.%ld.%lx", c->dir, domain, (long)getpid(),
		 (unsigned long)pthread_self());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && len >= 0 && write(fd, file, (size_t)len) == len && fsync(fd) == 0;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	if (ok && rename(tmp, path) < 0)
		ok = false;
	if (!ok) {
		log_warn("event=mta_sts_cache domain=%s reason=\"cannot write %s: %s\" "
			 "fix=\"free space in the spool or make it writable; the policy is fetched "
			 "again until then\"",
			 domain, path, strerror(errno));
		unlink(tmp);
	}
	free(file);
}

/* The recent failure of domain+id, into why; false when there is none. */
static bool
recent_failure(struct mta_sts_cache *c, const char *domain, const char *id, int64_t now, char *why,
	       size_t n)
{
	bool found = false;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < FAIL_SLOTS && !found; i++) {
		struct fetch_failure *f = &c->failures[i];
		if (f->at != 0 && now - f->at < FAIL_HOLD && now >= f->at &&
		    strcmp(f->domain, domain) == 0 && strcmp(f->id, id) == 0) {
			snprintf(why, n, "%s (at most one fetch every %d s)", f->why, FAIL_HOLD);
			found = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

static void
note_failure(struct mta_sts_cache *c, const char *domain, const char *id, int64_t now,
	     const char *why)
{
	pthread_mutex_lock(&c->lock);
	struct fetch_failure *f = &c->failures[c->next_failure++ % FAIL_SLOTS];
	str_copy(f->domain, sizeof f->domain, domain);
	str_copy(f->id, sizeof f->id, id);
	str_copy(f->why, sizeof f->why, why);
	f->at = now;
	pthread_mutex_unlock(&c->lock);
}

/*
 * The _mta-sts TXT record's id: 1 and id, 0 no (valid, single) record, -1 a
 * DNS failure; why says which.
 */
static int
discover(struct dns *dns, const char *domain, char *id, size_t size, char *why, size_t n)
{
	char name[300];
	struct ma_dns_answer a = {0};
	snprintf(name, sizeof name, "_mta-sts.%s", domain);
	enum ma_dns_rc rc = dns_lookup(dns, MA_RR_TXT, name, dns_now_ms() + 10000, &a);
	int out = 0;
	if (rc == MA_DNS_TEMPFAIL) {
		snprintf(why, n, "sts-policy-fetch-error: the TXT lookup of %s failed (%s)", name,
			 ma_dns_rc_name(rc));
		out = -1;
	} else if (rc == MA_DNS_OK) {
		/* RFC 8461 3.1: records not starting with v=STSv1 are not ours; two are none. */
		size_t found = 0;
		char pick[64] = "", w[200];
		for (size_t i = 0; i < a.n; i++)
			if (strncmp(a.rr[i], "v=STSv1", 7) == 0 && strchr(" \t;", a.rr[i][7]) &&
			    found++ == 0 &&
			    mta_sts_record_parse(a.rr[i], pick, sizeof pick, w, sizeof w) < 0)
				pick[0] = '\0';
		if (found == 1 && pick[0] != '\0') {
			str_copy(id, size, pick);
			out = 1;
		} else if (found > 1) {
			snprintf(why, n, "sts-policy-invalid: %zu v=STSv1 records at %s", found,
				 name);
		} else if (found == 1) {
			snprintf(why, n, "sts-policy-invalid: the record at %s: %s", name, w);
		}
	}
	ma_dns_answer_free(&a);
	return out;
}

/* Resolve mta-sts.DOMAIN through our resolver and fetch; 0, or -1 with why. */
static int
fetch(struct mta_sts_cache *c, struct dns *dns, const char *domain, struct mta_sts_policy *p,
      struct buf *body, char *why, size_t n)
{
	char host[300], addrs[DNS_MAX_ADDRS][64], w[512];
	size_t naddrs = DNS_MAX_ADDRS;
	snprintf(host, sizeof host, "mta-sts.%s", domain);
	enum dns_status st = dns_addrs(dns, host, addrs, &naddrs);
	if (st != DNS_OK) {
		snprintf(why, n, "sts-policy-fetch-error: %s has no address (%s)", host,
			 dns_status_name(st));
		return -1;
	}
	struct mta_sts_fetch_opts o = {c->cafile, c->timeout_ms, c->max_bytes};
	enum mta_sts_fetch_rc rc =
	    mta_sts_fetch(domain, (const char(*)[64])addrs, naddrs, &o, p, body, w, sizeof w);
	if (rc != STS_FETCH_OK) {
		snprintf(why, n, "%s: %s", mta_sts_fetch_result_type(rc), w);
		return -1;
	}
	return 0;
}

static bool
is_fresh(const struct mta_sts_policy *p, int64_t now)
{
	return now < p->fetched + p->max_age;
}

int
mta_sts_cache_get(struct mta_sts_cache *c, struct dns *dns, const char *domain, int64_t now,
		  struct mta_sts_policy *p, char *why, size_t n)
{
	char d[256], id[64];
	struct mta_sts_policy cached;
	why[0] = '\0';
	if (!policy_domain(domain, d, sizeof d)) {
		snprintf(why, n, "sts-policy-invalid: \"%.100s\" is not a domain name", domain);
		return -1;
	}
	bool have = cache_load(c, d, &cached) == 0 && is_fresh(&cached, now);
	int found = discover(dns, d, id, sizeof id, why, n);
	if (found <= 0 || (have && strcmp(cached.id, id) == 0)) {
		if (have) {
			*p = cached;
			return 1;
		}
		return found;
	}
	/* A new id, or nothing cached (or expired): fetch. */
	if (recent_failure(c, d, id, now, why, n)) {
		if (have) {
			*p = cached;
			return 1;
		}
		return -1;
	}
	struct buf body;
	buf_init(&body, c->max_bytes);
	struct mta_sts_policy fresh;
	int rc = fetch(c, dns, d, &fresh, &body, why, n);
	if (rc == 0) {
		cache_store(c, d, id, now, &body);
		str_copy(fresh.id, sizeof fresh.id, id);
		fresh.fetched = now;
		*p = fresh;
		log_info("event=mta_sts_policy domain=%s id=%s mode=%s max_age=%ld mx=%zu", d, id,
			 mta_sts_mode_name(fresh.mode), fresh.max_age, fresh.nmx);
	} else {
		note_failure(c, d, id, now, why);
		char esc[800];
		log_warn("event=mta_sts_fetch_failed domain=%s id=%s reason=\"%s\" cached=%s "
			 "fix=\"nothing to do here: the domain's owner fixes what the reason says "
			 "(mailport probe %s --domain-check shows it); tried again in %d s\"",
			 d, id, str_escape(esc, sizeof esc, why, strlen(why)),
			 have ? "kept" : "none", d, FAIL_HOLD);
		if (have)
			*p = cached; /* RFC 8461 5.1: a failed refresh keeps the cached policy */
	}
	buf_free(&body);
	return rc == 0 || have ? 1 : -1;
}
