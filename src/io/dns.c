/*
 * dns: MX and address lookups with c-ares (see the header).
 *
 * One channel per struct dns; each query runs c-ares' own event loop with
 * poll(2) until the answer or the deadline, so a lookup never takes
 * longer than the timeout whatever the network does. poll, not select:
 * a busy server's descriptors pass 1024, where an fd_set ends.
 */
#include "dns.h"
#include "prom.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <ares.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <poll.h>
#include <time.h>

#include "buf.h"
#include "dns_wire.h"
#include "elapsed.h"
#include "str.h"
#include "xmalloc.h"

#ifndef T_MX
#define T_MX 15
#endif
#define C_IN_CLASS 1
#define T_A_TYPE 1
#define T_AAAA_TYPE 28

struct dns {
	ares_channel channel;
	int timeout_ms;
};

struct answer {
	bool done;
	int status;
	unsigned char *buf;
	int len;
};

static pthread_once_t dns_once = PTHREAD_ONCE_INIT;

static void
dns_library_init(void)
{
	ares_library_init(ARES_LIB_INIT_ALL);
}

struct dns *
dns_new(const char *resolver, int timeout_ms, char *err, size_t err_size)
{
	pthread_once(&dns_once, dns_library_init);
	struct dns *d = xcalloc(1, sizeof *d);
	/* STAYOPEN: the channel keeps its socket between queries (c-ares would
	 * open, connect and close one per query: seven system calls each). */
	struct ares_options opts = {.timeout = timeout_ms / 2 > 0 ? timeout_ms / 2 : 1,
				    .tries = 2,
				    .flags = ARES_FLAG_STAYOPEN};
	int rc = ares_init_options(&d->channel, &opts,
				   ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
	if (rc == ARES_SUCCESS && resolver && resolver[0])
		rc = ares_set_servers_ports_csv(d->channel, resolver);
	if (rc != ARES_SUCCESS) {
		snprintf(err, err_size, "cannot set up DNS (resolver %s): %s",
			 resolver && resolver[0] ? resolver : "from /etc/resolv.conf",
			 ares_strerror(rc));
		if (d->channel)
			ares_destroy(d->channel);
		free(d);
		return NULL;
	}
	d->timeout_ms = timeout_ms;
	return d;
}

void
dns_free(struct dns **dp)
{
	if (*dp == NULL)
		return;
	ares_destroy((*dp)->channel);
	free(*dp);
	*dp = NULL;
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct answer *a = arg;
	(void)timeouts;
	a->done = true;
	a->status = status;
	if (status == ARES_SUCCESS && abuf && alen > 0) {
		a->buf = xmalloc((size_t)alen);
		memcpy(a->buf, abuf, (size_t)alen);
		a->len = alen;
	}
}

/* The channel's sockets as pollfds; returns how many. */
static nfds_t
channel_pollfds(ares_channel channel, struct pollfd *pfd)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	/* c-ares' own bit macros shift a signed 1 into the sign bit (UB). */
	unsigned bits = (unsigned)ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
	nfds_t n = 0;
	for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		short ev = (short)((bits & (1u << i) ? POLLIN : 0) |
				   (bits & (1u << (i + ARES_GETSOCK_MAXNUM)) ? POLLOUT : 0));
		if (ev == 0)
			continue;
		pfd[n].fd = socks[i];
		pfd[n].events = ev;
		pfd[n++].revents = 0;
	}
	return n;
}

/* Run the channel until a (the query's answer) is done or the deadline. */
static void
run_until(struct dns *d, long long deadline, struct answer *a)
{
	while (!a->done) {
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		nfds_t n = channel_pollfds(d->channel, pfd);
		long long left = deadline - elapsed_now_ms();
		if (n == 0 || left <= 0)
			break;
		struct timeval max = {left / 1000, (left % 1000) * 1000}, tv;
		struct timeval *tvp = ares_timeout(d->channel, &max, &tv);
		int wait_ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		if (poll(pfd, n, wait_ms) <= 0) {
			ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue; /* c-ares handles its own timeouts and retries */
		}
		for (nfds_t i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			bool rd = pfd[i].revents & (POLLIN | POLLERR | POLLHUP);
			bool wr = pfd[i].revents & (POLLOUT | POLLERR | POLLHUP);
			ares_process_fd(d->channel, rd ? pfd[i].fd : ARES_SOCKET_BAD,
					wr ? pfd[i].fd : ARES_SOCKET_BAD);
		}
	}
	if (!a->done) {
		ares_cancel(d->channel); /* runs on_answer with ARES_ECANCELLED */
		a->status = ARES_ETIMEOUT;
	}
}

