/*
 * tlsrpt_store: see tlsrpt_store.h for the files and their guarantees.
 * This file does the I/O: appending lines, reading a day back, asking DNS
 * for the rua, gzip (zlib) and queueing the mail through the spool.
 */
#include "tlsrpt_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "date.h"
#include "dns.h"
#include "log.h"
#include "smtp_addr.h"
#include "spool.h"
#include "str.h"
#include "tls_policy.h"
#include "tlsrpt.h"
#include "xmalloc.h"

#define DAY_SECONDS 86400
#define DAY_FILE_MAX (64u * 1024 * 1024) /* a day's lines beyond this are not read */
#define RUA_MAX 8			 /* mailto: addresses used per domain */

#define RECENT_POLICIES 32 /* policy texts remembered, not to write them per session */

struct tlsrpt_store {
	char dir[4096];
	bool warned; /* one log line for a failing disk, not one per delivery */
	pthread_mutex_t lock;
	uint64_t recent[RECENT_POLICIES]; /* hashes of (day, policy line) written */
	size_t next_recent;
};

struct tlsrpt_store *
tlsrpt_store_open(const char *spool_dir, char *err, size_t err_size)
{
	struct tlsrpt_store *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	int n = snprintf(s->dir, sizeof s->dir, "%s/tlsrpt", spool_dir);
	if (n < 0 || (size_t)n >= sizeof s->dir - 64) {
		snprintf(err, err_size, "the spool path is too long for %s/tlsrpt", spool_dir);
		free(s);
		return NULL;
	}
	if (mkdir(s->dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, err_size, "cannot make %s: %s; fix: check the spool's permissions",
			 s->dir, strerror(errno));
		free(s);
		return NULL;
	}
	return s;
}

void
tlsrpt_store_close(struct tlsrpt_store **sp)
{
	if (*sp)
		pthread_mutex_destroy(&(*sp)->lock);
	free(*sp);
	*sp = NULL;
}

/* "day-YYYYMMDD" for the UTC day of t. */
static void
day_name(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, size, "day-%Y%m%d", &tm);
}

/* One write under O_APPEND: lines of concurrent writers never interleave. */
static int
append_line(const char *path, const struct buf *b)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, b->data, b->len);
	int saved = errno;
	close(fd);
	errno = saved;
	return w == (ssize_t)b->len ? 0 : -1;
}

void
tlsrpt_note(struct tlsrpt_store *s, const char *policy_domain, const char *policy_type,
	    const char *mx_host, const char *ip, const char *result_type, int64_t now)
{
	if (s == NULL || policy_domain == NULL || policy_domain[0] == '\0')
		return;
	struct buf b;
	buf_init(&b, 0);
	const char *fields[] = {policy_type, policy_domain, mx_host, ip,
				result_type && result_type[0] ? result_type : "ok"};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		if (i)
			buf_append_str(&b, " ");
		/* "-" stands for an empty field, so every line has five. */
		if (fields[i] == NULL || fields[i][0] == '\0')
			buf_append_str(&b, "-");
		else
			spool_value_put(&b, fields[i]);
	}
	buf_append_str(&b, "\n");
	char name[32], path[4200];
	day_name(now, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", s->dir, name);
	if (append_line(path, &b) < 0 && !s->warned) {
		s->warned = true;
		log_err(
		    "event=tlsrpt_note_failed path=%s reason=\"%s\" fix=\"free space or fix the "
		    "permissions of the spool; TLS reports will miss these sessions\"",
		    path, strerror(errno));
	}
	buf_free(&b);
}

