#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the tests of `--backend slurm` and for trying the
# README's cluster example: munged, slurmctld and slurmd on localhost with the repo's minimal
# slurm.conf (1 node, this machine's CPUs), everything under one state folder.
#
#   bash scripts/slurm-test-cluster.sh start   # install (Debian: slurm-wlm, munge) and start
#   bash scripts/slurm-test-cluster.sh env     # the line to source: export SLURM_CONF=...
#   bash scripts/slurm-test-cluster.sh status  # exit 0 when it is up
#   bash scripts/slurm-test-cluster.sh stop    # stop the daemons and remove the state folder
#
# The state folder is $FITRNN_SLURM_DIR (default /tmp/fitrnn-slurm). Needs root (slurmd runs jobs
# as their submitting user).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
state="${FITRNN_SLURM_DIR:-/tmp/fitrnn-slurm}"
conf="$state/slurm.conf"

install() {
    if command -v slurmctld >/dev/null && command -v munged >/dev/null; then return; fi
    if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
        echo "slurm-test-cluster: needs root (or sudo) to install slurm-wlm and munge" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null; then
        echo "slurm-test-cluster: needs slurm-wlm and munge (apt-get not found)" >&2
        exit 1
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q slurm-wlm munge >/dev/null
}

running() {
    [ -f "$conf" ] && SLURM_CONF="$conf" scontrol ping 2>/dev/null | grep -q "UP"
}

start() {
    install
    if [ "$(id -u)" != 0 ]; then
        echo "slurm-test-cluster: slurmd must run as root (it starts jobs as their user)" >&2
        exit 1
    fi
    if running; then echo "export SLURM_CONF=$conf"; return; fi
    mkdir -p "$state"/{spool,ctld,log,munge}
    local cpus mem_mb host
    cpus="$(nproc)"
    mem_mb="$(awk '/MemTotal/ {printf "%d", $2/1024*0.9}' /proc/meminfo)"
    host="$(hostname -s)"
    sed -e "s|@STATE@|$state|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" \
        -e "s|@MEM@|$mem_mb|g" -e "s|@USER@|$(id -un)|g" \
        "$here/tests/slurm/slurm.conf.in" > "$conf"
    printf 'ConstrainCores=no\nConstrainRAMSpace=no\n' > "$state/cgroup.conf"
    # munge: its own key, socket and pid file under the state folder.
    if [ ! -f "$state/munge/munge.key" ]; then
        dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
        chmod 0400 "$state/munge/munge.key"
    fi
    chmod 0700 "$state/munge"
    munged --key-file="$state/munge/munge.key" --socket="$state/munge/munge.socket" \
        --pid-file="$state/munge/munged.pid" --log-file="$state/log/munged.log" \
        --seed-file="$state/munge/munge.seed" --force
    export SLURM_CONF="$conf"
    slurmctld -f "$conf" -i
    slurmd -f "$conf"
    for _ in $(seq 1 60); do
        if sinfo -h -o "%T" 2>/dev/null | grep -qE "^idle"; then
            echo "export SLURM_CONF=$conf"
            return
        fi
        sleep 0.5
    done
    echo "slurm-test-cluster: the node did not come up; logs in $state/log" >&2
    tail -5 "$state"/log/*.log >&2 || true
    exit 1
}

stop() {
    if [ -f "$conf" ]; then
        SLURM_CONF="$conf" scancel --user="$(id -un)" 2>/dev/null || true
    fi
    for pidfile in "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munge/munged.pid"; do
        if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    sleep 1
    rm -rf "$state"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) echo "export SLURM_CONF=$conf" ;;
    status) running ;;
    *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
