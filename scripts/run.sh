#!/usr/bin/env bash
# `make run`: start build/mailport on the default config, in the foreground.
# usage: scripts/run.sh BUILD CONFIG
#
# Started as root, the server binds its ports and then runs as its own
# `mailport` account, which must be able to enter the folders of its state
# and config (to re-read them on SIGHUP). A checkout in /root (mode 0700)
# cannot be entered by any other account. Rather than open /root to it, the
# state moves to a folder it can enter: the config is copied to
# $MAILPORT_RUN_STATE/etc (default /var/lib/mailport/make-run), whose ../var
# is the state, and the checkout's var/ becomes a link to it, so var/users,
# var/mail and var/tls/cert.pem are where the README says. Only the
# checkout's own etc/mailport.conf is treated so; another config is used as
# it is (the server names any folder it cannot enter, with the fix).
set -euo pipefail
build=${1:-build}
config=${2:-etc/mailport.conf}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "$build/mailport")
conf=$(realpath "$config")

if [ "$(id -u)" -ne 0 ] || [ "$conf" != "$root/etc/mailport.conf" ] ||
	runuser -u nobody -- test -r "$conf" 2>/dev/null; then
	exec "$bin" serve -c "$config"
fi

state=${MAILPORT_RUN_STATE:-/var/lib/mailport/make-run}
mkdir -p "$state/etc" "$state/var"
chmod 0755 "$state" "$state/etc" "$state/var" "$(dirname "$state")"
install -m 0644 "$conf" "$state/etc/mailport.conf"
var="$root/var"
if [ -d "$var" ] && [ ! -L "$var" ]; then
	# An earlier start made var/ here: its files join the new place.
	cp -a "$var/." "$state/var/"
	rm -rf "$var"
fi
ln -sfn "$state/var" "$var"
blocked=$root
while [ "$blocked" != / ] && runuser -u nobody -- test -x "$blocked" 2>/dev/null; do
	blocked=$(dirname "$blocked")
done
echo "mailport: the server's account cannot enter $blocked, so its state is in" \
	"$state/var (var/ links there) and it runs on a copy of $config in $state/etc;" \
	"after editing $config, run 'make run' again"
exec "$bin" serve -c "$state/etc/mailport.conf"