/* FNV-1a, to remember which policy lines were written (not a security hash). */
static uint64_t
fnv1a(const char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

void
tlsrpt_note_policy(struct tlsrpt_store *s, const char *policy_domain, const char *policy_type,
		   const char *const *lines, size_t nlines, int64_t now)
{
	if (s == NULL || policy_domain == NULL || policy_domain[0] == '\0' || nlines == 0)
		return;
	struct buf b;
	buf_init(&b, 0);
	buf_append_str(&b, "policy ");
	spool_value_put(&b, policy_type);
	buf_append_str(&b, " ");
	spool_value_put(&b, policy_domain);
	for (size_t i = 0; i < nlines; i++) {
		buf_append_str(&b, " ");
		if (lines[i][0] == '\0')
			buf_append_str(&b, "-");
		else
			spool_value_put(&b, lines[i]);
	}
	buf_append_str(&b, "\n");
	char name[32], path[4200];
	day_name(now, name, sizeof name);
	uint64_t h = fnv1a(b.data, b.len, fnv1a(name, strlen(name), 14695981039346656037ull));
	bool seen = false;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < RECENT_POLICIES && !seen; i++)
		seen = s->recent[i] == h;
	if (!seen) {
		s->recent[s->next_recent] = h;
		s->next_recent = (s->next_recent + 1) % RECENT_POLICIES;
	}
	pthread_mutex_unlock(&s->lock);
	snprintf(path, sizeof path, "%s/%s", s->dir, name);
	if (!seen && append_line(path, &b) < 0 && !s->warned) {
		s->warned = true;
		log_err("event=tlsrpt_note_failed path=%s reason=\"%s\"", path, strerror(errno));
	}
	buf_free(&b);
}

/* ---- reading a day back ---- */

#define POLICY_LINES_MAX 40 /* lines of one policy text kept (an STS policy has few) */

/* The last policy text noted for a (type, domain). */
struct day_policy {
	char type[TLSRPT_TYPE_MAX];
	char domain[TLSRPT_NAME_MAX];
	char *lines[POLICY_LINES_MAX];
	size_t nlines;
};

struct day_rows {
	struct tlsrpt_count *rows;
	char (*domains)[TLSRPT_NAME_MAX]; /* beside rows: each row's policy domain */
	size_t n, cap;
	int64_t start; /* from a "start" line, else 0 */
	struct day_policy *policies;
	size_t npolicies;
};

static bool
decode_field(const char *p, size_t n, char *out, size_t size)
{
	if (n == 1 && p[0] == '-') {
		out[0] = '\0';
		return true;
	}
	struct buf b;
	buf_init(&b, 0);
	bool ok = spool_value_decode(p, n, &b) && str_copy(out, size, b.data);
	buf_free(&b);
	return ok;
}

static void
policy_free_lines(struct day_policy *p)
{
	for (size_t i = 0; i < p->nlines; i++)
		free(p->lines[i]);
	p->nlines = 0;
}

/* "policy TYPE DOMAIN LINE..." (after "policy "): the last one for its key wins. */
static void
read_policy(struct day_rows *d, const char *p, size_t len)
{
	struct day_policy np = {0};
	char field[1024];
	size_t f = 0, b = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != ' ')
			continue;
		if (!decode_field(p + b, i - b, field, sizeof field)) {
			policy_free_lines(&np);
			return;
		}
		if (f == 0)
			str_copy(np.type, sizeof np.type, field);
		else if (f == 1)
			str_copy(np.domain, sizeof np.domain, field);
		else if (np.nlines < POLICY_LINES_MAX)
			np.lines[np.nlines++] = xstrdup(field);
		f++;
		b = i + 1;
	}
	if (f < 3 || np.domain[0] == '\0') {
		policy_free_lines(&np);
		return;
	}
	for (size_t i = 0; i < d->npolicies; i++) {
		struct day_policy *old = &d->policies[i];
		if (strcmp(old->type, np.type) == 0 && strcmp(old->domain, np.domain) == 0) {
			policy_free_lines(old);
			*old = np;
			return;
		}
	}
	d->policies = xrealloc(d->policies, (d->npolicies + 1) * sizeof *d->policies);
	d->policies[d->npolicies++] = np;
}

