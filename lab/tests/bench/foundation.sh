#!/usr/bin/env bash
# Foundation figures (issue 3), as root, with the release binary:
#   image build cold and cached, fw-pair up/down, up of generated 4/8/16-node labs, idle node RSS.
# Usage: lab/tests/bench/foundation.sh [RUNS] [COLD_RUNS]   (defaults 5 and 5)
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUNS=${1:-5}; COLD=${2:-5}
H=$PWD/target/release/halab
export HALAB_PLAIN=1
source lab/tests/bench/common.sh
work=$(mktemp -d /tmp/halab-bench.XXXXXX)
trap 'for l in $($H ls 2>/dev/null | awk "/^bench-/{print \$1}"); do $H down $l >/dev/null 2>&1; done; rm -rf "$work"' EXIT


gen_topology() { # N nodes on two networks
  local n=$1 f=$work/gen-$1.yaml
  { echo "name: gen$n"; echo "networks:"; echo "  lan: { subnet: 198.18.2.0/24 }"; echo "  heartbeat: { subnet: 198.18.3.0/24 }"; echo "nodes:"
    for i in $(seq 1 "$n"); do echo "  n$i: { interfaces: { lan: 198.18.2.$i, heartbeat: 198.18.3.$i } }"; done; } > "$f"
  echo "$f"
}

echo "| what | n | min ms | median ms | p95 ms | max ms |"
echo "|---|---|---|---|---|---|"
cold=()
for i in $(seq 1 "$COLD"); do
  cold+=("$(HALAB_IMAGE_CACHE=$work/cache-$i timeit "$H" image build)")
  rm -rf "$work/cache-$i"
done
[ "$COLD" -gt 0 ] && stats ms "image build, cold (mmdebstrap)" "${cold[@]}"
"$H" image build >/dev/null
hit=(); for i in $(seq 1 "$RUNS"); do hit+=("$(timeit "$H" image build)"); done
stats ms "image build, cached" "${hit[@]}"

ups=(); downs=()
for i in $(seq 1 "$RUNS"); do
  ups+=("$(timeit "$H" up topologies/fw-pair.yaml --name bench-fw --stack none)")
  "$H" exec bench-fw client -- ping -c1 -W1 198.18.2.10 >/dev/null || { echo "bench: fw-pair lab did not route" >&2; exit 3; }
  downs+=("$(timeit "$H" down bench-fw)")
done
stats ms "up fw-pair (4 nodes, --stack none)" "${ups[@]}"
stats ms "down fw-pair" "${downs[@]}"

for n in 4 8 16; do
  f=$(gen_topology "$n"); u=(); d=()
  for i in $(seq 1 "$RUNS"); do
    u+=("$(timeit "$H" up "$f" --name "bench-g$n")")
    d+=("$(timeit "$H" down "bench-g$n")")
  done
  stats ms "up generated $n nodes" "${u[@]}"
  stats ms "down generated $n nodes" "${d[@]}"
done

# RSS of an idle node: every process in its PID namespace (init + sshd), and the supervisor.
"$H" up topologies/fw-pair.yaml --name bench-rss --stack none >/dev/null 2>&1
sleep 1
init=$("$H" status bench-rss --json | python3 -c 'import json,sys; print([n for n in json.load(sys.stdin)["nodes"] if n["name"]=="client"][0]["init_pid"])')
ns=$(readlink /proc/$init/ns/pid); kb=0; procs=0
for p in /proc/[0-9]*; do
  [ "$(readlink $p/ns/pid 2>/dev/null)" = "$ns" ] || continue
  r=$(awk '/^VmRSS/{print $2}' $p/status 2>/dev/null || echo 0); kb=$((kb + ${r:-0})); procs=$((procs+1))
done
sup=$(python3 -c 'import json; print([o["pid"] for o in json.load(open("/var/lib/halab/labs/bench-rss/ledger.json"))["objects"] if o.get("what")=="supervisor"][0])')
supkb=$(awk '/^VmRSS/{print $2}' /proc/$sup/status)
echo
echo "idle node (client: $procs processes, init + sshd): RSS $((kb/1024)) MiB ($kb kB); lab supervisor RSS $supkb kB"
"$H" down bench-rss >/dev/null 2>&1
