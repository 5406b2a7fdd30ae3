#!/usr/bin/env bash
# Test scaffolding: stands in for `docker` or `podman` (by the name it is called as) on the PATH
# of kind's commands alone, on hosts that refuse `--privileged` (runc: "unable to apply caps").
# test/kind/lib.sh links it as WRAPDIR/docker and WRAPDIR/podman only after such a refusal.
#
# It rewrites only what such a host cannot run, and logs each rewrite to KIND_TIER_WRAPPER_LOG:
#   run --privileged ... IMAGE   the largest set of privileges that runs here instead
#                                (--cap-add ALL --cap-drop SYS_RESOURCE, writable /proc and /sys
#                                paths; podman also lower rlimits), /lib/modules from an empty
#                                directory when the host has none, and test/e2e/shim.sh as the
#                                entrypoint: it makes the cgroup v1 controllers writable and then
#                                execs the image's own ENTRYPOINT and CMD, so the entrypoint
#                                stays PID 1; host.docker.internal pinned to 127.0.0.1 in
#                                /etc/hosts, as the test bed pins it, so no boot asks a nameserver
#                                off the machine for it
#   exec --privileged ...        the same exec without --privileged; the log says what the node's
#                                PID 1 was just before (the entrypoint, or init)
# Every other call goes to the real engine unchanged.
#
# Env (set by lib.sh):
#   KIND_TIER_REAL_DOCKER, KIND_TIER_REAL_PODMAN   the engines' own paths
#   KIND_TIER_SHIM                                 test/e2e/shim.sh
#   KIND_TIER_EMPTY_MODULES                        an empty directory for /lib/modules
#   KIND_TIER_WRAPPER_LOG                          where rewrites are logged
#   KIND_TIER_PODMAN_CONF                          podman's containers.conf (runc, netavark)
#   KIND_TIER_CGROUP2=1                            nodes get a cgroup v2 view (shim's E2E_CGROUP2)
set -euo pipefail

engine=${0##*/}
case $engine in
  docker) real=${KIND_TIER_REAL_DOCKER:?} ;;
  podman) real=${KIND_TIER_REAL_PODMAN:?} ;;
  *) echo "engine-wrapper.sh: called as $engine, not docker or podman" >&2; exit 2 ;;
esac

log() { printf '%s %s\n' "$engine" "$*" >>"${KIND_TIER_WRAPPER_LOG:-/dev/null}"; }

# Runs the real engine. Podman gets the test bed's containers.conf, and no file descriptor above
# 2: conmon and aardvark-dns outlive the call and would hold a caller's flock lock.
engine() {
  if [[ $engine == podman ]]; then
    CONTAINERS_CONF=${KIND_TIER_PODMAN_CONF:?} exec "$real" "$@" 9>&- 8>&- 7>&- 6>&- 5>&- 4>&- 3>&-
  fi
  exec "$real" "$@"
}

# Runs the real engine and returns (engine() replaces the wrapper).
engine_output() {
  if [[ $engine == podman ]]; then
    CONTAINERS_CONF=${KIND_TIER_PODMAN_CONF:?} "$real" "$@" 9>&- 8>&- 7>&- 6>&- 5>&- 4>&- 3>&-
  else
    "$real" "$@"
  fi
}

# Prints the image's ENTRYPOINT and CMD, one word a line (images of kind's bed have no newlines
# in them).
image_argv() {
  local format='{{range .Config.Entrypoint}}{{println .}}{{end}}{{range .Config.Cmd}}{{println .}}{{end}}'
  engine_output image inspect -f "$format" "$1"
}

rewrite_run() {
  local -a args=("$@") out=()
  local image=${args[-1]} i name=?
  [[ $image != -* ]] || { echo "engine-wrapper.sh: run --privileged without an image last: $*" >&2; exit 2; }
  unset 'args[-1]'
  for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      --privileged) ;;
      --name) name=${args[i + 1]}; out+=(--name) ;;
      --volume | -v)
        local spec=${args[i + 1]}
        if [[ $spec == /lib/modules:* && ! -d /lib/modules ]]; then
          spec=${KIND_TIER_EMPTY_MODULES:?}:${spec#/lib/modules:}
          log "run $name: --volume /lib/modules:... -> --volume $spec (no /lib/modules on this host)"
        fi
        out+=(--volume "$spec")
        ((++i)) ;;
      *) out+=("${args[i]}") ;;
    esac
  done
  # host.docker.internal as the test bed pins it: the entrypoint looks the name up at every boot,
  # and Docker's resolver (or aardvark-dns) would forward the query to the host's nameservers,
  # off the machine.
  local -a added=(--add-host host.docker.internal:127.0.0.1 --cap-add ALL --cap-drop SYS_RESOURCE)
  if [[ $engine == podman ]]; then
    added+=(--security-opt unmask=ALL --ulimit nofile=20000:20000 --ulimit nproc=20000:20000)
  else
    added+=(--security-opt systempaths=unconfined)
  fi
  # The shim's "exec the command as given" (E2E_SKIP_ENTRYPOINT): here the command is the
  # image's own ENTRYPOINT and CMD, so the shim runs nothing of its own but the cgroup fix.
  added+=(--volume "${KIND_TIER_SHIM:?}:/e2e/shim.sh:ro" --entrypoint /e2e/shim.sh
    -e E2E_SKIP_ENTRYPOINT=1)
  if [[ ${KIND_TIER_CGROUP2:-} == 1 ]]; then added+=(-e E2E_CGROUP2=1); fi
  local -a argv
  mapfile -t argv < <(image_argv "$image")
  ((${#argv[@]})) || { echo "engine-wrapper.sh: image $image has no ENTRYPOINT or CMD" >&2; exit 2; }
  log "run $name: --privileged -> ${added[*]} $image ${argv[*]}"
  engine "${out[@]}" "${added[@]}" "$image" "${argv[@]}"
}

rewrite_exec() {
  local -a out=()
  local arg node='' expect_value=0
  for arg in "$@"; do
    [[ $arg == --privileged ]] && continue
    out+=("$arg")
    # The node is the first word after exec that is neither an option nor an option's value
    # (kind passes -i and -e VAR=VALUE).
    if [[ -z $node && $arg != exec ]]; then
      if ((expect_value)); then expect_value=0
      elif [[ $arg == -e || $arg == --env ]]; then expect_value=1
      elif [[ $arg != -* ]]; then node=$arg
      fi
    fi
  done
  # What kind's command meets in the node: PID 1 is still the entrypoint, or already init.
  local pid1
  pid1="$(engine_output exec "$node" cat /proc/1/comm 2>/dev/null)" || pid1='?'
  log "exec $node (PID 1: $pid1): --privileged dropped: ${out[*]}"
  engine "${out[@]}"
}

case ${1:-} in
  run) [[ " $* " == *" --privileged "* ]] && rewrite_run "$@" ;;
  exec) [[ " $* " == *" --privileged "* ]] && rewrite_exec "$@" ;;
esac
engine "$@"