/* One line: "start T", "policy ...", or the five fields. A bad line is skipped. */
static void
read_line(struct day_rows *d, const char *line, size_t len)
{
	uint64_t v;
	if (len > 7 && memcmp(line, "policy ", 7) == 0) {
		read_policy(d, line + 7, len - 7);
		return;
	}
	if (len > 6 && memcmp(line, "start ", 6) == 0) {
		if (str_parse_u64((struct strv){line + 6, len - 6}, &v) && (int64_t)v > d->start)
			d->start = (int64_t)v;
		return;
	}
	struct tlsrpt_count c = {.sessions = 1};
	char domain[TLSRPT_NAME_MAX], result[TLSRPT_TYPE_MAX];
	char *outs[] = {c.policy_type, domain, c.mx_host, c.ip, result};
	size_t sizes[] = {sizeof c.policy_type, sizeof domain, sizeof c.mx_host, sizeof c.ip,
			  sizeof result};
	size_t f = 0, b = 0;
	for (size_t i = 0; i <= len && f < 5; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (!decode_field(line + b, i - b, outs[f], sizes[f]))
			return;
		f++;
		b = i + 1;
	}
	if (f != 5 || b <= len || domain[0] == '\0')
		return;
	if (strcmp(result, "ok") != 0)
		str_copy(c.result_type, sizeof c.result_type, result);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->rows = xrealloc(d->rows, d->cap * sizeof *d->rows);
		d->domains = xrealloc(d->domains, d->cap * sizeof *d->domains);
	}
	d->rows[d->n] = c;
	str_copy(d->domains[d->n], sizeof d->domains[d->n], domain);
	d->n++;
}

static int
read_day(const char *path, struct day_rows *d)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0 && total < DAY_FILE_MAX) {
		total += (size_t)len;
		if (line[len - 1] != '\n') /* cut by a crash: not a whole line */
			break;
		read_line(d, line, (size_t)len - 1);
	}
	free(line);
	fclose(f);
	return 0;
}

static void
day_rows_free(struct day_rows *d)
{
	for (size_t i = 0; i < d->npolicies; i++)
		policy_free_lines(&d->policies[i]);
	free(d->policies);
	free(d->rows);
	free(d->domains);
	memset(d, 0, sizeof *d);
}

/* ---- one report ---- */

/* gzip (RFC 1952) of in, by zlib. */
static int
gzip_buf(const struct buf *in, struct buf *out)
{
	z_stream z = {0};
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -1;
	uLong bound = deflateBound(&z, (uLong)in->len);
	unsigned char *o = xmalloc(bound);
	z.next_in = (Bytef *)in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = o;
	z.avail_out = (uInt)bound;
	int rc = deflate(&z, Z_FINISH);
	size_t n = bound - z.avail_out;
	deflateEnd(&z);
	if (rc == Z_STREAM_END)
		buf_append(out, o, n);
	free(o);
	return rc == Z_STREAM_END ? 0 : -1;
}

/*
 * The mailto: addresses of the domain's one TLSRPT record (RFC 8460 3:
 * records not starting "v=TLSRPTv1" are ignored; not exactly one left
 * means the domain does not take reports). 0 and n_r, or -1 with why.
 */
static int
rua_lookup(struct dns *dns, const char *domain, char rua[RUA_MAX][SMTP_PATH_MAX + 1], size_t *n_r,
	   char *why, size_t why_size)
{
	char name[300], value[1024];
	struct ma_dns_answer a = {0};
	snprintf(name, sizeof name, "_smtp._tls.%s", domain);
	enum ma_dns_rc rc = dns_lookup(dns, MA_RR_TXT, name, dns_now_ms() + 5000, &a);
	if (rc != MA_DNS_OK) {
		snprintf(why, why_size, "%s: %s", name, ma_dns_rc_name(rc));
		return rc == MA_DNS_TEMPFAIL ? -2 : -1;
	}
	size_t found = 0;
	const char *rec = NULL;
	for (size_t i = 0; i < a.n; i++)
		if (strncmp(a.rr[i], "v=TLSRPTv1", 10) == 0 && found++ == 0)
			rec = a.rr[i];
	int ret = -1;
	if (found != 1)
		snprintf(why, why_size, "%s: %zu TLSRPT records (RFC 8460 3 wants one)", name,
			 found);
	else if (tlsrpt_record_parse(rec, value, sizeof value, why, why_size) == 0) {
		*n_r = 0;
		for (char *save = NULL, *u = strtok_r(value, ",", &save); u && *n_r < RUA_MAX;
		     u = strtok_r(NULL, ",", &save)) {
			while (*u == ' ' || *u == '\t')
				u++;
			if (strncasecmp(u, "mailto:", 7) != 0)
				continue;
			u += 7;
			u[strcspn(u, " \t!?")] = '\0'; /* no size limits or query parts */
			if (u[0] && str_copy(rua[*n_r], SMTP_PATH_MAX + 1, u))
				(*n_r)++;
		}
		if (*n_r > 0)
			ret = 0;
		else
			snprintf(why, why_size,
				 "%s: no mailto: address in rua (https: is not sent)", name);
	}
	ma_dns_answer_free(&a);
	return ret;
}

