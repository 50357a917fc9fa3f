#!/usr/bin/env bash
# Reliability figures: builds ingressd, runs each scenario in bench/reliability/
# (loopback only, each bounded in time, each stopping by itself) and prints one
# Markdown table of the figures they report. See bench/README.md, "Reliability".
#
# Env knobs:
#   ONLY=fuzz,soak     run only these scenarios (comma-separated names)
#   SKIP_BUILD=1       do not run `npm run build` first (dist/ must exist)
#   TIME_SCALE=2       multiply every scenario's time bound (a slower machine)
#
# A scenario prints `FIGURE<TAB>scenario<TAB>figure<TAB>measured<TAB>goal<TAB>ok|FAIL`
# lines (collected here) and anything else as progress (shown as is); it exits 0
# when it ran to its end. Exit status: 0 when every figure is ok and no scenario
# crashed or overran its bound, 1 otherwise.
set -uo pipefail

cd "$(dirname "$0")/.."

# Order and time bound (seconds) of each scenario.
SCENARIOS=(reload-under-load fuzz hostile-clients faulty-upstreams soak)
declare -A BOUND=([reload-under-load]=300 [fuzz]=900 [hostile-clients]=300 [faulty-upstreams]=300 [soak]=480)
TIME_SCALE=${TIME_SCALE:-1}

die() { echo "reliability: $*" >&2; exit 1; }
command -v node >/dev/null || die "'node' not found"
command -v timeout >/dev/null || die "'timeout' not found (coreutils)"
command -v wrk >/dev/null || die "'wrk' not found: apt-get install -y wrk (Debian installs it at /usr/bin/wrk)"

if [[ -n ${ONLY:-} ]]; then
  IFS=, read -r -a selected <<<"$ONLY"
  for name in "${selected[@]}"; do
    [[ -n ${BOUND[$name]:-} ]] || die "unknown scenario '$name' in ONLY (known: ${SCENARIOS[*]})"
  done
else
  selected=("${SCENARIOS[@]}")
fi

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  npm run build >/dev/null || die "npm run build failed"
fi
[[ -f dist/cli.js ]] || die "dist/cli.js not found: run 'npm run build'"

figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
crashed=0
started=$(date +%s)

for name in "${SCENARIOS[@]}"; do
  [[ " ${selected[*]} " == *" $name "* ]] || continue
  file=bench/reliability/$name.mjs
  if [[ ! -f $file ]]; then
    echo "== $name: skipped, $file does not exist yet"
    continue
  fi
  bound=$(awk -v b="${BOUND[$name]}" -v s="$TIME_SCALE" 'BEGIN { printf "%d", b * s }')
  echo "== $name (bound ${bound} s)"
  t0=$(date +%s)
  # The scenario's FIGURE lines go to the table, the rest to the terminal.
  timeout --signal=TERM --kill-after=15 "$bound" node "$file" | while IFS= read -r line; do
    if [[ $line == FIGURE$'\t'* ]]; then
      printf '%s\n' "$line" >>"$figures"
      IFS=$'\t' read -r _ scenario figure measured goal result <<<"$line"
      echo "   $figure: $measured (goal $goal) $result"
    else
      printf '%s\n' "$line"
    fi
  done
  status=${PIPESTATUS[0]}
  echo "== $name: exit $status after $(($(date +%s) - t0)) s"
  if ((status == 124 || status == 137)); then
    printf 'FIGURE\t%s\t%s\t%s\t%s\tFAIL\n' "$name" "finished within its bound" "stopped after ${bound} s" "≤ ${bound} s" >>"$figures"
    crashed=1
  elif ((status != 0)); then
    printf 'FIGURE\t%s\t%s\t%s\t%s\tFAIL\n' "$name" "scenario ran to its end" "exit $status" "exit 0" >>"$figures"
    crashed=1
  fi
done

echo
echo "Reliability, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, node $(node --version), $(($(date +%s) - started)) s in all"
echo
echo "| scenario | figure | measured | goal | result |"
echo "| --- | --- | --- | --- | --- |"
failed=0
while IFS=$'\t' read -r _ scenario figure measured goal result; do
  echo "| $scenario | $figure | $measured | $goal | $result |"
  [[ $result == ok ]] || failed=1
done <"$figures"
if [[ ! -s $figures ]]; then
  echo "| (none) | no scenario reported a figure | | | FAIL |"
  failed=1
fi
((failed || crashed)) && exit 1
exit 0
