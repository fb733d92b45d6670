/*
 * https_get: one bounded HTTPS GET through libcurl (see the header). Each
 * call has its own easy handle: no state is shared between threads, and no
 * connection is reused across policy fetches (they are rare).
 */
#include "https_get.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "str.h"

int
https_get_global_init(char *why, size_t n)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(why, n, "libcurl would not start: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

const char *
https_get_rc_name(enum https_get_rc rc)
{
	switch (rc) {
	case HTTPS_OK:
		return "ok";
	case HTTPS_ERR_CONNECT:
		return "connect";
	case HTTPS_ERR_TLS:
		return "tls";
	case HTTPS_ERR_CERT:
		return "certificate";
	case HTTPS_ERR_TIMEOUT:
		return "timeout";
	case HTTPS_ERR_TOO_BIG:
		return "too-big";
	case HTTPS_ERR_STATUS:
		return "status";
	case HTTPS_ERR_TYPE:
		return "content-type";
	case HTTPS_ERR_OTHER:
		return "other";
	}
	return "other";
}

struct sink {
	struct buf *body;
	size_t max;
	bool too_big;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	if (s->body->len + n > s->max || !buf_append(s->body, p, n)) {
		s->too_big = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return n;
}

static enum https_get_rc
classify(CURLcode rc, bool too_big)
{
	if (too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return HTTPS_ERR_TOO_BIG;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return HTTPS_ERR_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return HTTPS_ERR_CONNECT;
	case CURLE_PEER_FAILED_VERIFICATION:
		return HTTPS_ERR_CERT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return HTTPS_ERR_TLS;
	default:
		return HTTPS_ERR_OTHER;
	}
}

/* "host:port:a,b" for CURLOPT_RESOLVE, IPv6 addresses in brackets. */
static bool
resolve_entry(const struct https_get_opts *o, unsigned short port, struct buf *b)
{
	bool ok = buf_printf(b, "%s:%u:", o->host, port);
	for (size_t i = 0; ok && i < o->naddrs; i++)
		ok = buf_printf(b, strchr(o->addrs[i], ':') ? "%s[%s]" : "%s%s", i ? "," : "",
				o->addrs[i]);
	return ok;
}

/* After a transfer that curl finished: the status and the type. */
static enum https_get_rc
check_response(CURL *h, const struct https_get_opts *o, char *why, size_t n)
{
	long status = 0;
	char *type = NULL;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
	if (status != 200) {
		char *loc = NULL;
		curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
		snprintf(why, n, "HTTP status %ld%s%.200s%s, not 200", status,
			 loc ? " (a redirect to " : "", loc ? loc : "",
			 loc ? ", which is not followed: RFC 8461 3.3)" : "");
		return HTTPS_ERR_STATUS;
	}
	if (o->content_type != NULL) {
		size_t tn = strlen(o->content_type);
		if (type == NULL || strncasecmp(type, o->content_type, tn) != 0 ||
		    (type[tn] != '\0' && type[tn] != ';' && type[tn] != ' ')) {
			char esc[120];
			snprintf(why, n, "Content-Type is %s, not %s",
				 type ? str_escape(esc, sizeof esc, type, strlen(type)) : "missing",
				 o->content_type);
			return HTTPS_ERR_TYPE;
		}
	}
	return HTTPS_OK;
}

/* The request's options: see the header for why each. */
static void
set_options(CURL *h, const struct https_get_opts *o, const char *url, struct curl_slist *resolve,
	    char *errbuf, struct sink *sink)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* RFC 8461 3.3: no redirects */
	curl_easy_setopt(h, CURLOPT_PROXY, "");		 /* never an environment's proxy */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);	 /* threads: no SIGALRM */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2); /* or later */
	if (o->cafile != NULL && o->cafile[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, o->cafile);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mailport");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
}

enum https_get_rc
https_get(const struct https_get_opts *o, struct buf *body, char *why, size_t n)
{
	unsigned short port = o->port ? o->port : 443;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink sink = {body, o->max_bytes, false};
	struct buf url, res;
	struct curl_slist *resolve = NULL;
	enum https_get_rc out = HTTPS_ERR_OTHER;
	buf_reset(body);
	why[0] = '\0';
	buf_init(&url, 2048);
	buf_init(&res, 4096);
	CURL *h = curl_easy_init();
	if (h == NULL) {
		snprintf(why, n, "libcurl could not make a handle (out of memory?)");
		goto out;
	}
	if (o->naddrs == 0) {
		snprintf(why, n, "%s has no address", o->host);
		out = HTTPS_ERR_CONNECT;
		goto out;
	}
	if (!buf_printf(&url, "https://%s:%u%s", o->host, port, o->path) ||
	    !resolve_entry(o, port, &res) ||
	    (resolve = curl_slist_append(NULL, res.data)) == NULL) {
		snprintf(why, n, "the URL or the addresses are too long");
		goto out;
	}
	set_options(h, o, url.data, resolve, errbuf, &sink);
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		out = classify(rc, sink.too_big);
		if (out == HTTPS_ERR_TOO_BIG)
			snprintf(why, n, "the body is larger than %zu bytes", o->max_bytes);
		else if (out == HTTPS_ERR_TIMEOUT)
			snprintf(why, n, "no complete answer within %ld ms (%s)", o->timeout_ms,
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		else
			snprintf(why, n, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	out = check_response(h, o, why, n);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(resolve);
	buf_free(&url);
	buf_free(&res);
	if (out != HTTPS_OK)
		buf_reset(body);
	return out;
}
