#!/usr/bin/env bash
# Generator speed: frames per second of 64×64 moving dSprites LD, median of 5 runs after a warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet tool restore >/dev/null
dotnet build src/Scalor.Host -c Release -v q -nologo >/dev/null
src/Scalor.Host/bin/Release/net10.0/scalor-host bench data --runs 5 "$@"
