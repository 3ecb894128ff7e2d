#!/usr/bin/env bash
# Reproduces the README's table beside the paper's Table 2: the reconstruction MSE and the two per-pixel NLL
# estimates of `eval --data` (README, "Evaluation") on the same 50 held-out sequences as the Table 1 rows of
# scripts/evaluate-table.sh (seed 1000001, never used in training; MNIST digits from the test files), each setting
# with the model that table uses for it (the rows of scripts/held-out.sh), at the shares it records. The paper's
# Table 2 has seven of those settings (no VHD, no LG). Each row writes its held-out dataset with `data` and scores it
# with `eval --data`, which tracks it as `track` does (so the row's MOTA is the Table 1 row's) and adds the
# likelihood terms; the MSE and the NLLs come from the model's own inference pass (the official rejection), as
# training computes them.
# Usage: scripts/evaluate-table2.sh [OUT_DIR]   (38 minutes with THREADS=1 beside a training run)
# THREADS, SEED, SEQUENCES, ONLY and SCALOR_HOST as scripts/held-out.sh says.
# SAMPLES=K sets the importance samples of the NLL bound (default 16, eval's default).
# shellcheck source=scripts/held-out.sh
source "$(dirname "$0")/held-out.sh"
out=${1:-out/table2}
samples=${SAMPLES:-16}
mkdir -p "$out"

# The paper's Table 2: SCALOR's MSE and VRNN's, by setting.
declare -A paper=(
  ["dSprites VLD"]="0.0010 | 0.0018"
  ["dSprites LD"]="0.0030 | 0.0071"
  ["dSprites MD"]="0.0024 | 0.0105"
  ["dSprites HD"]="0.0015 | 0.0190"
  ["MNIST VLD"]="0.0029 | 0.0022"
  ["MNIST LD"]="0.0026 | 0.0054"
  ["MNIST MD"]="0.0010 | 0.0035"
)
echo "| setting | model | MSE | NLL per pixel, negative ELBO (nats) | NLL per pixel, importance-weighted, $samples samples (nats) | MOTA (Table 1 row) | paper MSE, SCALOR | paper MSE, VRNN |"
echo "|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r name world folder opts _ <<< "$row"
  [ -n "${paper[$name]:-}" ] || continue
  checkpoint "$folder"
  dir="$out/$(echo "$name" | tr -c 'A-Za-z0-9' '-')"
  # shellcheck disable=SC2086
  "$host" data $world "${held[@]}" --split test --no-images --out "$dir-data" > /dev/null
  # shellcheck disable=SC2086
  "$host" eval "${t[@]}" "${model[@]}" $opts --data "$dir-data" --samples "$samples" --json "$dir.json" > "$dir.log"
  echo "| $name | $label | $(field "$dir.json" "%.5f | %.4f | %.4f | %.1f%%" mse nll_elbo nll_iw mota) | ${paper[$name]} |"
done