/* Queue msg from o->from to the n addresses; its qid into qid. */
static int
enqueue(const struct tlsrpt_send_opts *o, char rua[RUA_MAX][SMTP_PATH_MAX + 1], size_t n,
	const struct buf *msg, char *qid, size_t qid_size)
{
	struct smtp_mail_args mail = {0};
	struct smtp_rcpt_args rcpts[RUA_MAX];
	size_t k = 0;
	if (smtp_addr_parse_mailbox(strv_from(o->from), true, &mail.from) != ADDR_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memset(&rcpts[k], 0, sizeof rcpts[k]);
		if (smtp_addr_parse_mailbox(strv_from(rua[i]), true, &rcpts[k].to) == ADDR_OK)
			k++;
	}
	if (k == 0)
		return -1;
	struct spool_envelope env = {.mail = &mail, .rcpts = rcpts, .nrcpts = k};
	struct spool_msg *m = spool_msg_begin(o->sp, &env);
	if (m == NULL)
		return -1;
	str_copy(qid, qid_size, spool_msg_id(m));
	if (spool_msg_write(m, msg->data, msg->len) < 0) {
		spool_msg_abort(&m);
		return -1;
	}
	enum spool_result res = spool_msg_commit_now(m);
	spool_msg_free(&m);
	return res == SPOOL_OK ? 0 : -1;
}

/* The report mail for r, into msg. */
static int
build_mail(const struct tlsrpt_send_opts *o, const struct tlsrpt_report *r, const char *to,
	   const char *unique, struct buf *msg)
{
	struct buf json, gz;
	buf_init(&json, 0);
	buf_init(&gz, 0);
	int rc = -1;
	char date[64], mid[400], boundary[64], file[700];
	date_rfc5322((time_t)o->now, date, sizeof date);
	snprintf(mid, sizeof mid, "<tlsrpt.%s.%s@%s>", unique, r->policy_domain, o->hostname);
	snprintf(boundary, sizeof boundary, "=_tlsrpt_%s", unique);
	if (tlsrpt_json(r, &json) == 0 && gzip_buf(&json, &gz) == 0 &&
	    tlsrpt_file_name(o->hostname, r, unique, file, sizeof file)) {
		struct tlsrpt_mail m = {
		    .from = o->from,
		    .to = to,
		    .submitter = o->hostname,
		    .date = date,
		    .message_id = mid,
		    .boundary = boundary,
		    .file_name = file,
		    .report = r,
		    .gz = (const unsigned char *)gz.data,
		    .gz_len = gz.len,
		};
		rc = tlsrpt_mail_build(&m, msg);
	}
	buf_free(&json);
	buf_free(&gz);
	return rc;
}

/* DKIM-Signature fields first, when the caller can sign for the sender. */
static void
sign_mail(const struct tlsrpt_send_opts *o, const char *domain, struct buf *msg)
{
	if (o->sign == NULL)
		return;
	struct buf sigs, all;
	buf_init(&sigs, 0);
	int n = o->sign(msg->data, msg->len, &sigs, o->sign_arg);
	if (n < 0)
		log_warn("event=tlsrpt_unsigned domain=%s reason=\"DKIM signing failed (the log "
			 "above says why); the report goes unsigned\"",
			 domain);
	if (n > 0) {
		buf_init(&all, 0);
		buf_append(&all, sigs.data, sigs.len);
		buf_append(&all, msg->data, msg->len);
		buf_free(msg);
		*msg = all;
	}
	buf_free(&sigs);
}

/* ---- sending a day ---- */

