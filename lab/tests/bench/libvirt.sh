#!/usr/bin/env bash
# libvirt provider figures (issue 5), as root, with the release binary and a running libvirtd:
#   qcow2 base build, boot to SSH of one VM alone and of fw-pair's four at once, RSS per VM,
#   down, fw-pair with keepalived up and a power-cut failover, as seen from the client.
# Usage: lab/tests/bench/libvirt.sh [RUNS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUNS=${1:-3}
H=$PWD/target/release/halab
export HALAB_PLAIN=1
source lab/tests/bench/common.sh
work=$(mktemp -d /tmp/halab-bench-vm.XXXXXX)
trap 'for l in $($H ls 2>/dev/null | awk "/^bvm-/{print \$1}"); do $H down $l >/dev/null 2>&1; done; rm -rf "$work"' EXIT

up_secs() { # the "N VMs answer SSH, S s after start" line of `up`
  sed -n 's/.*VMs answer SSH, \([0-9.]*\) s after start.*/\1/p' | tail -1
}
cat > "$work/one.yaml" <<'Y'
name: one
networks: { lan: { subnet: 198.18.2.0/24 } }
nodes: { a: { interfaces: { lan: 198.18.2.10 } } }
Y

"$H" image build >/dev/null
img=$("$H" image ls | awk '/debian-trixie-ha/{print $1; exit}')
disk=/var/cache/halab/images/$img/disk.qcow2
echo "| what | n | min | median | p95 | max |"
echo "|---|---|---|---|---|---|"
qc=()
for i in $(seq 1 "$RUNS"); do
  rm -f "$disk"; t0=$(now); "$H" image disk >/dev/null; qc+=("$(since "$t0")")
done
stats s "qcow2 base build, s (mkfs.ext4 -d + qemu-img convert), $(( $(stat -c %s "$disk") / 1000000 )) MB" "${qc[@]}"

one=(); four=(); downs1=(); downs4=(); rss=()
for i in $(seq 1 "$RUNS"); do
  one+=("$("$H" up "$work/one.yaml" --name bvm-one --provider libvirt 2>&1 | up_secs)")
  t0=$(now); "$H" down bvm-one >/dev/null 2>&1; downs1+=("$(since "$t0")")
  four+=("$("$H" up topologies/fw-pair.yaml --name bvm-four --provider libvirt --stack none 2>&1 | up_secs)")
  sleep 20 # settle, then the RSS of an idle lab VM
  for p in $(pgrep -f 'guest=bvm-four-' || true); do rss+=("$(awk '/VmRSS/{print $2/1024}' /proc/$p/status)"); done
  t0=$(now); "$H" down bvm-four >/dev/null 2>&1; downs4+=("$(since "$t0")")
done
stats s "boot to SSH, 1 VM alone (TCG), s" "${one[@]}"
stats s "boot to SSH, 4 VMs at once (fw-pair, TCG), s" "${four[@]}"
stats s "down, 1 VM, s" "${downs1[@]}"
stats s "down, 4 VMs, s" "${downs4[@]}"
stats s "idle VM RSS in MiB (640 MiB guest, 128 MiB TCG cache)" "${rss[@]}"

# fw-pair with keepalived: up to ready, then a power cut of the master, gap seen by the client.
ups=(); gaps=()
for i in $(seq 1 "$RUNS"); do
  t0=$(now); "$H" up topologies/fw-pair.yaml --name bvm-ka --provider libvirt --stack keepalived >/dev/null 2>&1; ups+=("$(since "$t0")")
  master=$("$H" status bvm-ka --json | python3 -c 'import json,sys; print([m["name"] for m in json.load(sys.stdin)["members"] if m["role"]=="MASTER"][0])')
  t0=$(now); "$H" power bvm-ka "$master" off
  for _ in $(seq 1 60); do "$H" exec bvm-ka client -- ping -c1 -W1 198.18.2.10 >/dev/null 2>&1 && break; done
  gaps+=("$(since "$t0")")
  "$H" down bvm-ka >/dev/null 2>&1
done
stats s "fw-pair keepalived up, to ready (4 VMs), s" "${ups[@]}"
stats s "master power cut -> client pings server again (ping -W1 polling), s" "${gaps[@]}"