/* One query, run to completion or the deadline. */
static void
query_until(struct dns *d, const char *name, int type, long long deadline, struct answer *a)
{
	memset(a, 0, sizeof *a);
	ares_query(d->channel, name, C_IN_CLASS, type, on_answer, a);
	run_until(d, deadline, a);
}

/*
 * The same with the AD bit set in the query, which asks the resolver to
 * say in its answer whether it validated the data (RFC 6840 5.7), and
 * EDNS0 for answers over 512 octets; no DO bit, so no signatures come
 * back: we trust the validating resolver, we do not validate ourselves.
 * The raw answer is kept whatever its rcode: the caller reads the header.
 */
static void
query_ad_until(struct dns *d, const char *name, int type, long long deadline, struct answer *a)
{
	unsigned char *q = NULL;
	int qlen = 0;
	memset(a, 0, sizeof *a);
	if (ares_create_query(name, C_IN_CLASS, type, 0, 1, &q, &qlen, 1232) != ARES_SUCCESS) {
		a->done = true;
		a->status = ARES_EBADNAME;
		return;
	}
	q[3] |= 0x20; /* AD */
	ares_send(d->channel, q, qlen, on_answer, a);
	ares_free_string(q);
	run_until(d, deadline, a);
}

/*
 * The status of an AD query's answer from its header (c-ares hands
 * NXDOMAIN and an empty NOERROR over as a success); *ad_r: the resolver's
 * AD bit. SERVFAIL — what a validating resolver answers for bogus data —
 * never comes here with a header: c-ares reports ARES_ESERVFAIL.
 */
static void count_error(int ares_status);

static enum dns_status
ad_status(const struct answer *a, bool *ad_r)
{
	struct dns_wire_header h;
	*ad_r = false;
	if (a->status != ARES_SUCCESS) {
		count_error(a->status);
		return DNS_TEMPFAIL;
	}
	if (dns_wire_header((const uint8_t *)a->buf, (size_t)a->len, &h) < 0) {
		count_error(ARES_EBADRESP);
		return DNS_TEMPFAIL;
	}
	*ad_r = h.ad;
	if (h.rcode == DNS_RCODE_NXDOMAIN)
		return DNS_NXDOMAIN;
	if (h.rcode != DNS_RCODE_NOERROR) { /* 2 SERVFAIL, 5 REFUSED (RFC 1035 4.1.1) */
		count_error(h.rcode == 2   ? ARES_ESERVFAIL
			    : h.rcode == 5 ? ARES_EREFUSED
					   : ARES_EBADRESP);
		return DNS_TEMPFAIL;
	}
	return h.ancount ? DNS_OK : DNS_NODATA;
}

static void
query(struct dns *d, const char *name, int type, struct answer *a)
{
	query_until(d, name, type, elapsed_now_ms() + d->timeout_ms, a);
}

/* The metrics' DNS errors, by what went wrong (registered once, when metrics are on). */
static struct prom_counter *dns_errors[4];
static pthread_once_t dns_errors_once = PTHREAD_ONCE_INIT;

static void
dns_errors_register(void)
{
	static const char *const kinds[] = {"timeout", "servfail", "refused", "other"};
	for (size_t i = 0; i < 4; i++) {
		char labels[32];
		snprintf(labels, sizeof labels, "error=\"%s\"", kinds[i]);
		dns_errors[i] = prom_counter("mailport_dns_errors_total",
					     "DNS lookups that failed for a reason other than the "
					     "name or the record not existing",
					     labels);
	}
}

void
dns_metrics_register(void)
{
	pthread_once(&dns_errors_once, dns_errors_register);
}

static void
count_error(int ares_status)
{
	dns_metrics_register();
	size_t i = ares_status == ARES_ETIMEOUT					      ? 0
		   : ares_status == ARES_ESERVFAIL				      ? 1
		   : ares_status == ARES_EREFUSED || ares_status == ARES_ECONNREFUSED ? 2
										      : 3;
	prom_inc(dns_errors[i]);
}