/* Was domain already reported for this day (its name in the .sent file)? */
static bool
already_sent(const char *sent_path, const char *domain)
{
	FILE *f = fopen(sent_path, "re");
	if (f == NULL)
		return false;
	char line[TLSRPT_NAME_MAX + 2];
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		found = strcmp(line, domain) == 0;
	}
	fclose(f);
	return found;
}

static void
mark_sent(const char *sent_path, const char *domain)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s\n", domain);
	if (append_line(sent_path, &b) < 0)
		log_err("event=tlsrpt_mark_failed path=%s reason=\"%s\"", sent_path,
			strerror(errno));
	buf_free(&b);
}

/* The period of "day-YYYYMMDD" or "day-YYYYMMDD-HHMMSS" (a cut: ends then). */
static bool
period_of(const char *name, int64_t *start_r, int64_t *end_r)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, s = 0, used = 0;
	size_t len = strlen(name);
	bool day =
	    len == 12 && sscanf(name, "day-%4d%2d%2d%n", &y, &mo, &d, &used) == 3 && used == 12;
	bool cut =
	    len == 19 &&
	    sscanf(name, "day-%4d%2d%2d-%2d%2d%2d%n", &y, &mo, &d, &h, &mi, &s, &used) == 6 &&
	    used == 19;
	if (!day && !cut)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	int64_t midnight = (int64_t)timegm(&tm);
	*start_r = midnight;
	*end_r = len == 12 ? midnight + DAY_SECONDS - 1 : midnight + h * 3600 + mi * 60 + s;
	return true;
}

/* The rows of one domain, copied out of a day's rows. */
static size_t
rows_of(const struct day_rows *d, const char *domain, struct tlsrpt_count *out)
{
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->domains[i], domain) == 0)
			out[k++] = d->rows[i];
	return k;
}

/*
 * One domain of one day: 1 queued, 0 nothing to send (no record: never
 * will be), -1 try again later (DNS or the spool failed).
 */
static int
send_domain(const struct tlsrpt_send_opts *o, const struct day_rows *d, const char *domain,
	    int64_t start, int64_t end, struct tlsrpt_count *rows)
{
	char rua[RUA_MAX][SMTP_PATH_MAX + 1], why[600];
	size_t nrua = 0;
	int rc = rua_lookup(o->dns, domain, rua, &nrua, why, sizeof why);
	if (rc == -2) {
		log_warn("event=tlsrpt_deferred domain=%s reason=\"%s\" fix=\"the report is sent "
			 "on the next run\"",
			 domain, why);
		return -1;
	}
	if (rc < 0) {
		log_info("event=tlsrpt_skipped domain=%s reason=\"%s\"", domain, why);
		return 0;
	}
	unsigned char rnd[6];
	char unique[16], report_id[400];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		memset(rnd, 0x42, sizeof rnd);
	snprintf(unique, sizeof unique, "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
		 rnd[4], rnd[5]);
	snprintf(report_id, sizeof report_id, "%" PRId64 ".%s.%s@%s", start, domain, unique,
		 o->hostname);
	struct tlsrpt_policy_text texts[3];
	size_t ntexts = 0;
	for (size_t i = 0; i < d->npolicies && ntexts < 3; i++)
		if (strcmp(d->policies[i].domain, domain) == 0)
			texts[ntexts++] = (struct tlsrpt_policy_text){
			    d->policies[i].type, (const char *const *)d->policies[i].lines,
			    d->policies[i].nlines};
	struct tlsrpt_report r = {
	    .texts = texts,
	    .ntexts = ntexts,
	    .organization = o->hostname,
	    .contact = o->from,
	    .report_id = report_id,
	    .policy_domain = domain,
	    .start = start,
	    .end = end,
	    .counts = rows,
	    .ncounts = rows_of(d, domain, rows),
	};
	struct buf msg;
	buf_init(&msg, 0);
	char qid[SPOOL_QID_SIZE] = "";
	rc = build_mail(o, &r, rua[0], unique, &msg);
	if (rc == 0)
		sign_mail(o, domain, &msg);
	if (rc == 0 && enqueue(o, rua, nrua, &msg, qid, sizeof qid) < 0) {
		log_err("event=tlsrpt_failed domain=%s reason=\"cannot queue the report: %s\"",
			domain, strerror(errno));
		rc = -1;
	} else if (rc < 0) {
		/* Bad input (a domain or address that would break the mail): never sendable. */
		log_err("event=tlsrpt_failed domain=%s reason=\"the report mail cannot be built "
			"from these names\"",
			domain);
		rc = 0;
	} else {
		log_info("event=tlsrpt_queued domain=%s id=%s to=<%s> rows=%zu bytes=%zu", domain,
			 qid, rua[0], r.ncounts, msg.len);
		if (o->queued)
			o->queued(qid, o->arg);
		rc = 1;
	}
	buf_free(&msg);
	return rc;
}

