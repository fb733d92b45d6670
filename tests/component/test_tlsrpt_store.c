/*
 * tlsrpt_store on a temporary spool: lines of concurrent writers never
 * interleave (one write under O_APPEND each), the day is named for the
 * UTC day of `now`, empty fields are "-", values with spaces are encoded,
 * a NULL store does nothing; and what one note costs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "test_files.h"
#include "tlsrpt_store.h"

#define THREADS 4
#define PER_THREAD 2000
#define DAY 1796428800 /* 2026-12-05T00:00:00Z */

static struct tlsrpt_store *store;

static void *
writer(void *arg)
{
	long id = (long)arg;
	char mx[64];
	snprintf(mx, sizeof mx, "mx%ld.example.test", id);
	for (int i = 0; i < PER_THREAD; i++)
		tlsrpt_note(store, "example.test", "sts", mx, "192.0.2.1",
			    i % 2 ? "certificate-expired" : NULL, DAY + 3600);
	return NULL;
}

static char *
slurp(const char *path, size_t *n_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *data = NULL;
	size_t cap = 0, n = 0, k;
	char chunk[4096];
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (n + k + 1 > cap) {
			cap = (n + k + 1) * 2;
			data = realloc(data, cap);
		}
		memcpy(data + n, chunk, k);
		n += k;
	}
	fclose(f);
	if (data)
		data[n] = '\0';
	*n_r = n;
	return data;
}

int
main(void)
{
	char *dir = make_tmpdir("tlsrpt");
	char err[600], path[256];
	store = tlsrpt_store_open(dir, err, sizeof err);
	CHECK(store != NULL);
	if (store == NULL)
		return test_summary("test_tlsrpt_store");
	tlsrpt_note(NULL, "x.test", "sts", "mx", "ip", NULL, DAY); /* reporting off: no-op */
	tlsrpt_note(store, "", "sts", "mx", "ip", NULL, DAY);	   /* no domain: nothing */

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t th[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double us =
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
	    (THREADS * PER_THREAD);
	printf("# tlsrpt_note: %.1f us per call (%d threads)\n", us, THREADS);

	snprintf(path, sizeof path, "%s/tlsrpt/day-20261205", dir);
	size_t n = 0;
	char *data = slurp(path, &n);
	CHECK(data != NULL && n > 0 && data[n - 1] == '\n');
	size_t lines = 0, bad = 0, failed = 0;
	for (char *save = NULL, *ln = data ? strtok_r(data, "\n", &save) : NULL; ln;
	     ln = strtok_r(NULL, "\n", &save)) {
		lines++;
		char result[64];
		long id;
		int used = 0;
		if (sscanf(ln, "sts example.test mx%ld.example.test 192.0.2.1 %63s%n", &id, result,
			   &used) != 2 ||
		    (size_t)used != strlen(ln) || id < 0 || id >= THREADS)
			bad++;
		failed += strcmp(result, "certificate-expired") == 0;
	}
	CHECK(lines == THREADS * PER_THREAD);
	CHECK(bad == 0);
	CHECK(failed == THREADS * PER_THREAD / 2);
	free(data);

	/* Empty fields and white space in a value keep five fields a line. */
	tlsrpt_note(store, "b.test", "no-policy-found", "odd host", "", "", DAY + 86400);
	snprintf(path, sizeof path, "%s/tlsrpt/day-20261206", dir);
	data = slurp(path, &n);
	CHECK(data && strcmp(data, "no-policy-found b.test odd%20host - ok\n") == 0);
	if (data && strcmp(data, "no-policy-found b.test odd%20host - ok\n") != 0)
		printf("  got: %s", data);
	free(data);

	/* A policy text: written once a day however often it is noted. */
	const char *sts[] = {"version: STSv1", "mode: enforce", "mx: *.b.test", "max_age: 86400"};
	for (int i = 0; i < 3; i++)
		tlsrpt_note_policy(store, "b.test", "sts", sts, 4, DAY + 86400 + i);
	tlsrpt_note_policy(store, "b.test", "sts", sts, 4, DAY + 2 * 86400); /* the next day */
	data = slurp(path, &n);
	const char *want = "no-policy-found b.test odd%20host - ok\n"
			   "policy sts b.test version:%20STSv1 mode:%20enforce mx:%20*.b.test "
			   "max_age:%2086400\n";
	CHECK(data && strcmp(data, want) == 0);
	if (data && strcmp(data, want) != 0)
		printf("  got: %s", data);
	free(data);
	snprintf(path, sizeof path, "%s/tlsrpt/day-20261207", dir);
	data = slurp(path, &n);
	CHECK(data && strncmp(data, "policy sts b.test ", 18) == 0);
	free(data);

	tlsrpt_store_close(&store);
	CHECK(store == NULL);
	rm_rf(dir);
	return test_summary("test_tlsrpt_store");
}
