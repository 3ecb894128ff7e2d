#!/usr/bin/env bash
# Builds the solution and packs the two libraries an application embeds as NuGet packages, with Paket
# (src/Scalor.Model.fs/paket.template, src/Scalor.Runtime/paket.template):
#   Scalor.Model    the F# model library (TorchSharp), with build targets that make TorchSharp's native library
#                   load on Debian 12 in the application's build and publish output (README "Packages");
#   Scalor.Runtime  the ONNX Runtime tracker and its Rx streams; depends on Scalor.Model of the same version.
#
# Usage: scripts/pack.sh [OUT-DIR] [VERSION]   (defaults: out/packages, the <Version> of Directory.Build.props)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/packages}
dotnet tool restore >/dev/null
version=${2:-$(dotnet msbuild src/Scalor.Model.fs/Scalor.Model.fsproj -getProperty:Version)}
dotnet build Scalor.sln -c Release -v q -nologo -p:Version="$version" >/dev/null
mkdir -p "$out"
dotnet paket pack --build-config Release --version "$version" "$out" | grep -E '^Wrote' || true
ls "$out"/Scalor.Model."$version".nupkg "$out"/Scalor.Runtime."$version".nupkg >/dev/null
echo "pack: Scalor.Model and Scalor.Runtime $version in $out"
