#!/usr/bin/env bash
# Hosts provider figures (issue 16), as root, release binary: the "hosts" are a netns rack
# (lab/tests/data/hosts/rack.yaml) reached over SSH. Per run, alternating with the netns
# provider on the same machine: fw-pair + keepalived up to ready and down; the lease
# acquisition of 4 hosts (from up's own line); a health check of the 4 hosts, per host.
# Usage: [HALAB=BUILD/halab] lab/tests/bench/hosts.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUNS=${1:-5}
H=${HALAB:-$PWD/target/release/halab}   # HALAB=OTHER/halab: another build, same figures
export HALAB_PLAIN=1
source lab/tests/bench/common.sh
work=$(mktemp -d /tmp/halab-bench-hosts.XXXXXX)
trap '$H down bench-hosts >/dev/null 2>&1 || true; $H down bench-netns >/dev/null 2>&1 || true; $H down rack >/dev/null 2>&1 || true; rm -rf "$work" /var/lib/halab/hosts/rack' EXIT
$H down rack >/dev/null 2>&1 || true
$H up lab/tests/data/hosts/rack.yaml >/dev/null
python3 - "$H" "$work/inv.yaml" <<'PY'
import json, subprocess, sys
h, out = sys.argv[1], sys.argv[2]
nets = {"sw-a": "inet", "sw-b": "lan", "sw-c": "heartbeat"}
y = "name: rack\nhosts:\n"
for n in ["h1", "h2", "h3", "h4"]:
    ex = lambda c: json.loads(subprocess.check_output([h, "exec", "rack", n, "--", "sh", "-c", c]))
    mgmt = ex("ip -j -4 addr show mgmt")[0]["addr_info"][0]["local"]
    y += f"  {n}:\n    address: {mgmt}\n    key: /var/lib/halab/labs/rack/ssh/id_ed25519\n    nics:\n"
    y += "".join(f"      {l['address']}: {nets[l['ifname']]}\n" for l in ex("ip -j link") if l["ifname"] in nets)
    y += f"    power: {{ driver: command, off: '{h} power rack {n} off', on: '{h} power rack {n} on', status: '{h} exec rack {n} -- true' }}\n"
open(out, "w").write(y)
PY
$H hosts trust --inventory "$work/inv.yaml" >/dev/null
declare -a up_h down_h up_n down_n lease check
for i in $(seq 1 "$RUNS"); do
  t0=$(now); out=$($H up topologies/fw-pair.yaml --name bench-hosts --provider hosts --inventory "$work/inv.yaml" 2>&1); up_h+=("$(since "$t0")")
  lease+=("$(echo "$out" | sed -n 's/.*4 hosts leased in \([0-9.]*\) s.*/\1/p')")
  down_h+=("$(timeit "$H" down bench-hosts)")
  up_n+=("$(timeit "$H" up topologies/fw-pair.yaml --name bench-netns)")
  down_n+=("$(timeit "$H" down bench-netns)")
  while read -r s; do check+=("$s"); done < <($H hosts check --inventory "$work/inv.yaml" | sed -n 's/.*healthy (\([0-9.]*\) s).*/\1/p')
done
echo "| fw-pair + keepalived | n | min | median | p95 | max |"
echo "|---|---|---|---|---|---|"
stats s "up, hosts provider (4 netns hosts, s)" "${up_h[@]}"
stats s "up, netns provider (s)" "${up_n[@]}"
stats s "down, hosts provider (s)" "${down_h[@]}"
stats s "down, netns provider (s)" "${down_n[@]}"
stats ms "lease acquisition, 4 hosts (ms)" "${lease[@]}"
stats ms "health check per host (ms)" "${check[@]}"
