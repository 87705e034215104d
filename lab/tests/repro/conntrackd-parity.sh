#!/bin/sh
# Runs trio-parity.yaml (three firewalls, pacemaker, conntrackd FTFW) until conntrackd leaves
# one of the traffic's flows out of a standby's external cache, then keeps everything that
# tells why: halab's parity evidence (caches, queues, conntrackd's log, the kernel's entries,
# taken when the miss was seen), each member's kernel conntrack events and sync messages from
# before the first flow, and conntrackd's whole log; then conntrackd-seq.py replays the
# standby's sequence tracking over its capture. At most RUNS runs, JOBS labs at a time, with
# conntrackd in MODE (default ftfw, which loses flows among three members; notrack does not).
# Found here: docs/conntrackd-ftfw-three-members.md.
#   lab/tests/repro/conntrackd-parity.sh [RUNS] [OUT]      (root, from the repository)
set -u
runs=${1:-60}
out=${2:-/tmp/halab-ct-parity}
jobs=${JOBS:-2}
mode=${MODE:-ftfw}
halab=${HALAB:-target/release/halab}
here=$(dirname "$0")
mkdir -p "$out"
rm -f "$out/FOUND"
# The trio lab with conntrackd in $mode, and the scenario pointing at it.
sed "s/conntrackd: notrack/conntrackd: $mode/" "$here/../data/fw-trio-5net.yaml" >"$out/topology.yaml"
sed "s#^topology: .*#topology: topology.yaml#" "$here/trio-parity.yaml" >"$out/trio-parity.yaml"

worker() {
    i=$1
    while [ "$i" -le "$runs" ] && [ ! -e "$out/FOUND" ]; do
        d=$out/run-$i
        rm -rf "$d"
        "$halab" run "$out/trio-parity.yaml" --seed "$i" --keep -o "$d" >"$d.log" 2>&1
        rec=$(ls "$d"/*/results.json 2>/dev/null | head -n 1)
        lab=$([ -n "$rec" ] && jq -r .lab "$rec")
        parity=$([ -n "$rec" ] && jq -r '.metrics["ct.parity"]' "$rec")
        echo "run $i: parity $parity ($(jq -r '.metrics["ct.parity_missing_flows"] // [] | join("; ")' "$rec" 2>/dev/null))"
        if [ "$parity" = false ]; then
            for m in fw1 fw2 fw3; do
                for f in ct-events.log sync.txt conntrackd-events.log; do
                    "$halab" exec "$lab" "$m" -- cat "/var/log/halab/$f" >"$d/$m-$f" 2>&1
                done
            done
            # The standby that lacks the flow: its sequence tracking, replayed.
            flow=$(jq -r '.metrics["ct.parity_missing_flows"][0]' "$rec")
            on=${flow##* not on }; on=${on%%,*}
            ports=$(echo "$flow" | sed -E 's/^[a-z]+ [0-9.]+:([0-9]+) -> [0-9.]+:([0-9]+).*/\1 \2/')
            # fw-trio-5net.yaml: fwN is 198.18.5.N on the sync network.
            python3 "$here/conntrackd-seq.py" "$d/$on-sync.txt" "198.18.5.${on#fw}" $ports >"$d/$on-sequence.txt" 2>&1
            echo "$d ($flow; $on's sequence tracking replayed: $d/$on-sequence.txt)" >>"$out/FOUND"
        fi
        [ -n "$lab" ] && "$halab" down "$lab" >/dev/null 2>&1
        i=$((i + jobs))
    done
}

j=1
while [ "$j" -le "$jobs" ]; do
    worker "$j" &
    j=$((j + 1))
done
wait
if [ -e "$out/FOUND" ]; then
    echo "a flow was missing: $(cat "$out/FOUND")"
else
    echo "no flow missing in $runs runs"
    exit 1
fi
