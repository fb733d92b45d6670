#!/usr/bin/env bash
# Installs the interoperability peers for the integration tests: Postfix with
# Cyrus SASL (sasldb) support, swaks with its STARTTLS module, and the
# mailauth npm package (tests/js); and OpenDKIM, the milter the benchmark's
# Postfix signs with (bench/auth_bench.py); rsyslog and fail2ban, which the
# log tests hand serve's lines to (fail2ban-regex judges the shipped filter);
# Prometheus, which scrapes the metrics listener (promtool checks its text);
# HAProxy, which sends the PROXY protocol to listeners that expect it.
#
# Idempotent: when everything is installed already it only makes sure that no
# system Postfix is running, and exits. The packages are installed without
# starting any service (a temporary /usr/sbin/policy-rc.d answers 101), and
# without a system configuration ("No configuration"), so nothing listens on
# port 25 afterwards. The tests run their own private Postfix instances.
set -euo pipefail

pkgs=(postfix libsasl2-modules libsasl2-modules-db sasl2-bin swaks libnet-ssleay-perl opendkim
	rsyslog fail2ban prometheus haproxy
	dovecot-core dovecot-lmtpd dovecot-imapd)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "install-peers: need root (or sudo)" >&2
		exit 1
	}
	sudo="sudo"
fi

# Stops a system Postfix (the one using /etc/postfix) if one is running.
stop_system_postfix() {
	local pidfile pid
	if [ -x /usr/sbin/postfix ] && [ -f /etc/postfix/main.cf ]; then
		if $sudo /usr/sbin/postfix status >/dev/null 2>&1; then
			echo "install-peers: stopping the system Postfix"
			$sudo /usr/sbin/postfix stop >/dev/null 2>&1 || true
		fi
	fi
	# Also by pid file, in case the configuration is incomplete.
	pidfile=/var/spool/postfix/pid/master.pid
	[ -r "$pidfile" ] || return 0
	pid=$(tr -dc '0-9' <"$pidfile" || true)
	[ -n "$pid" ] || return 0
	if [ -d "/proc/$pid" ] && grep -q master "/proc/$pid/comm" 2>/dev/null; then
		$sudo kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			[ -d "/proc/$pid" ] || break
			sleep 0.1
		done
		if [ -d "/proc/$pid" ]; then
			$sudo kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
}

# The mailauth npm package (tests/js), an independent DKIM/SPF/DMARC
# implementation the authentication tests compare against, at the version
# package-lock.json pins. Installed once; a clean clone has no node_modules.
install_js() {
	local root js
	root=$(cd "$(dirname "$0")/.." && pwd)
	js="$root/tests/js"
	[ -d "$js/node_modules/mailauth" ] && return 0
	command -v npm >/dev/null || {
		echo "install-peers: npm is missing: run scripts/deps.sh --test (it installs nodejs and npm)" >&2
		exit 1
	}
	echo "install-peers: installing the mailauth npm package into tests/js"
	npm ci --prefix "$js" --no-audit --no-fund --loglevel=error
}
install_js

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	stop_system_postfix
	exit 0
fi

echo "install-peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# No service may start during the install: policy-rc.d 101 = "action forbidden".
policy=/usr/sbin/policy-rc.d
backup=""
if [ -e "$policy" ]; then
	backup=$(mktemp)
	$sudo cp -p "$policy" "$backup"
fi
restore_policy() {
	if [ -n "$backup" ]; then
		$sudo cp -p "$backup" "$policy"
		rm -f "$backup"
	else
		$sudo rm -f "$policy"
	fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# temporary: no service starts while the test peers install\nexit 101\n' |
	$sudo tee "$policy" >/dev/null
$sudo chmod 0755 "$policy"

echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
echo "postfix postfix/mailname string peer.test" | $sudo debconf-set-selections

apt_opts=(-y -qq --no-install-recommends -o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
$sudo apt-get install "${apt_opts[@]}" "${missing[@]}"

stop_system_postfix
restore_policy
trap - EXIT

# Verify.
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
		echo "install-peers: $p did not install" >&2
		exit 1
	}
done
echo "install-peers: done"
