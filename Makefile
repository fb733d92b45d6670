# The two commands: `make run` and `make test` (see README.md).
# CMake + Ninja underneath; `make` alone builds build/mailport.

BUILD      ?= build
TEST_BUILD ?= build-test
CONFIG     ?= etc/mailport.conf

.PHONY: all deps run test unit fuzz integration format clean bench

all: $(BUILD)/build.ninja
	cmake --build $(BUILD)

$(BUILD)/build.ninja:
	@scripts/deps.sh
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

deps:
	scripts/deps.sh

run: all
	@scripts/run.sh $(BUILD) $(CONFIG)

# The test build: clang, ASan + UBSan, libFuzzer harnesses.
$(TEST_BUILD)/build.ninja:
	@scripts/deps.sh --test
	CC=clang cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
		-DMP_SANITIZE=ON -DMP_FUZZ=ON

test: $(TEST_BUILD)/build.ninja all
	@scripts/deps.sh --test
	@scripts/install-peers.sh
	cmake --build $(TEST_BUILD)
	scripts/test.sh $(TEST_BUILD)

# Benchmark against a private Postfix on loopback (root); see bench/RESULTS.md.
bench: all
	/usr/bin/python3 bench/bench.py
	/usr/bin/python3 bench/outbound_bench.py
	/usr/bin/python3 bench/auth_bench.py
	/usr/bin/python3 bench/lmtp_bench.py

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
