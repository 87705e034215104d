#!/usr/bin/env bash
# How many labs at once this box holds: the crash on both stacks (study-jobs.yaml, 2 cells x 6)
# with --jobs 1, 2 and 3: runs per minute, starved runs, and each cell's gaps at jobs 2 (and 3)
# against jobs 1 by an exact two-sided Mann-Whitney test (can a rank test tell them apart?).
# Usage: lab/tests/bench/study-jobs.sh [OUT] ; prints one line per jobs level and comparison.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-/tmp/study-jobs}
mkdir -p "$out"
for j in 1 2 3; do
  start=$(date +%s.%N)
  HALAB_PLAIN=1 target/release/halab study lab/tests/bench/study-jobs.yaml --jobs "$j" -o "$out/jobs$j" >"$out/jobs$j.log" 2>&1 || true
  end=$(date +%s.%N)
  echo "$j $start $end" >>"$out/times"
done
python3 - "$out" <<'PY'
import json, sys, itertools
out = sys.argv[1]
times = {int(l.split()[0]): float(l.split()[2]) - float(l.split()[1]) for l in open(out + "/times")}
gaps = {}
for j, secs in sorted(times.items()):
    a = json.load(open(f"{out}/jobs{j}/results.json"))
    runs = a["runs"]
    starved = [r for r in runs if r.get("starved")]
    print(f"jobs {j}: {len(runs)} runs in {secs:.0f} s = {len(runs) / (secs / 60):.2f} runs/min; starved {len(starved)}: {[r['starved'] for r in starved]}")
    for r in runs:
        rec = r["record"]
        if r.get("starved") or rec["outcome"] not in ("passed", "failed"):
            continue
        g = rec["metrics"].get("probe.gap")
        if isinstance(g, (int, float)):
            gaps.setdefault((rec["stack"], j), []).append(g)

def mw(a, b):
    pooled = a + b
    def u(xs, ys):
        return sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in xs for y in ys)
    obs = u(a, b)
    mean = len(a) * len(b) / 2
    n, k, total = 0, 0, 0
    for idx in itertools.combinations(range(len(pooled)), len(a)):
        xs = [pooled[i] for i in idx]
        ys = [pooled[i] for i in range(len(pooled)) if i not in idx]
        total += 1
        if abs(u(xs, ys) - mean) >= abs(obs - mean) - 1e-9:
            k += 1
    shift = sorted(y - x for x in a for y in b)
    return k / total, shift[len(shift) // 2]

for stack in sorted({s for s, _ in gaps}):
    base = gaps.get((stack, 1), [])
    for j in (2, 3):
        other = gaps.get((stack, j), [])
        if base and other:
            p, shift = mw(base, other)
            med = lambda xs: sorted(xs)[len(xs) // 2]
            print(f"{stack}: jobs 1 median {med(base):.0f} ms (n={len(base)}) vs jobs {j} median {med(other):.0f} ms (n={len(other)}): shift {shift:+.0f} ms, exact Mann-Whitney p = {p:.3f}")
PY
