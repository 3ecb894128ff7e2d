#!/usr/bin/env bash
# Optional system packages: ffmpeg decodes video files for `scalor-host track --input VIDEO`.
# Everything else (the .NET packages, Paket) comes with `dotnet tool restore` and the build.
set -euo pipefail
if ! command -v ffmpeg >/dev/null; then
  apt-get update -qq && apt-get install -y -qq ffmpeg
fi
ffmpeg -version | head -1
