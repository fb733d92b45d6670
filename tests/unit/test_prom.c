/* prom: the registry and the Prometheus text format. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "prom.h"

static double
seven(void *arg)
{
	(void)arg;
	return 7.5;
}

static double
not_a_number(void *arg)
{
	(void)arg;
	return NAN;
}

/* Off: every call takes NULL and does nothing. */
static void
test_off(void)
{
	prom_reset();
	CHECK(!prom_enabled());
	struct prom_counter *c = prom_counter("a_total", "help", "");
	CHECK(c == NULL);
	prom_inc(c);
	prom_observe(prom_histogram("h", "help", "", (double[]){1}, 1), 3);
	struct buf out;
	buf_init(&out, 0);
	prom_render(&out);
	CHECK(out.len == 0);
	buf_free(&out);
}

static void
test_render(void)
{
	prom_reset();
	prom_enable();
	prom_enable(); /* idempotent */
	struct prom_counter *a = prom_counter("x_total", "Things done", "kind=\"a\"");
	struct prom_counter *b = prom_counter("x_total", "Things done", "kind=\"b\"");
	CHECK(a != NULL && b != NULL && a != b);
	CHECK(prom_counter("x_total", "Things done", "kind=\"a\"") == a); /* same series */
	prom_add(a, 41);
	prom_inc(a);
	prom_gauge_fn("g", "A gauge", "", seven, NULL);
	prom_gauge_fn("n", "Not known", "", not_a_number, NULL);
	static const double bounds[] = {0.5, 1, 10};
	struct prom_histogram *h = prom_histogram("d_seconds", "Delays", "kind=\"l\"", bounds, 3);
	prom_observe(h, 0.25);
	prom_observe(h, 0.5); /* on a bound: in that bucket (le = less or equal) */
	prom_observe(h, 2);
	prom_observe(h, 100);
	struct buf out;
	buf_init(&out, 0);
	prom_render(&out);
	buf_append(&out, "", 1);
	const char *want = "# HELP x_total Things done\n"
			   "# TYPE x_total counter\n"
			   "x_total{kind=\"a\"} 42\n"
			   "x_total{kind=\"b\"} 0\n"
			   "# HELP g A gauge\n"
			   "# TYPE g gauge\n"
			   "g 7.5\n"
			   "# HELP n Not known\n"
			   "# TYPE n gauge\n"
			   "n NaN\n"
			   "# HELP d_seconds Delays\n"
			   "# TYPE d_seconds histogram\n"
			   "d_seconds_bucket{kind=\"l\",le=\"0.5\"} 2\n"
			   "d_seconds_bucket{kind=\"l\",le=\"1\"} 2\n"
			   "d_seconds_bucket{kind=\"l\",le=\"10\"} 3\n"
			   "d_seconds_bucket{kind=\"l\",le=\"+Inf\"} 4\n"
			   "d_seconds_sum{kind=\"l\"} 102.750000\n"
			   "d_seconds_count{kind=\"l\"} 4\n";
	CHECK_STR(out.data, want);
	buf_free(&out);
	prom_reset();
}

int
main(void)
{
	test_off();
	test_render();
	return test_summary("test_prom");
}
