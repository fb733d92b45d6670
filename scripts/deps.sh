#!/usr/bin/env bash
# Installs the Debian packages mailport needs to build and test, only those
# missing, so `make run` and `make test` work on a fresh Debian 12 machine.
set -euo pipefail

build_pkgs=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
	libssl-dev libevent-dev libc-ares-dev libcrypt-dev libidn2-dev libpsl-dev publicsuffix openssl
	libcurl4-openssl-dev zlib1g-dev)
test_pkgs=(python3 python3-pytest swaks libnet-ssleay-perl dnsmasq-base strace util-linux python3-aiosmtpd
	nodejs npm python3-dkim python3-nacl python3-yaml python3-spf
	nsd unbound ldnsutils)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")
# The man pages' and the systemd unit's checkers (test_man.py, test_systemd.py).
[ "${1:-}" = "--test" ] && want+=(mandoc systemd)
# make deb, and the test that builds and installs the package (test_deb.py).
deb_pkgs=(debhelper lintian fakeroot)
[ "${1:-}" = "--test" ] || [ "${1:-}" = "--deb" ] && want+=("${deb_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	# node and npm may come from elsewhere (NodeSource's nodejs holds npm
	# and conflicts with Debian's): a working command is enough.
	case "$p" in
	nodejs) command -v node >/dev/null && continue ;;
	npm) command -v npm >/dev/null && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# apt and dpkg print hundreds of lines: they go to a log, and one line says where.
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/build"
log="$root/build/deps.log"
echo "mailport: installing missing packages: ${missing[*]} (apt's output: $log)"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "mailport: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	}
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends \
	"${missing[@]}"; } >>"$log" 2>&1; then
	echo "mailport: installing the packages failed; the end of $log:" >&2
	tail -n 20 "$log" >&2
	exit 1
fi
