#!/usr/bin/env bash
# Benchmark harness: ingressd against nginx and two bare Node proxies, all in
# front of the same nginx upstream on 127.0.0.1. See bench/README.md.
#
# Env knobs:
#   DURATION=10       seconds per measured wrk run
#   ROUNDS=2          rounds over all targets (best round per target is reported)
#   WARMUP=2          seconds of unmeasured wrk before each measured run
#   CONNECTIONS=50    wrk connections (-c)
#   SKIP_INGRESSD=1   skip the ingressd targets and the reload test
#   KEEP_TMP=1        keep the temp dir (configs, logs, raw wrk output)
#   INGRESSD=dist/cli.js  the ingressd entry point to run with node
#   PIN=auto          1: proxies on the last CPU, wrk and the upstream on the others;
#                     0: no pinning; auto: 1 when there are 2+ CPUs and taskset exists
#   BIG=1             also load each proxy with a 64 KiB response body (0: skip)
#   ONLY=regex        load only the targets whose key matches (e.g. 'undici|ingressd-1$'; keys:
#                     upstream nginx http-proxy undici caddy ingressd-1 ingressd-1k ingressd-rc
#                     ingressd-w2, a -64k suffix for the 64 KiB rows, caddy-h2 ingressd-h2);
#                     every process still starts. Skips the reload test unless ingressd-1k matches.
# Caddy (GOMAXPROCS=1, pinned like the others) is a target when `caddy` is installed
# (apt-get install -y caddy). With `h2load` (apt-get install -y nghttp2-client), HTTP/2
# over TLS is measured too: ingressd's HTTPS port against Caddy's.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-50}
SKIP_INGRESSD=${SKIP_INGRESSD:-0}
KEEP_TMP=${KEEP_TMP:-0}
INGRESSD=${INGRESSD:-dist/cli.js}
PIN=${PIN:-auto}
BIG=${BIG:-1}
ONLY=${ONLY:-}
HOST=bench.localhost
EXTRA_HOSTS=1000
EXTRA_PATHS=10

die() { echo "bench: $*" >&2; exit 1; }

for tool in wrk nginx curl node; do
  command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install -y wrk nginx curl)"
done
if [[ $SKIP_INGRESSD != 1 && ! -f $INGRESSD ]]; then
  die "$INGRESSD not found: run 'npm run build' first (or SKIP_INGRESSD=1 to bench the baselines only)"
fi

# CPU pinning. On a small box the load generator, the upstream and the proxy under
# test otherwise share every core, and how the scheduler splits them changes from
# one run to the next (measured here: 10-30 % between rounds). Pinned, each proxy
# has one core of its own, as it would in production, and wrk and the upstream
# share the rest; every proxy gets the same treatment.
NCPU=$(nproc)
if [[ $PIN == auto ]]; then
  if ((NCPU >= 2)) && command -v taskset >/dev/null; then PIN=1; else PIN=0; fi
fi
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
  ((NCPU >= 2)) || die "PIN=1 needs 2 or more CPUs"
  PROXY_CPUS=$((NCPU - 1))
  if ((NCPU == 2)); then LOAD_CPUS=0; else LOAD_CPUS=0-$((NCPU - 2)); fi
  LOAD_CMD=(taskset -c "$LOAD_CPUS")
  PROXY_CMD=(taskset -c "$PROXY_CPUS")
  PIN_NOTE="proxies pinned to CPU $PROXY_CPUS, wrk and the upstream to CPU $LOAD_CPUS"
else
  LOAD_CMD=()
  PROXY_CMD=()
  PIN_NOTE="no CPU pinning"
fi

TMP=$(mktemp -d /tmp/ingressd-bench.XXXXXX)
chmod 755 "$TMP" # nginx workers may run as 'nobody' and need to reach their temp dirs
PIDS=()
LOAD_PID= # the wrk run in progress, if any

