#!/usr/bin/env bash
# Evaluates one model (default: the embedded one) as the README's "Trained models" section does: held-out tracking
# on dSprites VLD/LD/MD and MNIST VLD (50 sequences each, seed 1000001; the README's table, with a model per
# setting and the official inference beside, is scripts/evaluate-table.sh), eval --data on 8 held-out LD sequences
# (MSE, NLL), and conditional generation against the constant-position baseline (12 sequences × 4 samples, and the most likely future of each).
# Usage: scripts/evaluate-model.sh [CHECKPOINT] [OUT_DIR]   (about 3 minutes on 2 idle cores)
# THREADS=N gives every command N CPU threads (default: all cores), e.g. beside a training run.
# SCALOR_HOST names the scalor-host to run (scripts/host.sh; default: build the tree's).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-}
out=${2:-out/evaluate}
# shellcheck source=scripts/host.sh
source scripts/host.sh
t=(); [ -n "${THREADS:-}" ] && t=(--threads "$THREADS")
m=(); [ -n "$model" ] && m=(--model "$model")
mkdir -p "$out"
for d in vld ld md; do
  echo "== dSprites $d"; "$host" track "${t[@]}" "${m[@]}" --density $d --sequences 50 --no-pictures --out "$out/track-$d" | tail -2
done
echo "== MNIST vld"; "$host" track "${t[@]}" "${m[@]}" --kind mnist --density vld --sequences 50 --no-pictures --out "$out/track-mnist-vld" | tail -2
echo "== eval --data (8 held-out LD sequences)"
rm -rf "$out/ld-test"
"$host" data --density ld --sequences 8 --seed 1000001 --split test --out "$out/ld-test" >/dev/null
"$host" eval "${t[@]}" "${m[@]}" --data "$out/ld-test" --json "$out/eval-ld.json" | tail -1
# Generation lines: "generate: step K: ... position D px (constant-position baseline C px, N objects; the model's
# last inferred position held: M px)"; averaged over sequences weighted by N.
summarise() {
  awk '{ gsub(/[(),;]/, "") }
       /last observed frame/ { o += $7 * $13; on += $13 }
       /generate: step/ { k = $3 + 0; n[k] += $16; g[k] += $10 * $16; c[k] += $14 * $16; m[k] += $24 * $16 }
       END { printf "last observed frame: inferred positions %.2f px from the true ones (%d objects)\n", o / on, on
             for (k = 1; k in n; k++) printf "step %d: imagined %.2f px, constant baseline %.2f px, the model'"'"'s last position held %.2f px (%d objects)\n", k, g[k] / n[k], c[k] / n[k], m[k] / n[k], n[k] }'
}
echo "== conditional generation, sampled futures (5 observed, 5 imagined, discovery off, 4 samples)"
for s in $(seq 1000001 1000012); do
  "$host" generate "${t[@]}" "${m[@]}" --seed $s --samples 4 --out "$out/generate-$s" | grep "generate: [ls]"
done | summarise
echo "== conditional generation, the most likely future (--most-likely)"
for s in $(seq 1000001 1000012); do
  "$host" generate "${t[@]}" "${m[@]}" --seed $s --most-likely --out "$out/generate-likely-$s" | grep "generate: [ls]"
done | summarise
