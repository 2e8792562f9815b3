#!/usr/bin/env bash
# Local stand-ins for the cloud backends the services talk to, for development
# and integration tests on one machine, with no Docker and no cloud account:
#
#   pubsub     Google Pub/Sub emulator (gcloud component)        127.0.0.1:8085
#   firestore  Google Firestore emulator (gcloud component)      127.0.0.1:8086
#   gcs        fake-gcs-server, built from source with `go install` 127.0.0.1:4443
#   kafka      Apache Kafka, KRaft single node, jars from Maven  127.0.0.1:9092 (+9093)
#
# Usage: infra/local/backends.sh up|down|status|env [pubsub firestore gcs kafka]
# (all four when none is named). See infra/local/README.md.
#
# Everything is fetched from package registries only (Go module proxy, Maven
# Central), because that is all our machines and CI can reach.
set -euo pipefail

readonly ALL_BACKENDS=(pubsub firestore gcs kafka)

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
readonly SCRIPT_DIR REPO_ROOT

# Per-checkout state (pids, logs, data) lives in the repo so two checkouts do
# not fight over pid files; downloads and builds are shared in the cache.
# Overridable so tests can drive the script without touching the backends a developer has up.
readonly STATE_DIR="${GOVERNOR_LOCAL_STATE:-$REPO_ROOT/.local}"
readonly RUN_DIR="$STATE_DIR/run"
readonly LOG_DIR="$STATE_DIR/logs"
readonly DATA_DIR="$STATE_DIR/data"
readonly CACHE_DIR="${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}"

# Pinned versions. fake-gcs-server is built from source via the Go module
# proxy (its release binaries live on GitHub, which we cannot reach).
readonly FAKE_GCS_VERSION=v1.56.1
# Kafka 4.4.0 verified against kafkajs 2.2.4 (admin, idempotent and
# transactional produce, consumer groups, offsets): KIP-896 removed only
# protocol versions older than the ones kafkajs 2.2.4 uses. 4.1.1 and 3.9.1
# pass the same checks (GOVERNOR_KAFKA_VERSION=3.9.1 to fall back).
readonly KAFKA_VERSION="${GOVERNOR_KAFKA_VERSION:-4.4.0}"
readonly PUBSUB_PROJECT=governor-local

PUBSUB_PORT="${PUBSUB_PORT:-8085}"
FIRESTORE_PORT="${FIRESTORE_PORT:-8086}"
GCS_PORT="${GCS_PORT:-4443}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"

# Seconds to wait for a started backend to answer (build/fetch time is extra).
readonly EMULATOR_TIMEOUT=60
readonly GCS_TIMEOUT=30
readonly KAFKA_TIMEOUT=90
# Seconds between TERM and KILL on `down`.
readonly STOP_GRACE=10

# gcloud must never wait for a prompt or try to phone home: the network only
# reaches package registries, and an update check could stall start-up.
export CLOUDSDK_CORE_DISABLE_PROMPTS=1
export CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true
export CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true

# Go lives in /usr/local/go/bin on our machines, which is not always on PATH
# for non-login shells.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="$PATH:/usr/local/go/bin"
fi

# ---------------------------------------------------------------- helpers ---

die() {
  echo "backends: $*" >&2
  exit 1
}

say() { echo "backends: $*"; }

usage() {
  cat <<EOF
usage: $(basename "$0") up|down|status|env [${ALL_BACKENDS[*]}]
  up      start the named backends (default: all) and wait until they answer
  down    stop them (whole process group) and check their ports are free
  status  one line per backend: up or down, port, pid
  env     print export lines for the emulator host variables
EOF
}

# Milliseconds since the epoch; EPOCHREALTIME avoids forking date. Some
# locales use a comma as its decimal separator.
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((t / 1000))
}

# 6123 -> 6.1s, 42 -> 0.04s (sub-second starts would all read 0.0s)
fmt_ms() {
  local ms=$1
  if ((ms < 1000)); then
    printf '0.%02ds' $((ms / 10))
  else
    printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100))
  fi
}