static enum dns_status
status_of(int ares_status)
{
	switch (ares_status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_ENODATA:
		return DNS_NODATA;
	default:
		count_error(ares_status);
		return DNS_TEMPFAIL;
	}
}

static int
by_pref(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;
	return (int)x->pref - (int)y->pref;
}

/* The MX hosts of an answer, shuffled within a preference and sorted. */
static enum dns_status
mx_of(const struct answer *a, enum dns_status st, struct dns_mx *mx, size_t *n_r)
{
	*n_r = 0;
	struct ares_mx_reply *list = NULL;
	if (st == DNS_OK && ares_parse_mx_reply(a->buf, a->len, &list) != ARES_SUCCESS)
		st = DNS_NODATA;
	for (struct ares_mx_reply *m = list; m && *n_r < DNS_MAX_MX; m = m->next) {
		/* RFC 7505: a single "MX 0 ." says the domain takes no mail. */
		if (m->host[0] == '\0' || strcmp(m->host, ".") == 0) {
			ares_free_data(list);
			*n_r = 0;
			return DNS_NULL_MX;
		}
		str_copy(mx[*n_r].host, sizeof mx[*n_r].host, m->host);
		mx[(*n_r)++].pref = m->priority;
	}
	if (list)
		ares_free_data(list);
	if (st == DNS_OK && *n_r == 0)
		return DNS_NODATA;
	/* Equal preferences in random order (RFC 5321 5.1), then sorted by preference. */
	for (size_t i = *n_r; i > 1; i--) {
		unsigned r;
		if (getrandom(&r, sizeof r, 0) != sizeof r)
			r = (unsigned)i;
		size_t j = r % i;
		struct dns_mx t = mx[i - 1];
		mx[i - 1] = mx[j];
		mx[j] = t;
	}
	qsort(mx, *n_r, sizeof *mx, by_pref);
	return st;
}

enum dns_status
dns_mx(struct dns *d, const char *domain, struct dns_mx *mx, size_t *n_r)
{
	struct answer a;
	query(d, domain, T_MX, &a);
	enum dns_status st = mx_of(&a, status_of(a.status), mx, n_r);
	free(a.buf);
	return st;
}

enum dns_status
dns_mx_ad(struct dns *d, const char *domain, struct dns_mx *mx, size_t *n_r, bool *secure_r)
{
	struct answer a;
	query_ad_until(d, domain, T_MX, elapsed_now_ms() + d->timeout_ms, &a);
	enum dns_status st = mx_of(&a, ad_status(&a, secure_r), mx, n_r);
	free(a.buf);
	return st;
}

static void
add_addrs(struct answer *a, int type, char addrs[][64], size_t *n)
{
	if (type == T_A_TYPE) {
		struct ares_addrttl v4[DNS_MAX_ADDRS];
		int count = DNS_MAX_ADDRS;
		if (ares_parse_a_reply(a->buf, a->len, NULL, v4, &count) != ARES_SUCCESS)
			return;
		for (int i = 0; i < count && *n < DNS_MAX_ADDRS; i++)
			inet_ntop(AF_INET, &v4[i].ipaddr, addrs[(*n)++], 64);
	} else {
		struct ares_addr6ttl v6[DNS_MAX_ADDRS];
		int count = DNS_MAX_ADDRS;
		if (ares_parse_aaaa_reply(a->buf, a->len, NULL, v6, &count) != ARES_SUCCESS)
			return;
		for (int i = 0; i < count && *n < DNS_MAX_ADDRS; i++)
			inet_ntop(AF_INET6, &v6[i].ip6addr, addrs[(*n)++], 64);
	}
}

/*
 * The A and AAAA records of host (an address literal is its own). With
 * dnssec_r, AD is asked for and *dnssec_r says 1 when both answers were
 * authenticated, 0 when not, -1 when one failed: a failed answer of two
 * (SERVFAIL: bogus?) must not pass for "insecure".
 */
