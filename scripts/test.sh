#!/usr/bin/env bash
# Runs every test suite against the sanitizer build in $1 and ends with one
# summary line: "N passed, N failed". Exit status 0 only if all passed.
set -uo pipefail
build=${1:-build-test}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
failures=()
run_suite() { # name, command...
	local name=$1
	shift
	echo "== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$name")
	fi
}

# Unit tests: one program per pure module (ctest runs them).
for t in "$build"/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit $(basename "$t")" "$t"
done

# Fuzzers: replay the kept corpus, then fuzz briefly from it. Their chatter
# goes to a log that is shown only when a fuzzer fails.
fuzz_seconds=${FUZZ_SECONDS:-8}
fuzz_run() { # fuzzer, corpus
	local work log rc
	work=$(mktemp -d)
	log=$(mktemp)
	"$1" -max_total_time="$fuzz_seconds" -timeout=5 -rss_limit_mb=2048 \
		-artifact_prefix=fuzz/artifacts/ -print_final_stats=1 "$work" "$2" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		grep -E "^stat::number_of_executed_units" "$log" | sed 's/^/   /'
	else
		tail -n 60 "$log"
	fi
	rm -rf "$work" "$log"
	return $rc
}
for f in "$build"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus="fuzz/corpus/${name#fuzz_}"
	mkdir -p "$corpus" fuzz/artifacts
	run_suite "fuzz $name" fuzz_run "$f" "$corpus"
done

# Integration: the real server, real clients (pytest).
if [ -d tests/integration ] && ls tests/integration/test_*.py >/dev/null 2>&1; then
	run_suite "integration" env MAILPORT="$root/$build/mailport" \
		/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed suites: ${failures[*]}"
fi
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
