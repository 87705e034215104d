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
work=$(mktemp -d /tmp/halab-bench-vm.XXXXXX)
trap 'for l in $($H ls 2>/dev/null | awk "/^bvm-/{print \$1}"); do $H down $l >/dev/null 2>&1; done; rm -rf "$work"' EXIT

now() { date +%s.%N; }
stats() { # name, then samples (seconds)
  python3 - "$@" <<'PY'
import sys, statistics as s
name, xs = sys.argv[1], [float(x) for x in sys.argv[2:]]
xs.sort()
print(f"| {name} | {len(xs)} | {xs[0]:.1f} | {s.median(xs):.1f} | {xs[-1]:.1f} |")
PY
}
up_secs() { # the "N VMs answer SSH, S s after start" line of `up`
  sed -n 's/.*VMs answer SSH, \([0-9.]*\) s after start.*/\1/p' | tail -1
}
cat > "$work/one.yaml" <<'Y'
name: one
networks: { lan: { subnet: 198.18.2.0/24 } }
nodes: { a: { interfaces: { lan: 198.18.2.10 } } }
Y

"$H" image build >/dev/null
img=$("$H" image ls | awk '/debian-bookworm-ha/{print $1; exit}')
disk=/var/cache/halab/images/$img/disk.qcow2
echo "| what | n | min s | median s | max s |"
echo "|---|---|---|---|---|"
qc=()
for i in $(seq 1 "$RUNS"); do
  rm -f "$disk"; t0=$(now); "$H" image disk >/dev/null; qc+=("$(python3 -c "print($(now)-$t0)")")
done
stats "qcow2 base build (mkfs.ext4 -d + qemu-img convert), $(( $(stat -c %s "$disk") / 1000000 )) MB" "${qc[@]}"

one=(); four=(); downs1=(); downs4=(); rss=()
for i in $(seq 1 "$RUNS"); do
  one+=("$("$H" up "$work/one.yaml" --name bvm-one --provider libvirt 2>&1 | up_secs)")
  t0=$(now); "$H" down bvm-one >/dev/null 2>&1; downs1+=("$(python3 -c "print($(now)-$t0)")")
  four+=("$("$H" up topologies/fw-pair.yaml --name bvm-four --provider libvirt --stack none 2>&1 | up_secs)")
  sleep 20 # settle, then the RSS of an idle lab VM
  for p in $(pgrep -f 'guest=bvm-four-' || true); do rss+=("$(awk '/VmRSS/{print $2/1024/1024}' /proc/$p/status)"); done
  t0=$(now); "$H" down bvm-four >/dev/null 2>&1; downs4+=("$(python3 -c "print($(now)-$t0)")")
done
stats "boot to SSH, 1 VM alone (TCG)" "${one[@]}"
stats "boot to SSH, 4 VMs at once (fw-pair, TCG)" "${four[@]}"
stats "down, 1 VM" "${downs1[@]}"
stats "down, 4 VMs" "${downs4[@]}"
python3 - "${rss[@]}" <<'PY'
import sys, statistics as s
xs = sorted(float(x) * 1024 for x in sys.argv[1:])
print(f"| idle VM RSS (MiB, 640 MiB guest, 128 MiB TCG cache) | {len(xs)} | {xs[0]:.0f} | {s.median(xs):.0f} | {xs[-1]:.0f} |")
PY

# fw-pair with keepalived: up to ready, then a power cut of the master, gap seen by the client.
ups=(); gaps=()
for i in $(seq 1 "$RUNS"); do
  t0=$(now); "$H" up topologies/fw-pair.yaml --name bvm-ka --provider libvirt --stack keepalived >/dev/null 2>&1; ups+=("$(python3 -c "print($(now)-$t0)")")
  master=$("$H" status bvm-ka --json | python3 -c 'import json,sys; print([m["name"] for m in json.load(sys.stdin)["members"] if m["role"]=="MASTER"][0])')
  t0=$(now); "$H" power bvm-ka "$master" off
  for _ in $(seq 1 60); do "$H" exec bvm-ka client -- ping -c1 -W1 198.18.2.10 >/dev/null 2>&1 && break; done
  gaps+=("$(python3 -c "print($(now)-$t0)")")
  "$H" down bvm-ka >/dev/null 2>&1
done
stats "fw-pair keepalived up, to ready (4 VMs)" "${ups[@]}"
stats "master power cut -> client pings server again (ping -W1 polling)" "${gaps[@]}"
