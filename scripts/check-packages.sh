#!/usr/bin/env bash
# Checks the NuGet packages as an application team meets them: packs Scalor.Model and Scalor.Runtime
# (scripts/pack.sh), builds scripts/package-check/Program.cs as a console application outside this repository
# (so none of the repository's build files apply), referencing Scalor.Runtime from the packed folder with plain
# `dotnet` and NuGet, runs it with the committed default model on generated held-out sequences (tracked with
# Scalor.Model's Tracker on TorchSharp and with Scalor.Runtime on ONNX Runtime), and compares its MOTChallenge files
# with those of `scalor-host track` and `scalor-host track --runtime onnx`: they must be identical.
# On Debian 12 this also checks that the package's build targets let TorchSharp's native library load.
#
# Usage: scripts/check-packages.sh [SEQUENCES]   (default 2; 25-40 s here on 2 cores once TorchSharp is restored)
# KEEP=1 keeps the work folder (packages, the application, both runs' results) for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
sequences=${1:-2}
work=$(mktemp -d /tmp/scalor-package-check.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
version=$(dotnet msbuild src/Scalor.Model.fs/Scalor.Model.fsproj -getProperty:Version)
scripts/pack.sh "$work/packages" "$version"
# NuGet caches a package by id and version: drop a copy of an earlier pack of this version, or the check
# would build against it instead of this one.
cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}
rm -rf "$cache/scalor.model/$version" "$cache/scalor.runtime/$version"
mkdir -p "$work/app"
cp scripts/package-check/Program.cs "$work/app/"
cat > "$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="scalor" value="$work/packages" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML
cat > "$work/app/ScalorPackageCheck.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Scalor.Runtime" Version="$version" />
  </ItemGroup>
</Project>
XML
dotnet build "$work/app" -c Release -v q -nologo -o "$work/app/bin" >/dev/null
"$work/app/bin/ScalorPackageCheck" models/checkpoints/dsprites-ld/ckpt-0007200.safetensors "$work/app" "$sequences"
host=src/Scalor.Host/bin/Release/net10.0/scalor-host
status=0
for runtime in torchsharp onnx; do
  "$host" track --runtime "$runtime" --provider cpu --model models/checkpoints/dsprites-ld/ckpt-0007200.safetensors \
    --sequences "$sequences" --no-pictures --out "$work/host-$runtime" >/dev/null
  for f in "$work/host-$runtime/results/"*.txt; do
    name=$(basename "$f")
    if ! cmp -s "$f" "$work/app/$runtime/$name"; then echo "check-packages: $runtime: $name differs from the host's" >&2; status=1; fi
  done
  rows=$(cat "$work/app/$runtime/"*.txt | wc -l)
  [ "$rows" -gt 0 ] || { echo "check-packages: $runtime: the application reported no objects" >&2; status=1; }
  echo "check-packages: $runtime: $rows rows"
done
rm -rf "$cache/scalor.model/$version" "$cache/scalor.runtime/$version"
[ $status -eq 0 ] && echo "check-packages: the packaged application's results equal scalor-host's on TorchSharp and on ONNX Runtime ($sequences sequences)"
exit $status
