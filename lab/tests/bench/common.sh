# Shared by the bench scripts (sourced): timing and the table row of a set of samples.
now() { date +%s.%N; }
since() { python3 -c "print($(now) - $1)"; } # seconds since a `now`
timeit() { local t0; t0=$(now); "$@" >/dev/null 2>&1; since "$t0"; }
# stats UNIT NAME SAMPLES... (samples in seconds; UNIT ms or s): | name | n | min | median | p95 | max |
stats() {
  python3 - "$@" <<'PY'
import sys, statistics as s
unit, name, xs = sys.argv[1], sys.argv[2], sorted(float(x) for x in sys.argv[3:])
k, fmt = (1000, "{:.0f}") if unit == "ms" else (1, "{:.2f}")
p95 = xs[min(len(xs)-1, round(0.95*(len(xs)-1)))]
cells = [fmt.format(v * k) for v in (xs[0], s.median(xs), p95, xs[-1])]
print(f"| {name} | {len(xs)} | " + " | ".join(cells) + " |")
PY
}