# Kill everything we started, even on failure or Ctrl-C. Keep the temp dir when
# something failed, because its logs are what you need to see why.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in $LOAD_PID "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $LOAD_PID "${PIDS[@]}"; do
    # Give each process up to 2 s to exit, then force it.
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 || $KEEP_TMP == 1 ]]; then
    echo "bench: temp dir kept: $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Pick N distinct free loopback ports by holding them all open at once.
free_ports() {
  node -e '
    const net = require("net");
    const servers = Array.from({ length: +process.argv[1] }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
      .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });
  ' "$1"
}

# start NAME CMD...: run CMD in the background, output to $TMP/NAME.log; sets LAST_PID.
# (Not called via $(...): a subshell would lose PIDS and own the child.)
start() {
  local name=$1; shift
  "$@" >"$TMP/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# load SECONDS OUTFILE URL: one wrk run, bounded by `timeout` even if a server
# hangs. Run in the background and `wait`ed for, because bash defers its INT
# trap until a foreground child exits, and wrk treats SIGINT as "stop and print
# results" (exit 0), so Ctrl-C would otherwise just skip to the next target.
load() {
  local secs=$1 out=$2 url=$3
  timeout $((secs + 30)) "${LOAD_CMD[@]}" wrk -t1 -c"$CONNECTIONS" -H "Host: $HOST" -H "Origin: https://app.bench.localhost" --latency -d"${secs}s" "$url" >"$out" &
  LOAD_PID=$!
  local rc=0
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  return "$rc"
}

# wait_ok NAME PID URL [TIMEOUT]: wait until URL answers 2xx with Host: $HOST.
wait_ok() {
  local name=$1 pid=$2 url=$3 timeout=${4:-10}
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$TMP/$name.log" >&2; die "$name exited during startup (log above)"; }
    curl -sf -o /dev/null --max-time 1 -H "Host: $HOST" "$url" && return 0
    sleep 0.1
  done
  tail -20 "$TMP/$name.log" >&2
  die "$name: $url did not answer 2xx within ${timeout}s (log above)"
}

# RSS of a process plus its direct children (nginx master + worker), in KiB.
rss_kib() {
  local total=0 pid kb
  for pid in "$1" $(pgrep -P "$1" || true); do
    kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

# CPU time (user + system, in clock ticks) of a process plus its direct children.
# Per request it is steadier than req/s on a shared 2-core box: it does not depend
# on how the scheduler split the cores between wrk, the upstream and the proxy.
cpu_ticks() {
  local total=0 pid t
  for pid in "$1" $(pgrep -P "$1" || true); do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true)
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

# wrk output -> "req/s <TAB> p50_ms <TAB> p99_ms <TAB> non2xx <TAB> socket_errors".
parse_wrk() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "Requests/sec:" { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { gsub(",", ""); errs = $4 + $6 + $8 + $10 }
    END {
      if (rps == "") exit 1
      printf "%s\t%.3f\t%.3f\t%d\t%d\n", rps, p50, p99, non2xx, errs
    }' "$1"
}

# nginx_conf PREFIX PORT HTTP_EXTRA LOCATION [SERVER_EXTRA]: a self-contained nginx.conf in PREFIX.
nginx_conf() {
  local prefix=$1 port=$2 http_extra=$3 location=$4 server_extra=${5:-}
  mkdir -p "$prefix/tmp"
  chmod 755 "$prefix" "$prefix/tmp"
  cat >"$prefix/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type text/plain;
  # nginx closes a client connection after 1000 requests by default; Node does
  # not, so lift the cap to keep wrk's connections alive for every target.
  keepalive_requests 1000000;
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
$http_extra
  server {
    listen 127.0.0.1:$port default_server;
    location / { $location }
$server_extra
  }
}
EOF
}

# ---------------------------------------------------------------- processes
# Load average before we add our own: anything well above 0 means other work is
# competing for the CPUs and the figures will be noisy.
LOADAVG=$(cut -d' ' -f1 /proc/loadavg)
read -r UP_PORT NGX_PORT HP_PORT UN_PORT ING1_PORT ING1_ADMIN INGK_PORT INGK_ADMIN INGRC_PORT INGRC_ADMIN CADDY_PORT CADDY_H2_PORT INGH2_PORT INGH2_HTTPS INGH2_ADMIN INGW_PORT INGW_ADMIN <<<"$(free_ports 17)"

# nginx upstream: the thing every proxy forwards to. `/` answers 3 bytes; `/64k` a
# 64 KiB file (the body path: chunks, copies and socket writes rather than routing).
mkdir -p "$TMP/upstream/www"
head -c 65536 /dev/zero | tr '\0' 'x' >"$TMP/upstream/www/64k"
nginx_conf "$TMP/upstream" "$UP_PORT" "" 'return 200 "ok\n";' "    location = /64k { root $TMP/upstream/www; }"
start upstream "${LOAD_CMD[@]}" nginx -p "$TMP/upstream" -c "$TMP/upstream/nginx.conf" -e "$TMP/upstream/error.log"
UP_PID=$LAST_PID
wait_ok upstream "$UP_PID" "http://127.0.0.1:$UP_PORT/"

# nginx reverse proxy: the reference for what a mature C proxy does.
nginx_conf "$TMP/proxy" "$NGX_PORT" "  upstream backend {
    server 127.0.0.1:$UP_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }" 'proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";'