static enum dns_status
addrs_of(struct dns *d, const char *host, char addrs[][64], size_t *n_r, int *dnssec_r)
{
	struct answer a;
	enum dns_status first = DNS_NODATA;
	bool all_ad = true, failed = false, ad = false;
	*n_r = 0;
	if (dnssec_r)
		*dnssec_r = 0;
	unsigned char tmp[16];
	if (inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1) {
		str_copy(addrs[0], 64, host); /* a literal: nothing to look up or authenticate */
		*n_r = 1;
		return DNS_OK;
	}
	const int types[] = {T_A_TYPE, T_AAAA_TYPE};
	for (size_t t = 0; t < 2; t++) {
		enum dns_status st;
		if (dnssec_r) {
			query_ad_until(d, host, types[t], elapsed_now_ms() + d->timeout_ms, &a);
			st = ad_status(&a, &ad);
		} else {
			query(d, host, types[t], &a);
			st = status_of(a.status);
		}
		if (st == DNS_OK)
			add_addrs(&a, types[t], addrs, n_r);
		free(a.buf);
		all_ad = all_ad && ad;
		failed = failed || st == DNS_TEMPFAIL;
		if (t == 0)
			first = st;
		else if (first != DNS_OK && st != DNS_NODATA)
			first = st;
	}
	if (dnssec_r)
		*dnssec_r = failed ? -1 : all_ad ? 1 : 0;
	if (*n_r > 0)
		return DNS_OK;
	return first == DNS_OK ? DNS_NODATA : first;
}

enum dns_status
dns_addrs(struct dns *d, const char *host, char addrs[][64], size_t *n_r)
{
	return addrs_of(d, host, addrs, n_r, NULL);
}

enum dns_status
dns_addrs_ad(struct dns *d, const char *host, char addrs[][64], size_t *n_r, int *dnssec_r)
{
	return addrs_of(d, host, addrs, n_r, dnssec_r);
}

enum dns_status
dns_tlsa(struct dns *d, const char *host, unsigned short port, struct dns_tlsa *out, size_t max,
	 size_t *n_r, bool *secure_r, char *why, size_t why_size)
{
	char name[300];
	struct answer a;
	size_t total;
	*n_r = 0;
	why[0] = '\0';
	/* RFC 6698 3: _port._tcp.host; RFC 7672 2.2.3: the MX host's own name. */
	snprintf(name, sizeof name, "_%u._tcp.%s", port, host);
	query_ad_until(d, name, DNS_TYPE_TLSA, elapsed_now_ms() + d->timeout_ms, &a);
	enum dns_status st = ad_status(&a, secure_r);
	/* c-ares reports a SERVFAIL as a server it could not use (ECONNREFUSED
	 * after the retries): the words say what it means here. */
	if (st == DNS_TEMPFAIL)
		snprintf(why, why_size, "the TLSA lookup of %s failed (%s)", name,
			 a.status == ARES_ETIMEOUT ? "no answer in time"
						   : "SERVFAIL or an error answer");
	if (st == DNS_OK && dns_wire_tlsa((const uint8_t *)a.buf, (size_t)a.len, out, max, n_r,
					  &total, why, why_size) < 0) {
		char what[200];
		str_copy(what, sizeof what, why);
		snprintf(why, why_size, "the TLSA answer for %s is malformed: %s", name, what);
		st = DNS_TEMPFAIL;
		*n_r = 0;
	}
	free(a.buf);
	if (st == DNS_OK && total == 0)
		st = DNS_NODATA; /* a CNAME without TLSA at its end */
	return st;
}

/* ---- any record type, for the mail-authentication checks ---- */

static void
add_txt(const struct answer *a, struct ma_dns_answer *out)
{
	struct ares_txt_ext *list = NULL;
	if (ares_parse_txt_reply_ext(a->buf, a->len, &list) != ARES_SUCCESS)
		return;
	struct buf rec;
	buf_init(&rec, 0);
	bool open = false;
	for (struct ares_txt_ext *t = list;; t = t->next) {
		/* A record is its strings joined (RFC 7208 3.3); record_start marks the next. */
		if (open && (t == NULL || t->record_start)) {
			ma_dns_answer_add(out, rec.data ? rec.data : "", 0);
			buf_reset(&rec);
			open = false;
		}
		if (t == NULL)
			break;
		open = true;
		size_t from = rec.len;
		buf_append(&rec, t->txt, t->length);
		/* A NUL would cut the text short, maybe into a valid record: DEL
		 * keeps it whole and still invalid in every syntax that reads it. */
		for (size_t i = from; i < rec.len; i++)
			if (rec.data[i] == '\0')
				rec.data[i] = 0x7f;
	}
	buf_free(&rec);
	ares_free_data(list);
}

static bool
answer_has(const struct ma_dns_answer *a, const char *rr)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcasecmp(a->rr[i], rr) == 0)
			return true;
	return false;
}

