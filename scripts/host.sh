# Sourced, from the repository root, by every script that runs scalor-host: sets host to the scalor-host that
# SCALOR_HOST names, or else builds src/Scalor.Host (Release) and uses that build. A copy named by SCALOR_HOST lets a
# long run go on while the tree is rebuilt.
host=${SCALOR_HOST:-}
if [ -z "$host" ]; then
  dotnet tool restore >/dev/null && dotnet build src/Scalor.Host -c Release -v q -nologo >/dev/null || exit 1
  host=src/Scalor.Host/bin/Release/net10.0/scalor-host
fi