start nginx-proxy "${PROXY_CMD[@]}" nginx -p "$TMP/proxy" -c "$TMP/proxy/nginx.conf" -e "$TMP/proxy/error.log"
NGX_PID=$LAST_PID
wait_ok nginx-proxy "$NGX_PID" "http://127.0.0.1:$NGX_PORT/"

start http-proxy "${PROXY_CMD[@]}" node bench/baselines/http-proxy.mjs "$HP_PORT" "$UP_PORT"
HP_PID=$LAST_PID
wait_ok http-proxy "$HP_PID" "http://127.0.0.1:$HP_PORT/"

start undici "${PROXY_CMD[@]}" node bench/baselines/undici.mjs "$UN_PORT" "$UP_PORT"
UN_PID=$LAST_PID
wait_ok undici "$UN_PID" "http://127.0.0.1:$UN_PORT/"

# Targets, in the order they are run in each round: key|label|port|pid.
TARGETS=(
  "upstream|nginx upstream (direct)|$UP_PORT|$UP_PID"
  "nginx|nginx proxy|$NGX_PORT|$NGX_PID"
  "http-proxy|bare http-proxy|$HP_PORT|$HP_PID"
  "undici|bare undici|$UN_PORT|$UN_PID"
)
# The proxies loaded again with the 64 KiB body (BIG=1), beside the 3-byte rows.
BIG_KEYS="nginx http-proxy undici caddy ingressd-1"

# Caddy as `caddy reverse-proxy` would run it: one core (GOMAXPROCS=1, pinned like the
# others), no access log (its default), no admin endpoint, no automatic HTTPS.
if command -v caddy >/dev/null; then
  mkdir -p "$TMP/caddy"
  cat >"$TMP/caddy/Caddyfile" <<EOF
{
  admin off
  auto_https disable_redirects
}
http://:$CADDY_PORT {
  bind 127.0.0.1
  reverse_proxy 127.0.0.1:$UP_PORT
}
EOF
  if command -v h2load >/dev/null; then
    # HTTP/2 over TLS with Caddy's internal CA; h2load connects to the address, so SNI is empty.
    sed -i "s|^  admin off|  admin off\n  default_sni $HOST\n  skip_install_trust|" "$TMP/caddy/Caddyfile"
    cat >>"$TMP/caddy/Caddyfile" <<EOF