is_backend() {
  local b
  for b in "${ALL_BACKENDS[@]}"; do [[ $b == "$1" ]] && return 0; done
  return 1
}

port_of() {
  case $1 in
    pubsub) echo "$PUBSUB_PORT" ;;
    firestore) echo "$FIRESTORE_PORT" ;;
    gcs) echo "$GCS_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;;
  esac
}

# Every port a backend binds, each with the variable that moves it.
ports_of() {
  case $1 in
    pubsub) echo "$PUBSUB_PORT:PUBSUB_PORT" ;;
    firestore) echo "$FIRESTORE_PORT:FIRESTORE_PORT" ;;
    gcs) echo "$GCS_PORT:GCS_PORT" ;;
    kafka) echo "$KAFKA_PORT:KAFKA_PORT $KAFKA_CONTROLLER_PORT:KAFKA_CONTROLLER_PORT" ;;
  esac
}

# Extended regex that a command line of the backend's processes matches. Used
# to make sure a pid from a pid file (or a port) is really ours before killing
# it: pids get reused, and the gcloud wrapper's Java child has its own cmdline.
cmd_pattern_of() {
  case $1 in
    pubsub) echo 'emulators pubsub start|pubsub-emulator' ;;
    firestore) echo 'emulators firestore start|cloud-firestore-emulator|CloudFirestore' ;;
    gcs) echo 'fake-gcs-server' ;;
    kafka) echo 'kafka\.Kafka |kafka\.tools\.StorageTool' ;;
  esac
}

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

cmdline_of() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
}

# "python3 4242" for the first process listening on TCP port $1, "" if none.
# Matches any local address (0.0.0.0, ::) since those collide with 127.0.0.1.
listener_of() {
  local line
  line=$(ss -ltnpH "sport = :$1" 2>/dev/null | head -n 1)
  [[ -n $line ]] || return 0
  local who
  who=$(sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 \2/p' <<<"$line")
  echo "${who:-unknown-process ?}"
}

port_listening() {
  [[ -n $(ss -ltnH "sport = :$1" 2>/dev/null) ]]
}

# Pids of every process listening on port $1.
listener_pids() {
  ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

# Prints the recorded process-group id if that group still has a member whose
# command line is this backend's; returns 1 otherwise. The group leader alone
# is not enough: the gcloud wrapper can die and leave its Java child running.
running_pgid() {
  local name=$1 pf pgid pid pattern
  pf=$(pid_file "$name")
  [[ -f $pf ]] || return 1
  pgid=$(<"$pf")
  [[ $pgid =~ ^[0-9]+$ ]] || return 1
  pattern=$(cmd_pattern_of "$name")
  for pid in $(pgrep -g "$pgid" 2>/dev/null || true); do
    if [[ $(cmdline_of "$pid") =~ $pattern ]]; then
      echo "$pgid"
      return 0
    fi
  done
  return 1
}

# Does the backend answer like a ready server?
probe() {
  local name=$1 port
  port=$(port_of "$name")
  case $name in
    pubsub | firestore)
      # Both emulators answer GET / with "Ok" once they accept requests.
      # --noproxy: a proxy in the environment must not see loopback traffic.
      [[ $(curl -fsS --noproxy '*' -m 2 "http://127.0.0.1:$port/" 2>/dev/null) == Ok* ]]
      ;;
    gcs)
      [[ $(curl -sS --noproxy '*' -m 2 -o /dev/null -w '%{http_code}' \
        "http://127.0.0.1:$port/storage/v1/b" 2>/dev/null) == 200 ]]
      ;;
    kafka)
      # The port opens before the broker can serve metadata; "Kafka Server
      # started" is logged only once the broker is unfenced and RUNNING. The
      # log is truncated on every start, so the line belongs to this run.
      port_listening "$port" &&
        grep -q 'Kafka Server started' "$(log_file kafka)" 2>/dev/null
      ;;
  esac
}

