#!/usr/bin/env bash
# Generator speed: frames per second of 64×64 moving dSprites LD, median of 5 runs after a warm-up.
# SCALOR_HOST names the scalor-host to run (scripts/host.sh; default: build the tree's).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/host.sh
source scripts/host.sh
"$host" bench data --runs 5 "$@"
