#!/bin/sh
# halab's conntrackd agent (ocf:halab:conntrackd): Debian's ocf:heartbeat:conntrackd with the
# two fixes a careful operator makes (resource-agents upstream 3e6154b3a, in neither 4.12 nor
# 4.16):
# - monitor: a conntrackd that does not answer `conntrackd -s` is not running. The stock monitor
#   turns that error into "running promoted" on the promoted member (its state file says so), so
#   pacemaker never recovers a killed conntrackd there;
# - stop, demote, start: a killed conntrackd leaves its lock file (a new one refuses to start) and
#   its socket (the stock monitor's "it runs" test): both go once nothing answers.
# Everything else is the stock agent's.
: "${OCF_ROOT:=/usr/lib/ocf}"
: "${OCF_FUNCTIONS_DIR:=$OCF_ROOT/lib/heartbeat}"
. "$OCF_FUNCTIONS_DIR/ocf-shellfuncs"
stock="$OCF_ROOT/resource.d/heartbeat/conntrackd"
conf="${OCF_RESKEY_config:-/etc/conntrackd/conntrackd.conf}"
bin="${OCF_RESKEY_binary:-/usr/sbin/conntrackd}"

answers() { timeout 5 "$bin" -C "$conf" -s >/dev/null 2>&1; }

leftovers() {
	lock=$(awk '$1 == "LockFile" { print $2 }' "$conf")
	rm -f "${lock:-/var/lock/conntrack.lock}"
	sock=$(awk '/^[ \t]*UNIX[ \t]*{/,/^[ \t]*}/ { if ($1 == "Path") { print $2 } }' "$conf")
	[ -n "$sock" ] && rm -f "$sock"
	# The stock agent's mark of the promoted member (its `statefile`).
	ha_pseudo_resource "conntrackd.$(echo "$OCF_RESOURCE_INSTANCE" | sed 's/:[0-9]*$//').master" stop
}

case "$1" in
monitor)
	if ! answers; then
		sock=$(awk '/^[ \t]*UNIX[ \t]*{/,/^[ \t]*}/ { if ($1 == "Path") { print $2 } }' "$conf")
		[ -S "$sock" ] && ocf_exit_reason "conntrackd does not answer on $sock"
		exit "$OCF_NOT_RUNNING"
	fi
	;;
stop | demote)
	if ! answers; then
		leftovers
		[ "$1" = stop ] && exit "$OCF_SUCCESS"
	fi
	;;
start)
	answers || leftovers
	;;
esac
exec "$stock" "$@"