# ----------------------------------------------------------- preflight -----

gcloud_sdk_root() {
  # Following the gcloud symlink is instant; `gcloud info` costs ~0.6 s.
  local g root
  g=$(command -v gcloud) || return 1
  root=$(cd "$(dirname "$(readlink -f "$g")")/.." && pwd)
  if [[ ! -d $root/platform ]]; then
    root=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null) || return 1
  fi
  echo "$root"
}

java_major() {
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
  v=${v#1.} # 1.8.0 -> 8
  echo "${v%%[.+-]*}"
}

fake_gcs_bin() { echo "$CACHE_DIR/bin/fake-gcs-server-$FAKE_GCS_VERSION"; }
kafka_libs() { echo "$CACHE_DIR/kafka-$KAFKA_VERSION/libs"; }

kafka_libs_ready() {
  local libs
  libs=$(kafka_libs)
  [[ -f $libs/kafka_2.13-$KAFKA_VERSION.jar ]] && compgen -G "$libs/slf4j-simple-*.jar" >/dev/null
}

# One-line error and exit if something the backend needs is missing. Only fast
# checks here: this runs before anything slow starts.
check_prereqs() {
  local name=$1 root component
  case $name in
    pubsub | firestore)
      command -v gcloud >/dev/null 2>&1 ||
        die "gcloud not found on PATH (needed for $name; install the Google Cloud SDK)"
      command -v java >/dev/null 2>&1 || die "java not found on PATH (needed for the $name emulator)"
      root=$(gcloud_sdk_root) || die "cannot locate the Google Cloud SDK root (needed for $name)"
      component=pubsub-emulator
      [[ $name == firestore ]] && component=cloud-firestore-emulator
      [[ -d $root/platform/$component ]] ||
        die "gcloud component $component is not installed in $root (gcloud components install $component, or apt-get install google-cloud-cli-${component/cloud-/})"
      ;;
    gcs)
      if [[ ! -x $(fake_gcs_bin) ]]; then
        command -v go >/dev/null 2>&1 || die "go not found on PATH (needed once to build fake-gcs-server $FAKE_GCS_VERSION)"
      fi
      ;;
    kafka)
      command -v java >/dev/null 2>&1 || die "java not found on PATH (needed for kafka)"
      local need=17 have
      [[ $KAFKA_VERSION == 3.* ]] && need=11
      have=$(java_major)
      [[ $have =~ ^[0-9]+$ && $have -ge $need ]] ||
        die "kafka $KAFKA_VERSION needs Java $need or newer, but java on PATH is version ${have:-unknown}"
      if ! kafka_libs_ready; then
        command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH (needed once to fetch the Kafka $KAFKA_VERSION jars)"
      fi
      ;;
  esac
}