/* Every domain of one day file; the files go once all are done. */
static int
send_day(struct tlsrpt_store *s, const struct tlsrpt_send_opts *o, const char *name, bool *pending)
{
	int64_t start, end;
	if (!period_of(name, &start, &end))
		return 0;
	char path[4200], sent[4300];
	snprintf(path, sizeof path, "%s/%s", s->dir, name);
	snprintf(sent, sizeof sent, "%s.sent", path);
	struct day_rows d = {0};
	if (read_day(path, &d) < 0)
		return 0;
	if (d.start > start && d.start <= end)
		start = d.start; /* counting began after a cut */
	struct tlsrpt_count *rows = xcalloc(d.n ? d.n : 1, sizeof *rows);
	int queued = 0;
	bool later = false;
	for (size_t i = 0; i < d.n; i++) {
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = strcmp(d.domains[j], d.domains[i]) != 0;
		if (!first || already_sent(sent, d.domains[i]))
			continue;
		int rc = send_domain(o, &d, d.domains[i], start, end, rows);
		if (rc < 0) {
			later = true;
			continue;
		}
		queued += rc;
		mark_sent(sent, d.domains[i]);
	}
	free(rows);
	day_rows_free(&d);
	if (later) {
		*pending = true;
	} else {
		unlink(path);
		unlink(sent);
	}
	return queued;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* include_today: today's lines so far move to a cut file, counting goes on. */
static void
cut_today(struct tlsrpt_store *s, int64_t now)
{
	char name[32], path[4200], cut[4300];
	day_name(now, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", s->dir, name);
	time_t tt = (time_t)now;
	struct tm tm;
	gmtime_r(&tt, &tm);
	char hms[16];
	strftime(hms, sizeof hms, "%H%M%S", &tm);
	snprintf(cut, sizeof cut, "%s-%s", path, hms);
	if (rename(path, cut) < 0)
		return; /* nothing counted today */
	/* The new file needs the policy texts again. */
	pthread_mutex_lock(&s->lock);
	memset(s->recent, 0, sizeof s->recent);
	pthread_mutex_unlock(&s->lock);
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "start %" PRId64 "\n", now + 1);
	if (append_line(path, &b) < 0)
		log_err("event=tlsrpt_cut_failed path=%s reason=\"%s\"", path, strerror(errno));
	buf_free(&b);
}

int
tlsrpt_store_send(struct tlsrpt_store *s, const struct tlsrpt_send_opts *o, char *err,
		  size_t err_size)
{
	if (o->include_today)
		cut_today(s, o->now);
	DIR *dir = opendir(s->dir);
	if (dir == NULL) {
		snprintf(err, err_size, "cannot read %s: %s", s->dir, strerror(errno));
		return -1;
	}
	char today[32];
	day_name(o->now, today, sizeof today);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "day-", 4) != 0 || strcmp(de->d_name, today) == 0 ||
		    (len > 5 && strcmp(de->d_name + len - 5, ".sent") == 0))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (n > 1)
		qsort(names, n, sizeof *names, by_name);
	int queued = 0;
	bool pending = false;
	for (size_t i = 0; i < n; i++) {
		queued += send_day(s, o, names[i], &pending);
		free(names[i]);
	}
	free(names);
	if (pending) {
		snprintf(err, err_size,
			 "some reports could not be sent now (DNS or the spool failed); they stay "
			 "pending for the next run");
		return queued > 0 ? queued : -1;
	}
	return queued;
}
