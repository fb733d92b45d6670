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
		return 1
	fi
}

# Unit tests: one program per pure module (ctest runs them).
for t in "$build"/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit $(basename "$t")" "$t"
done

# Fuzzers, in two steps. Replay: every kept input in fuzz/corpus/<name>/ (the
# seeds and every crash a fuzzer ever found) runs once, in a fixed order, so a
# regression fails the same way on every run and the log names the input.
# Fuzz: FUZZ_SECONDS of new inputs grown from that corpus (kept in a scratch
# folder; a crash is written to fuzz/artifacts/). Chatter goes to a log that
# is shown only when a step fails.
fuzz_seconds=${FUZZ_SECONDS:-8}
fuzz_flags=(-timeout=5 -rss_limit_mb=2048)
fuzz_replay() { # fuzzer, corpus
	local log rc inputs bad
	inputs=()
	if [ -d "$2" ]; then
		while IFS= read -r -d '' f; do inputs+=("$f"); done \
			< <(find "$2" -maxdepth 1 -type f -print0 | sort -z)
	fi
	if [ ${#inputs[@]} -eq 0 ]; then
		echo "   no kept inputs in $2: add at least one seed there"
		return 1
	fi
	log=$(mktemp)
	# Files, not the folder: libFuzzer then runs each once and logs
	# "Running: FILE" before it, so the last such line names a failing input.
	"$1" "${fuzz_flags[@]}" "${inputs[@]}" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "   ${#inputs[@]} kept inputs replayed"
	else
		tail -n 60 "$log"
		bad=$(grep -E '^Running: ' "$log" | tail -n 1 | cut -d' ' -f2-)
		echo "   replay FAILED (exit status $rc) on the kept input $bad"
		echo "   rerun it alone: $1 $bad"
	fi
	rm -f "$log"
	return $rc
}
fuzz_run() { # fuzzer, corpus
	local work log rc
	work=$(mktemp -d)
	log=$(mktemp)
	"$1" "${fuzz_flags[@]}" -max_total_time="$fuzz_seconds" -artifact_prefix=fuzz/artifacts/ \
		-print_final_stats=1 "$work" "$2" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		grep -E "^stat::number_of_executed_units" "$log" | sed 's/^/   /'
	else
		tail -n 60 "$log"
		echo "   the failing input is in fuzz/artifacts/; once fixed, keep it as a seed:"
		echo "   git add it as $2/<what-it-found> (the replay step then runs it every time)"
	fi
	rm -rf "$work" "$log"
	return $rc
}
fuzzers=()
for f in "$build"/fuzz_*; do
	[ -x "$f" ] && fuzzers+=("$f")
done
replay_failed=()
for f in "${fuzzers[@]}"; do
	name=$(basename "$f")
	run_suite "fuzz replay $name" fuzz_replay "$f" "fuzz/corpus/${name#fuzz_}" ||
		replay_failed+=("$name")
done
mkdir -p fuzz/artifacts
for f in "${fuzzers[@]}"; do
	name=$(basename "$f")
	if [[ " ${replay_failed[*]} " == *" $name "* ]]; then
		echo "== fuzz $name: skipped, its replay failed"
		continue
	fi
	run_suite "fuzz $name" fuzz_run "$f" "fuzz/corpus/${name#fuzz_}"
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