static void
add_rrs(const struct answer *a, enum ma_rr type, struct ma_dns_answer *out)
{
	char text[INET6_ADDRSTRLEN];
	if (type == MA_RR_A) {
		struct ares_addrttl v4[64];
		int count = 64;
		if (ares_parse_a_reply(a->buf, a->len, NULL, v4, &count) == ARES_SUCCESS)
			for (int i = 0; i < count; i++)
				ma_dns_answer_add(
				    out, inet_ntop(AF_INET, &v4[i].ipaddr, text, sizeof text), 0);
	} else if (type == MA_RR_AAAA) {
		struct ares_addr6ttl v6[64];
		int count = 64;
		if (ares_parse_aaaa_reply(a->buf, a->len, NULL, v6, &count) == ARES_SUCCESS)
			for (int i = 0; i < count; i++)
				ma_dns_answer_add(
				    out, inet_ntop(AF_INET6, &v6[i].ip6addr, text, sizeof text), 0);
	} else if (type == MA_RR_MX) {
		struct ares_mx_reply *list = NULL;
		if (ares_parse_mx_reply(a->buf, a->len, &list) == ARES_SUCCESS)
			for (struct ares_mx_reply *m = list; m; m = m->next)
				ma_dns_answer_add(out, m->host, m->priority);
		if (list)
			ares_free_data(list);
	} else if (type == MA_RR_PTR) {
		struct hostent *h = NULL;
		if (ares_parse_ptr_reply(a->buf, a->len, NULL, 0, AF_INET, &h) == ARES_SUCCESS) {
			/* c-ares gives the first name twice: as h_name and among the aliases. */
			ma_dns_answer_add(out, h->h_name, 0);
			for (char **al = h->h_aliases; al && *al; al++)
				if (!answer_has(out, *al))
					ma_dns_answer_add(out, *al, 0);
			ares_free_hostent(h);
		}
	} else {
		add_txt(a, out);
	}
}

enum ma_dns_rc
dns_lookup(struct dns *d, enum ma_rr type, const char *name, long long deadline_ms,
	   struct ma_dns_answer *out)
{
	static const int qtypes[] = {T_A_TYPE, T_AAAA_TYPE, T_MX, 16 /* TXT */, 12 /* PTR */};
	memset(out, 0, sizeof *out);
	if (deadline_ms <= elapsed_now_ms())
		return MA_DNS_TEMPFAIL;
	struct answer a;
	query_until(d, name, qtypes[type], deadline_ms, &a);
	enum dns_status st = status_of(a.status);
	if (st == DNS_OK)
		add_rrs(&a, type, out);
	free(a.buf);
	if (st == DNS_OK)
		return out->n > 0 ? MA_DNS_OK : MA_DNS_NODATA;
	return st == DNS_NXDOMAIN ? MA_DNS_NXDOMAIN
	       : st == DNS_NODATA ? MA_DNS_NODATA
				  : MA_DNS_TEMPFAIL;
}

enum ma_dns_rc
dns_lookup_ad(struct dns *d, enum ma_rr type, const char *name, long long deadline_ms,
	      struct ma_dns_answer *out, bool *ad_r)
{
	static const int qtypes[] = {T_A_TYPE, T_AAAA_TYPE, T_MX, 16 /* TXT */, 12 /* PTR */};
	memset(out, 0, sizeof *out);
	*ad_r = false;
	if (deadline_ms <= elapsed_now_ms())
		return MA_DNS_TEMPFAIL;
	struct answer a;
	query_ad_until(d, name, qtypes[type], deadline_ms, &a);
	enum dns_status st = ad_status(&a, ad_r);
	if (st == DNS_OK)
		add_rrs(&a, type, out);
	free(a.buf);
	if (st == DNS_OK)
		return out->n > 0 ? MA_DNS_OK : MA_DNS_NODATA;
	return st == DNS_NXDOMAIN ? MA_DNS_NXDOMAIN
	       : st == DNS_NODATA ? MA_DNS_NODATA
				  : MA_DNS_TEMPFAIL;
}

long long
dns_now_ms(void)
{
	return elapsed_now_ms();
}

const char *
dns_status_name(enum dns_status s)
{
	static const char *const names[] = {"ok", "nxdomain", "nodata", "null_mx", "tempfail"};
	return names[s];
}
