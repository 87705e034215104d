#!/usr/bin/env bash
# Before/after figures of one change, in one run, alternating the two builds so both see the
# same machine state: fw-pair up and down on netns (keepalived), and scp-survives-failover on
# both stacks (wall time of the run, probe gap, TCP stall).
# Usage: lab/tests/bench/compare.sh BEFORE_DIR BEFORE_REV [RUNS]
#   BEFORE_DIR holds the previous commit's halab and halab-node (cargo build --release there);
#   BEFORE_REV is that commit, whose scenario file the old binary understands.
set -euo pipefail
cd "$(dirname "$0")/../../.."
OLD=$1/halab; REV=$2; RUNS=${3:-3}
NEW=$PWD/target/release/halab
export HALAB_PLAIN=1
source lab/tests/bench/common.sh
work=$(mktemp -d /tmp/halab-compare.XXXXXX)
trap 'for h in "$OLD" "$NEW"; do for l in $($h ls 2>/dev/null | awk "/^cmp-/{print \$1}"); do $h down $l >/dev/null 2>&1; done; done; rm -rf "$work"' EXIT
# The old binary reads the scenario as it was at BEFORE_REV (newer fields would be refused).
git show "$REV:scenarios/scp-survives-failover.yaml" | sed "s#^topology: .*#topology: $PWD/topologies/fw-pair.yaml#" > "$work/old-scp.yaml"

declare -A up down wall gap tcp
for i in $(seq 1 "$RUNS"); do
  for which in old new; do
    h=$OLD; [ $which = new ] && h=$NEW
    up[$which]+=" $(timeit "$h" up topologies/fw-pair.yaml --name cmp-fw)"
    down[$which]+=" $(timeit "$h" down cmp-fw)"
    sc=$PWD/scenarios/scp-survives-failover.yaml; [ $which = old ] && sc=$work/old-scp.yaml
    for stack in keepalived pacemaker; do
      out=$work/$which-$stack-$i
      t0=$(now); "$h" run "$sc" --stack $stack -o "$out" >/dev/null 2>&1 || true; w=$(since "$t0")
      read -r g t < <(python3 -c "import json,glob; r=json.load(open(glob.glob('$out/*/results.json')[0])); m=r['metrics']; print(m.get('probe.gap',-1)/1000, m.get('probe.tcp.gap',-1)/1000)")
      wall[$which-$stack]+=" $w"; gap[$which-$stack]+=" $g"; tcp[$which-$stack]+=" $t"
    done
  done
done
echo "| what | n | min | median | p95 | max |"
echo "|---|---|---|---|---|---|"
for which in old new; do
  # shellcheck disable=SC2086
  stats ms "$which: up fw-pair, keepalived (ms)" ${up[$which]}
  # shellcheck disable=SC2086
  stats ms "$which: down fw-pair (ms)" ${down[$which]}
  for stack in keepalived pacemaker; do
    # shellcheck disable=SC2086
    { stats s "$which: scp-survives-failover $stack, run wall (s)" ${wall[$which-$stack]}
      stats s "$which: scp-survives-failover $stack, probe gap (s)" ${gap[$which-$stack]}
      stats s "$which: scp-survives-failover $stack, TCP stall (s)" ${tcp[$which-$stack]}; }
  done
done