# Two backends configured onto the same port would each fail in a confusing
# way; say so up front.
check_distinct_ports() {
  local seen=" " entry port var
  for entry in $(ports_of pubsub) $(ports_of firestore) $(ports_of gcs) $(ports_of kafka); do
    port=${entry%%:*}
    var=${entry#*:}
    if [[ $seen == *" $port:"* ]]; then
      local other=${seen#*" $port:"}
      die "$var and ${other%% *} are both set to port $port"
    fi
    seen+="$port:$var "
  done
}

# One-line error and exit if a port of the backend is held by anyone.
check_ports() {
  local name=$1 entry port var who
  for entry in $(ports_of "$name"); do
    port=${entry%%:*}
    var=${entry#*:}
    [[ $port =~ ^[0-9]+$ ]] || die "$var=$port is not a port number"
    who=$(listener_of "$port")
    [[ -n $who ]] || continue
    if [[ $(cmdline_of "${who##* }") =~ $(cmd_pattern_of "$name") ]]; then
      die "port $port ($name) is held by ${who% *} pid ${who##* }, a $name left over without a pid file; run: $0 down $name"
    fi
    die "port $port ($name) is already in use by ${who% *} pid ${who##* }; stop it or set $var"
  done
}

# ---------------------------------------------------------- stop -----------

# True while the process group has a member that is not a zombie (a zombie
# cannot be killed, so waiting on it would only burn the whole grace period).
group_alive() {
  local pid
  for pid in $(pgrep -g "$1" 2>/dev/null || true); do
    [[ $(ps -o stat= -p "$pid" 2>/dev/null || true) == Z* ]] || return 0
  done
  return 1
}

# TERM the process group, wait up to STOP_GRACE seconds, then KILL it. The
# whole group, because killing only the gcloud wrapper leaves its Java child
# (the actual emulator) running and holding the port.
kill_group() {
  local pgid=$1 i
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for ((i = 0; i < STOP_GRACE * 10; i++)); do
    group_alive "$pgid" || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    group_alive "$pgid" || return 0
    sleep 0.1
  done
}

kill_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_GRACE * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

# Stop one backend. Prints one line. Returns 1 if one of our processes is
# still listening afterwards.
stop_one() {
  local name=$1 pgid="" was="" entry port pid pattern who rc=0
  pattern=$(cmd_pattern_of "$name")
  if pgid=$(running_pgid "$name"); then
    was=" (was pid $pgid)"
    kill_group "$pgid"
  fi
  rm -f "$(pid_file "$name")"
  # Fallback: a backend whose pid file was lost (or a Java child that escaped
  # its group) still holds the port. Kill it only if it is recognisably ours.
  for entry in $(ports_of "$name"); do
    port=${entry%%:*}
    for pid in $(listener_pids "$port"); do
      if [[ $(cmdline_of "$pid") =~ $pattern ]]; then
        [[ -n $was ]] || was=" (was pid $pid, no pid file)"
        # Its whole group (e.g. the gcloud wrapper too) when it has one of
        # its own, as everything launch() starts does; never our own group.
        pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)
        if [[ $pgid =~ ^[0-9]+$ && $pgid -gt 1 && $pgid != "$(ps -o pgid= -p $$ | tr -d ' ')" ]]; then
          kill_group "$pgid"
        else
          kill_pid "$pid"
        fi
      fi
    done
  done
  for entry in $(ports_of "$name"); do
    port=${entry%%:*}
    who=$(listener_of "$port")
    [[ -n $who ]] || continue
    pid=${who##* }
    if [[ $(cmdline_of "$pid") =~ $pattern ]]; then
      echo "backends: $name: port $port is still held by ${who% *} pid $pid after KILL" >&2
      rc=1
    else
      say "$name: note: port $port is held by ${who% *} pid $pid, which is not ours; left alone"
    fi
  done
  if [[ -n $was ]]; then
    say "$name down$was"
  else
    say "$name already down"
  fi
  return "$rc"
}

# ---------------------------------------------------------- start ----------

# Build fake-gcs-server once into the cache. GOBIN points at a scratch dir and
# the result is renamed into place, so an interrupted build never leaves a
# half-written binary that a later run would trust.
ensure_fake_gcs() {
  local bin tmp t0 buildlog
  bin=$(fake_gcs_bin)
  [[ -x $bin ]] && return 0
  buildlog="$LOG_DIR/gcs-build.log"
  say "gcs: building fake-gcs-server $FAKE_GCS_VERSION with go install (first run only, ~2 min on 2 cores)..."
  t0=$(now_ms)
  mkdir -p "$CACHE_DIR/bin"
  tmp=$(mktemp -d "$CACHE_DIR/bin/.build.XXXXXX") || return 1
  # CGO_ENABLED=0: a static binary, and no C compiler needed.
  if ! CGO_ENABLED=0 GOBIN="$tmp" go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION" >"$buildlog" 2>&1; then
    rm -rf "$tmp"
    echo "backends: gcs: go install github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION failed; last lines of $buildlog:" >&2
    tail -n 30 "$buildlog" | sed 's/^/  gcs-build| /' >&2
    return 1
  fi
  mv "$tmp/fake-gcs-server" "$bin" || return 1
  rm -rf "$tmp"
  say "gcs: built fake-gcs-server in $(fmt_ms $(($(now_ms) - t0)))"
}

# Fetch the Kafka broker and its runtime jars from Maven Central once into
# the cache (the Apache download mirrors are unreachable here). Fetched into a
# scratch dir and renamed, so a partial fetch is never mistaken for complete.
ensure_kafka_libs() {
  kafka_libs_ready && return 0
  local libs tmp t0 fetchlog api slf4j
  libs=$(kafka_libs)
  fetchlog="$LOG_DIR/kafka-fetch.log"
  say "kafka: fetching Kafka $KAFKA_VERSION jars from Maven Central (first run only)..."
  t0=$(now_ms)
  mkdir -p "$(dirname "$libs")"
  tmp=$(mktemp -d "$(dirname "$libs")/.fetch.XXXXXX") || return 1
  local mvn_args=(-B -ntp -Dstyle.color=never -f "$SCRIPT_DIR/kafka/pom.xml")
  if mvn "${mvn_args[@]}" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$tmp" >"$fetchlog" 2>&1; then
    # Kafka depends on slf4j-api only and ships no binding, so without one it
    # logs nothing at all. slf4j-simple (stderr -> log file) must match the
    # slf4j-api major version Kafka pulled in, so take that version.
    api=$(compgen -G "$tmp/slf4j-api-*.jar" | head -n 1 || true)
    slf4j=${api##*/slf4j-api-}
    slf4j=${slf4j%.jar}
    if [[ -n $slf4j ]] && mvn "${mvn_args[@]}" dependency:copy \
      -Dartifact="org.slf4j:slf4j-simple:$slf4j" -DoutputDirectory="$tmp" >>"$fetchlog" 2>&1; then
      rm -rf "$libs"
      mv "$tmp" "$libs"
      say "kafka: fetched $(find "$libs" -name '*.jar' | wc -l) jars in $(fmt_ms $(($(now_ms) - t0)))"
      return 0
    fi
  fi
  rm -rf "$tmp"
  echo "backends: kafka: fetching Kafka $KAFKA_VERSION from Maven Central failed; last lines of $fetchlog:" >&2
  tail -n 30 "$fetchlog" | sed 's/^/  kafka-fetch| /' >&2
  return 1
}

# 22-char base64url of 16 random bytes: the format Kafka cluster ids use.
# A leading '-' would be parsed as an option, so draw again.
kafka_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* ]] && break
  done
  echo "$id"
}

# Launch the backend detached in its own session/process group and record the
# group id. Non-interactive bash puts background jobs in its own group, so
# setsid(1) does not fork and $! is the new group's id. fd 9 (our lock) is
# closed so a long-running backend does not hold the lock forever.
launch() {
  local name=$1 log
  shift
  log=$(log_file "$name")
  setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
  echo "$!" >"$(pid_file "$name")"
}

start_pubsub() {
  local data="$DATA_DIR/pubsub"
  rm -rf "$data" && mkdir -p "$data"
  launch pubsub gcloud beta emulators pubsub start \
    --host-port="127.0.0.1:$PUBSUB_PORT" --project="$PUBSUB_PROJECT" \
    --data-dir="$data" --quiet
}

start_firestore() {
  # FIRESTORE_IMPORT_DATA: an export's .overall_export_metadata to start from. The emulator
  # keeps nothing across a restart; tests that restart it restore what a durable store keeps.
  local import=()
  [[ -n ${FIRESTORE_IMPORT_DATA:-} ]] && import=(--import-data="$FIRESTORE_IMPORT_DATA")
  launch firestore gcloud emulators firestore start \
    --host-port="127.0.0.1:$FIRESTORE_PORT" "${import[@]}" --quiet
}

start_gcs() {
  # -public-host/-external-url: URLs the server hands out (resumable upload
  # Location, public links) must point back at this address, not at
  # storage.googleapis.com.
  launch gcs "$(fake_gcs_bin)" -scheme http -host 127.0.0.1 -port "$GCS_PORT" \
    -backend memory -public-host "127.0.0.1:$GCS_PORT" \
    -external-url "http://127.0.0.1:$GCS_PORT" -log-level info
}

start_kafka() {
  local libs dir props logdir log
  libs=$(kafka_libs)
  dir="$DATA_DIR/kafka"
  props="$dir/server.properties"
  logdir="$dir/data"
  log=$(log_file kafka)
  # Fresh broker on every start: tests want no topics, offsets or groups
  # left over from an earlier run.
  rm -rf "$dir" && mkdir -p "$logdir"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@KAFKA_LOG_DIR@|$logdir|g" \
    "$SCRIPT_DIR/kafka/server.properties.tmpl" >"$props"
  local jvm=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
    -Dorg.slf4j.simpleLogger.showDateTime=true
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS")
  echo "== kafka-storage format ==" >>"$log"
  if ! java "${jvm[@]}" -cp "$libs/*" kafka.tools.StorageTool format \
    -t "$(kafka_cluster_id)" -c "$props" >>"$log" 2>&1 </dev/null 9>&-; then
    return 1
  fi
  echo "== kafka.Kafka ==" >>"$log"
  launch kafka java "${jvm[@]}" -cp "$libs/*" kafka.Kafka "$props"
}

timeout_of() {
  case $1 in
    pubsub | firestore) echo "$EMULATOR_TIMEOUT" ;;
    gcs) echo "$GCS_TIMEOUT" ;;
    kafka) echo "$KAFKA_TIMEOUT" ;;
  esac
}

