#!/usr/bin/env bash
# Stack figures (issue 4), as root, release binary, image cached: time from `halab up` to a
# ready stack on fw-pair (median of RUNS) for keepalived and pacemaker, and each daemon's RSS.
# Usage: lab/tests/bench/stacks.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUNS=${1:-5}
H=$PWD/target/release/halab
export HALAB_PLAIN=1
source lab/tests/bench/common.sh
trap '$H down bench-stack >/dev/null 2>&1 || true' EXIT
rss() { # lab node process-name -> kB summed over matching processes in the node
  "$H" exec bench-stack "$1" -- sh -c "for p in \$(pgrep -f '$2'); do awk '/^VmRSS/{print \$2}' /proc/\$p/status; done" | awk '{s+=$1} END {print s+0}'
}
echo "| up to ready, fw-pair | n | min s | median s | p95 s | max s |"
echo "|---|---|---|---|---|---|"
for stack in keepalived pacemaker; do
  xs=()
  for i in $(seq 1 "$RUNS"); do
    t0=$(now); "$H" up topologies/fw-pair.yaml --name bench-stack --stack "$stack" >/dev/null 2>&1; t1=$(now)
    "$H" exec bench-stack client -- ping -c1 -W1 198.18.2.10 >/dev/null || { echo "bench: $stack lab does not route" >&2; exit 3; }
    xs+=("$(python3 -c "print($t1-$t0)")")
    if [ "$i" = "$RUNS" ]; then
      sleep 2
      case $stack in
        keepalived) echo "rss $stack: keepalived $(rss fw1 keepalived) kB, conntrackd $(rss fw1 conntrackd) kB (fw1, both processes summed)" >&2 ;;
        pacemaker) echo "rss $stack: corosync $(rss fw1 corosync) kB, pacemaker (pacemakerd + 6 daemons) $(rss fw1 pacemaker) kB, conntrackd $(rss fw1 'conntrackd -d') kB (fw1)" >&2 ;;
      esac
    fi
    "$H" down bench-stack >/dev/null 2>&1
  done
  stats s "$stack" "${xs[@]}"
done
