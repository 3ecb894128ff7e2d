#!/usr/bin/env bash
# Reproduces the README's table beside the paper's Table 2: the reconstruction MSE and the two per-pixel NLL
# estimates of `eval --data` (README, "Evaluation") on the same 50 held-out sequences as the Table 1 rows of
# scripts/evaluate-table.sh (seed 1000001, never used in training; MNIST digits from the test files), each setting
# with the model that table uses for it, at the shares it records. The paper's Table 2 has the seven settings
# below (no VHD, no LG). Each row writes its held-out dataset with `data` and scores it with `eval --data`, which
# tracks it as `track` does (so the row's MOTA is the Table 1 row's) and adds the likelihood terms; the MSE and the
# NLLs come from the model's own inference pass (the official rejection), as training computes them.
# Usage: scripts/evaluate-table2.sh [OUT_DIR]   (38 minutes with THREADS=1 beside a training run)
# THREADS=N gives every command N CPU threads (default: all cores), e.g. beside a training run.
# SAMPLES=K sets the importance samples of the NLL bound (default 16, eval's default).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/table2}
dotnet tool restore >/dev/null
dotnet build src/Scalor.Host -c Release -v q -nologo >/dev/null
host=src/Scalor.Host/bin/Release/net10.0/scalor-host
t=(); [ -n "${THREADS:-}" ] && t=(--threads "$THREADS")
samples=${SAMPLES:-16}
mkdir -p "$out"

# name | world options | checkpoint folder | paper's SCALOR MSE | paper's VRNN MSE (Table 2)
rows=(
  "dSprites VLD|--density vld|models/checkpoints/dsprites-ld-overlap|0.0010|0.0018"
  "dSprites LD|--density ld|models/checkpoints/dsprites-ld-overlap|0.0030|0.0071"
  "dSprites MD|--density md|models/checkpoints/dsprites-md|0.0024|0.0105"
  "dSprites HD|--density hd|models/checkpoints/dsprites-vhd|0.0015|0.0190"
  "MNIST VLD|--kind mnist --density vld|models/checkpoints/mnist-vld|0.0029|0.0022"
  "MNIST LD|--kind mnist --density ld|models/checkpoints/mnist-ld|0.0026|0.0054"
  "MNIST MD|--kind mnist --density md|models/checkpoints/mnist-md|0.0010|0.0035"
)
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2] % tuple(d[k] * (100 if k == 'mota' else 1) for k in sys.argv[3:]))" "$@"; }
echo "| setting | model | MSE | NLL per pixel, negative ELBO (nats) | NLL per pixel, importance-weighted, $samples samples (nats) | MOTA (Table 1 row) | paper MSE, SCALOR | paper MSE, VRNN |"
echo "|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r name world folder paper vrnn <<< "$row"
  file=$(ls "$folder"/ckpt-*.safetensors | sort | tail -1)
  label="$(basename "$folder"), step $(basename "$file" .safetensors | sed 's/^ckpt-0*//')"
  dir="$out/$(echo "$name" | tr -c 'A-Za-z0-9' '-')"
  # shellcheck disable=SC2086
  "$host" data $world --sequences 50 --seed 1000001 --split test --no-images --out "$dir-data" > /dev/null
  "$host" eval "${t[@]}" --model "$file" --data "$dir-data" --samples "$samples" --json "$dir.json" > "$dir.log"
  echo "| $name | $label | $(field "$dir.json" "%.5f | %.4f | %.4f | %.1f%%" mse nll_elbo nll_iw mota) | $paper | $vrnn |"
done