# Poll until the backend answers. Returns 1 on timeout, 2 if it died.
wait_ready() {
  local name=$1 deadline pgid
  deadline=$(($(now_ms) + $(timeout_of "$name") * 1000))
  pgid=$(<"$(pid_file "$name")")
  while (($(now_ms) < deadline)); do
    probe "$name" && return 0
    group_alive "$pgid" || return 2
    sleep 0.25
  done
  probe "$name" && return 0
  return 1
}

fail_with_log() {
  local name=$1 why=$2 log
  log=$(log_file "$name")
  {
    echo "backends: $name failed: $why; last lines of ${log#"$REPO_ROOT"/}:"
    tail -n 30 "$log" 2>/dev/null | sed "s/^/  $name| /"
  } >&2
}

# Prepare (build/fetch), start, and wait for one backend. Runs in a
# background subshell, one per backend, so they start in parallel.
up_one() {
  local name=$1 t0 log rc=0 port
  port=$(port_of "$name")
  case $name in
    gcs) ensure_fake_gcs || return 1 ;;
    kafka) ensure_kafka_libs || return 1 ;;
  esac
  log=$(log_file "$name")
  # Keep the previous run's log for post-mortems, start a fresh one.
  [[ -f $log ]] && mv -f "$log" "$log.prev"
  : >"$log"
  t0=$(now_ms)
  if ! "start_$name"; then
    fail_with_log "$name" "could not start"
    stop_one "$name" >/dev/null 2>&1 || true
    return 1
  fi
  wait_ready "$name" || rc=$?
  case $rc in
    0)
      say "$name up in $(fmt_ms $(($(now_ms) - t0)))  (port $port, pid $(<"$(pid_file "$name")"))"
      return 0
      ;;
    1) fail_with_log "$name" "not answering on port $port after $(timeout_of "$name")s" ;;
    *) fail_with_log "$name" "process exited during start-up" ;;
  esac
  # Leave nothing half-started behind: the next `up` starts it clean.
  stop_one "$name" >/dev/null 2>&1 || true
  return 1
}

