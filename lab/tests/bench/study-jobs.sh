#!/usr/bin/env bash
# Runs per minute and starvation at --jobs 1, 2, 3 on this box, and jobs 2 against jobs 1 on
# the same cells (Mann-Whitney on the crash gap per stack). Usage: study-jobs.sh OUT [JOBS...]
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-/tmp/study-jobs}; shift || true
jobs=("${@:-1 2 3}")
for j in ${jobs[@]}; do
  start=$(date +%s.%N)
  HALAB_PLAIN=1 target/release/halab study lab/tests/bench/study-jobs.yaml --jobs "$j" -o "$out/jobs$j" >"$out-jobs$j.log" 2>&1 || true
  end=$(date +%s.%N)
  python3 - "$out/jobs$j" "$start" "$end" "$j" <<'PY'
import json, sys, glob
d, s, e, j = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
a = json.load(open(d + "/results.json"))
runs = a["runs"]
starved = [r for r in runs if r.get("starved")]
print(f"jobs {j}: {len(runs)} runs in {e-s:.0f} s = {len(runs)/((e-s)/60):.2f} runs/min, starved {len(starved)}")
PY
done
