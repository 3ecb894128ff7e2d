#!/usr/bin/env bash
# Runs `scalor-host train` and resumes it after a native crash, so a long CPU run survives the rare libtorch
# segfault (README, "Known issue"): checkpoints are atomic and --resume continues exactly, so a crash costs
# at most the steps since the last checkpoint (--checkpoint-every, default 200).
#
# Usage: scripts/train-resilient.sh TRAIN-OPTIONS... --out RUN
#   e.g. scripts/train-resilient.sh --kind mnist --density vld --steps 6000 --out runs/mnist-vld
# Restarts with --resume after a crash (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE) or after train's own
# "stopped by a libtorch error" (exit code 3); stops on success, Ctrl-C, any other error, after
# RESTARTS restarts (default 20), or when a restart made no progress three times in a row.
# SCALOR_HOST names the scalor-host to run (default: build and use src/Scalor.Host's Release build; copy
# that folder elsewhere first if you want to rebuild while the run goes on).
set -uo pipefail
cd "$(dirname "$0")/.."
restarts=${RESTARTS:-20}
run=""
prev=""
for a in "$@"; do
  [ "$prev" = "--out" ] && run=$a
  prev=$a
done
if [ -z "$run" ]; then
  echo "train-resilient: give the run folder with --out RUN (it is where --resume looks)" >&2
  exit 2
fi
# shellcheck source=scripts/host.sh
source scripts/host.sh

latest() { ls "$run"/checkpoints/ckpt-*.safetensors 2>/dev/null | sort | tail -1; }

stalls=0
for ((attempt = 0; ; attempt++)); do
  resume=()
  if [ -n "$(latest)" ]; then
    case " $* " in *" --resume "*) ;; *) resume=(--resume) ;; esac
  fi
  before=$(latest)
  "$host" train "$@" "${resume[@]}"
  rc=$?
  case $rc in
    0) exit 0 ;;
    3 | 132 | 134 | 135 | 136 | 139) ;;
    *) exit $rc ;;
  esac
  if [ "$(latest)" = "$before" ]; then stalls=$((stalls + 1)); else stalls=0; fi
  if ((stalls >= 3)); then
    echo "train-resilient: three restarts in a row made no new checkpoint; giving up (exit $rc)" >&2
    exit $rc
  fi
  if ((attempt >= restarts)); then
    echo "train-resilient: $restarts restarts used; giving up (exit $rc)" >&2
    exit $rc
  fi
  echo "train-resilient: $(date -u +%FT%TZ) train exited with $rc; resuming from $(latest) (restart $((attempt + 1)) of $restarts)" >&2
done
