# shellcheck shell=bash disable=SC2154 # dir, pids and parent are the sourcing script's
# What the test clusters' start scripts (controlplane/cluster.sh, kafka/cluster.sh) share:
# sourced after they set `dir` (logs go to DIR/NAME.log) and `pids=()`.

# Fail with the message and the tail of every server log.
die() {
  echo "cluster.sh: $*" >&2
  for f in "$dir"/*.log; do
    [ -s "$f" ] || continue
    # A Go panic's cause is its first line, far above the stack the tail shows.
    grep -m1 -E -A3 '^(panic|fatal error): ' "$f" | sed "s|^|--- $f: |" >&2 || true
    echo "--- last lines of $f" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Each server dies with the script, even when it is SIGKILLed (util-linux setpriv).
pdeath=()
if command -v setpriv >/dev/null && setpriv --pdeathsig KILL -- true 2>/dev/null; then
  pdeath=(setpriv --pdeathsig KILL --)
fi

# Start a server in the background, its output in DIR/NAME.log.
start() { # name args...
  local name=$1
  shift
  "${pdeath[@]}" "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
}

# Fail if a server has exited while starting (`$1`: what the servers are called).
check_alive() {
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || die "${1:-a server} exited during start-up"; done
}

# After READY: keep the servers while the parent (`parent`) lives; fail if one exits.
serve() {
  while kill -0 "$parent" 2>/dev/null; do
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || die "${1:-a server} exited"; done
    sleep 1
  done
  exit 0
}