https://$HOST:$CADDY_H2_PORT {
  bind 127.0.0.1
  tls internal
  reverse_proxy 127.0.0.1:$UP_PORT
}
EOF
  fi
  start caddy env GOMAXPROCS=1 XDG_DATA_HOME="$TMP/caddy" XDG_CONFIG_HOME="$TMP/caddy" HOME="$TMP/caddy" \
    "${PROXY_CMD[@]}" caddy run --config "$TMP/caddy/Caddyfile" --adapter caddyfile
  CADDY_PID=$LAST_PID
  wait_ok caddy "$CADDY_PID" "http://127.0.0.1:$CADDY_PORT/" 20
  TARGETS+=("caddy|Caddy (GOMAXPROCS 1)|$CADDY_PORT|$CADDY_PID")
  CADDY_VERSION="caddy $(caddy version | cut -d' ' -f1)"
else
  echo "bench: caddy not installed (apt-get install -y caddy): no Caddy row" >&2
  CADDY_VERSION="no caddy"
fi

# bench_ingress [PATH [PATH_TYPE [ANNOTATION...]]]: the benchmarked Ingress (host $HOST → Service
# bench:80) as a YAML document on stdout; TLS=1 adds a TLS entry for the host (local CA).
bench_ingress() {
  local path=${1:-/} type=${2:-Prefix} a
  shift $(($# < 2 ? $# : 2))
  printf -- '---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: bench\n  namespace: default\n'
  if (($# > 0)); then
    echo "  annotations:"
    for a in "$@"; do echo "    $a"; done
  fi
  echo "spec:"
  if [[ ${TLS:-0} == 1 ]]; then printf '  tls:\n    - hosts: [%s]\n' "$HOST"; fi
  cat <<EOF
  rules:
    - host: $HOST
      http:
        paths:
          - path: $path
            pathType: $type
            backend:
              service:
                name: bench
                port:
                  number: 80
EOF
}

if [[ $SKIP_INGRESSD != 1 ]]; then
  # Rules for the benchmarked route: Service + Endpoints -> nginx upstream, and
  # an Ingress for bench.localhost.
  mkdir -p "$TMP/rules-1"
  cat >"$TMP/rules-1/backend.yaml" <<EOF
apiVersion: v1
kind: Service
metadata:
  name: bench
  namespace: default
spec:
  ports:
    - name: http
      port: 80
      targetPort: $UP_PORT
---
apiVersion: v1
kind: Endpoints
metadata:
  name: bench
  namespace: default
subsets:
  - addresses:
      - ip: 127.0.0.1
    ports:
      - name: http
        port: $UP_PORT
EOF
  bench_ingress >"$TMP/rules-1/ingress.yaml"
  # Same route plus 1,000 other hosts x 10 paths: routing cost must not grow
  # with the table. The measured request still goes to bench.localhost.
  mkdir -p "$TMP/rules-1k"
  cp "$TMP/rules-1/backend.yaml" "$TMP/rules-1/ingress.yaml" "$TMP/rules-1k/"
  node bench/gen-rules.mjs "$TMP/rules-1k" "$EXTRA_HOSTS" "$EXTRA_PATHS" "$UP_PORT"

  # The same route with ingress-nginx annotations: a regex rewrite (to the same path, so
  # the upstream still answers "ok") and CORS (wrk sends an Origin, so the headers are
  # added to every response). Goal: within 10% of the plain route.
  mkdir -p "$TMP/rules-rc"
  # The Service and Endpoints of rules-1, then the annotated Ingress.
  cp "$TMP/rules-1/backend.yaml" "$TMP/rules-rc/"
  bench_ingress '/(.*)' ImplementationSpecific \
    'nginx.ingress.kubernetes.io/rewrite-target: /$1' \
    'nginx.ingress.kubernetes.io/enable-cors: "true"' \
    'nginx.ingress.kubernetes.io/cors-allow-origin: "https://*.bench.localhost"' >"$TMP/rules-rc/ingress.yaml"

  # Access logging stays on (info level, to a file): that is how it runs in
  # production. --bind keeps the listener on loopback (its default is 0.0.0.0).
  for cfg in 1:"$ING1_PORT":"$ING1_ADMIN" 1k:"$INGK_PORT":"$INGK_ADMIN" rc:"$INGRC_PORT":"$INGRC_ADMIN"; do
    IFS=: read -r name port admin <<<"$cfg"
    start "ingressd-$name" "${PROXY_CMD[@]}" node "$INGRESSD" --rules "$TMP/rules-$name" \
      --bind 127.0.0.1 --http-port "$port" --admin-port "$admin" --log-level info
    pid=$LAST_PID
    deadline=$((SECONDS + 30))
    until curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$admin/readyz"; do
      kill -0 "$pid" 2>/dev/null || { tail -20 "$TMP/ingressd-$name.log" >&2; die "ingressd ($name) exited during startup (log above)"; }
      ((SECONDS < deadline)) || { tail -20 "$TMP/ingressd-$name.log" >&2; die "ingressd ($name): /readyz on admin port $admin not 200 within 30 s (log above)"; }
      sleep 0.1
    done
    wait_ok "ingressd-$name" "$pid" "http://127.0.0.1:$port/" 5
    case $name in 1) ING1_PID=$pid ;; 1k) INGK_PID=$pid ;; rc) INGRC_PID=$pid ;; esac
  done
  # HTTP/2 over TLS: the one route with a TLS host (certificate from the local CA, kept in
  # the temp dir) and no redirect, on its own instance.
  if command -v h2load >/dev/null; then
    mkdir -p "$TMP/rules-h2"
    cp "$TMP/rules-1/backend.yaml" "$TMP/rules-h2/"
    TLS=1 bench_ingress / Prefix 'nginx.ingress.kubernetes.io/ssl-redirect: "false"' >"$TMP/rules-h2/ingress.yaml"
    start ingressd-h2 "${PROXY_CMD[@]}" node "$INGRESSD" --rules "$TMP/rules-h2" --data-dir "$TMP/ingressd-data" \
      --bind 127.0.0.1 --http-port "$INGH2_PORT" --https-port "$INGH2_HTTPS" --admin-port "$INGH2_ADMIN" --log-level info
    INGH2_PID=$LAST_PID
    wait_ok ingressd-h2 "$INGH2_PID" "http://127.0.0.1:$INGH2_PORT/" 30
  fi
  # Every core: the one route with --workers 2, not pinned (the workers may use both CPUs,
  # which wrk and the upstream share too). CPU per request counts the primary and its workers.
  if node "$INGRESSD" --help | grep -q -- '--workers'; then
    start ingressd-w2 node "$INGRESSD" --rules "$TMP/rules-1" --workers 2 \
      --bind 127.0.0.1 --http-port "$INGW_PORT" --admin-port "$INGW_ADMIN" --log-level info
    INGW_PID=$LAST_PID
    wait_ok ingressd-w2 "$INGW_PID" "http://127.0.0.1:$INGW_PORT/" 30
  fi
  TARGETS+=(
    "ingressd-1|ingressd 1 route|$ING1_PORT|$ING1_PID"
    "ingressd-1k|ingressd ${EXTRA_HOSTS}×${EXTRA_PATHS}|$INGK_PORT|$INGK_PID"
    "ingressd-rc|ingressd rewrite+CORS|$INGRC_PORT|$INGRC_PID"
  )
  if [[ -n ${INGW_PID:-} ]]; then TARGETS+=("ingressd-w2|ingressd 1 route, --workers 2 (unpinned)|$INGW_PORT|$INGW_PID"); fi
fi

# Every target must actually return the upstream's body, or we would be
# benchmarking an error page.
for t in "${TARGETS[@]}"; do
  IFS='|' read -r key label port pid <<<"$t"
  body=$(curl -sf --max-time 2 -H "Host: $HOST" "http://127.0.0.1:$port/") || die "$label: request failed"
  [[ $body == ok ]] || die "$label: unexpected body '$body' (expected 'ok')"
done
if [[ $BIG == 1 ]]; then
  for t in "${TARGETS[@]}"; do
    IFS='|' read -r key label port pid <<<"$t"
    [[ " $BIG_KEYS " == *" $key "* ]] || continue
    size=$(curl -sf --max-time 2 -H "Host: $HOST" -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/64k") || die "$label: /64k failed"
    [[ $size == 65536 ]] || die "$label: /64k answered $size bytes (expected 65536)"
    TARGETS+=("$key-64k|$label, 64 KiB body|$port|$pid|/64k")
  done
fi

if [[ -n $ONLY ]]; then
  kept=()
  for t in "${TARGETS[@]}"; do [[ ${t%%|*} =~ ^($ONLY)$ ]] && kept+=("$t"); done
  TARGETS=("${kept[@]}")
fi

# ---------------------------------------------------------------- load
# Rounds are interleaved (every target once per round) so that a noisy period
# on the box hits all targets rather than one, and every other round runs them in
# reverse order: measured here, a target could read 10-20 % higher right after Caddy's
# run than after bare undici's, so no target always follows the same one.
RESULTS=$TMP/results.tsv
: >"$RESULTS"
mkdir -p "$TMP/wrk"
echo "bench: ${#TARGETS[@]} targets, $ROUNDS round(s), ${DURATION}s each (+${WARMUP}s warm-up), $CONNECTIONS connections" >&2
REVERSED=()
for ((i = ${#TARGETS[@]} - 1; i >= 0; i--)); do REVERSED+=("${TARGETS[i]}"); done
for round in $(seq "$ROUNDS"); do
  if ((round % 2 == 0)); then ORDER=("${REVERSED[@]}"); else ORDER=("${TARGETS[@]}"); fi
  for t in "${ORDER[@]}"; do
    IFS='|' read -r key label port pid path <<<"$t"
    url="http://127.0.0.1:$port${path:-/}"
    load "$WARMUP" /dev/null "$url" || die "$label: wrk warm-up failed"
    out="$TMP/wrk/$key-$round.txt"
    cpu_before=$(cpu_ticks "$pid")
    load "$DURATION" "$out" "$url" || { cat "$out" >&2; die "$label: wrk failed (output above)"; }
    cpu_after=$(cpu_ticks "$pid")
    parsed=$(parse_wrk "$out") || { cat "$out" >&2; die "$label: could not parse wrk output (above)"; }
    rss=$(rss_kib "$pid")
    IFS=$'\t' read -r rps p50 p99 non2xx errs <<<"$parsed"
    requests=$(awk '/requests in/ { print $1; exit }' "$out")
    # microseconds of proxy CPU per request
    cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$CLK_TCK" -v n="${requests:-0}" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
    printf '%s\t' "$key" "$label" "$round" "$rps" "$p50" "$p99" "$rss" "$non2xx" "$errs" >>"$RESULTS"
    printf '%s\n' "$cpu_us" >>"$RESULTS"
    printf 'bench: round %s  %-26s %9s req/s  p50 %7s ms  p99 %7s ms  cpu %6s us/req  errors %s\n' \
      "$round" "$label" "$rps" "$p50" "$p99" "$cpu_us" "$((non2xx + errs))" >&2
  done
done

# ---------------------------------------------------------------- HTTP/2
# h2load over TLS (h2 by ALPN), 10 connections × 10 concurrent streams, to the address
# with `:authority: bench.localhost`. Written into the same results as the wrk runs
# (h2load reports no percentiles: p50/p99 are left empty).
H2_TARGETS=()
if command -v h2load >/dev/null; then
  if [[ -n ${CADDY_PID:-} ]]; then H2_TARGETS+=("caddy-h2|Caddy (GOMAXPROCS 1), HTTP/2 TLS|$CADDY_H2_PORT|$CADDY_PID"); fi
  if [[ -n ${INGH2_PID:-} ]]; then H2_TARGETS+=("ingressd-h2|ingressd 1 route, HTTP/2 TLS|$INGH2_HTTPS|$INGH2_PID"); fi
  if [[ -n $ONLY ]]; then
    kept=()
    for t in "${H2_TARGETS[@]}"; do [[ ${t%%|*} =~ ^($ONLY)$ ]] && kept+=("$t"); done
    H2_TARGETS=("${kept[@]}")
  fi
else
  echo "bench: h2load not installed (apt-get install -y nghttp2-client): no HTTP/2 rows" >&2
fi
h2run() { # h2run SECONDS OUTFILE PORT
  timeout $(($1 + 30)) "${LOAD_CMD[@]}" h2load -t1 -c10 -m10 -D "$1" -H ":authority: $HOST" "https://127.0.0.1:$3/" >"$2" 2>&1
}
for round in $(seq "$ROUNDS"); do
  for t in "${H2_TARGETS[@]}"; do
    IFS='|' read -r key label port pid <<<"$t"
    h2run "$WARMUP" /dev/null "$port" || true
    out="$TMP/wrk/$key-$round.txt"
    cpu_before=$(cpu_ticks "$pid")
    h2run "$DURATION" "$out" "$port" || true
    cpu_after=$(cpu_ticks "$pid")
    rps=$(awk '/^finished in/ { gsub(",", ""); print $4; exit }' "$out")
    requests=$(awk '/^requests:/ { print $2; exit }' "$out")
    if [[ -z $rps || ${requests:-0} == 0 ]] || ! grep -q "^Application protocol: h2$" "$out"; then
      echo "bench: $label: no HTTP/2 answer (h2load output in $out); row skipped" >&2
      KEEP_TMP=1
      continue
    fi
    errs=$(awk '/^requests:/ { print $10 + $12 + $14; exit }' "$out")
    non2xx=$(awk '/^status codes:/ { print $7 + $9; exit }' "$out")
    cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
    printf '%s\t' "$key" "$label" "$round" "$rps" "NaN" "NaN" "$(rss_kib "$pid")" "${non2xx:-0}" "${errs:-0}" >>"$RESULTS"
    printf '%s\n' "$cpu_us" >>"$RESULTS"
    printf 'bench: round %s  %-26s %9s req/s  cpu %6s us/req  errors %s\n' "$round" "$label" "$rps" "$cpu_us" "$((${non2xx:-0} + ${errs:-0}))" >&2
  done
done

# ---------------------------------------------------------------- reload
RELOAD_LINE="reload test skipped (SKIP_INGRESSD=1)"
if [[ -n $ONLY && ! ingressd-1k =~ ^($ONLY)$ ]]; then
  RELOAD_LINE="reload test skipped (ONLY=$ONLY)"
elif [[ $SKIP_INGRESSD != 1 ]]; then
  echo "bench: reload test on the ${EXTRA_HOSTS}-host ingressd" >&2
  # reload.mjs exits non-zero on timeout; the line still says so, and the table
  # is still worth printing.
  RELOAD_LINE=$(timeout 30 node bench/reload.mjs "$TMP/rules-1k" "$INGK_PORT" 1000) || true
  [[ -n $RELOAD_LINE ]] || RELOAD_LINE="reload test failed (see $TMP/ingressd-1k.log)"
fi

# ---------------------------------------------------------------- report
mkdir -p bench/results
{
  echo "## ingressd benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), node $(node -v)," \
    "$(nginx -v 2>&1 | sed 's|nginx version: ||'), $CADDY_VERSION, wrk -t1 -c$CONNECTIONS," \
    "${DURATION}s × $ROUNDS round(s), best round per target, $PIN_NOTE, load average before start $LOADAVG, commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)"
  echo
  node bench/report.mjs "$RESULTS"
  echo "- $RELOAD_LINE"
} | tee bench/results/latest.md
echo >&2
echo "bench: written to bench/results/latest.md" >&2