# -------------------------------------------------------------- commands ---

take_lock() {
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR"
  # Serialise concurrent up/down calls (e.g. two test runners starting at
  # once) so the second one sees the first one's backends as already up.
  exec 9>"$RUN_DIR/.lock"
  flock -w 900 9 || die "another backends.sh up/down is still running (lock $RUN_DIR/.lock)"
}

cmd_up() {
  local name pgid to_start=() t0
  t0=$(now_ms)
  check_distinct_ports
  take_lock
  # Everything fast first: decide what is already up and fail on a missing
  # tool or a taken port before building, fetching or starting anything.
  for name in "$@"; do
    if pgid=$(running_pgid "$name"); then
      if probe "$name"; then
        say "$name already up  (port $(port_of "$name"), pid $pgid)"
        continue
      fi
      say "$name: pid $pgid is running but not answering; restarting it"
      stop_one "$name" >/dev/null || die "$name: could not stop unresponsive pid $pgid"
    else
      rm -f "$(pid_file "$name")"
    fi
    check_prereqs "$name"
    check_ports "$name"
    to_start+=("$name")
  done
  ((${#to_start[@]})) || return 0

  local pids=() failed=() i
  for name in "${to_start[@]}"; do
    up_one "$name" &
    pids+=("$!")
  done
  for i in "${!to_start[@]}"; do
    wait "${pids[$i]}" || failed+=("${to_start[$i]}")
  done
  if ((${#failed[@]})); then
    if ((${#failed[@]} < ${#to_start[@]})); then
      die "failed to start: ${failed[*]} (the others are up and left running; see $0 status / down)"
    fi
    die "failed to start: ${failed[*]}"
  fi
  say "ready in $(fmt_ms $(($(now_ms) - t0))): ${to_start[*]}"
}

cmd_down() {
  local name pids=() rc=0 pid
  take_lock
  # Stop in parallel: Kafka's controlled shutdown and the JVMs' exit take a
  # few seconds each.
  for name in "$@"; do
    stop_one "$name" &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || rc=1
  done
  return "$rc"
}

cmd_status() {
  local name port pgid who
  for name in "$@"; do
    port=$(port_of "$name")
    if pgid=$(running_pgid "$name"); then
      if probe "$name"; then
        printf '%-10s up    port %-5s  pid %s\n' "$name" "$port" "$pgid"
      else
        printf '%-10s down  port %-5s  (pid %s running but not answering)\n' "$name" "$port" "$pgid"
      fi
    else
      who=$(listener_of "$port")
      if [[ -n $who ]]; then
        printf '%-10s down  port %-5s  (port held by %s pid %s)\n' "$name" "$port" "${who% *}" "${who##* }"
      else
        printf '%-10s down  port %s\n' "$name" "$port"
      fi
    fi
  done
}

cmd_env() {
  cat <<EOF
export PUBSUB_EMULATOR_HOST=127.0.0.1:$PUBSUB_PORT
export FIRESTORE_EMULATOR_HOST=127.0.0.1:$FIRESTORE_PORT
export STORAGE_EMULATOR_HOST=http://127.0.0.1:$GCS_PORT
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
EOF
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || {
    usage >&2
    exit 2
  }
  shift
  case $cmd in
    -h | --help | help)
      usage
      return 0
      ;;
    up | down | status | env) ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
  local name names=()
  for name in "$@"; do
    is_backend "$name" || die "unknown backend '$name' (known: ${ALL_BACKENDS[*]})"
    names+=("$name")
  done
  ((${#names[@]})) || names=("${ALL_BACKENDS[@]}")

  local tool
  for tool in ss curl setsid pgrep flock; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH (needed by backends.sh)"
  done

  case $cmd in
    up) cmd_up "${names[@]}" ;;
    down) cmd_down "${names[@]}" ;;
    status) cmd_status "${names[@]}" ;;
    env) cmd_env ;;
  esac
}

main "$@"
