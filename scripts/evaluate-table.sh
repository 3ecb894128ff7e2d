#!/usr/bin/env bash
# Reproduces the README's results table beside the paper's Table 1: every setting tracked on 50 held-out
# sequences (seed 1000001, never used in training) with the model chosen for it on validation worlds, once with Scalor's
# inference and once with the official code's (--rejection official --min-visible 0 --converged off), printed as the
# README's Markdown rows. A setting's model is the newest checkpoint in the folder its row names; a row
# without one uses the embedded LD model. A checkpoint's recorded duplicate share (chosen for its model on
# validation worlds, README "Tracking") applies to Scalor's inference only, as do a row's tracking options.
# The column "objects at least half visible" scores Scalor's results again with `eval --min-gt-visibility 0.5`:
# ground-truth rows whose object shows less than half of itself (covered by others or cut by the border) are
# ignored, with the boxes matched to them.
# The column "MOTA, 95% interval" is the bootstrap interval (BCa) over the row's sequences that track prints (README,
# "Evaluation"): how far the row's MOTA would move on as many other sequences of its world.
# A second table gives the same settings with `track --backfill` (README "Tracking"): the same model's tracks
# completed offline by a backward pass over each sequence, with the interval of its MOTA as the first table's.
# Usage: scripts/evaluate-table.sh [OUT_DIR]   (about 12 minutes on 2 idle cores)
# THREADS, SEED, SEQUENCES, ONLY and SCALOR_HOST as scripts/held-out.sh says, e.g. SEED=1000002 SEQUENCES=200 for the README's second set
# (four times the time).
# shellcheck source=scripts/held-out.sh
source "$(dirname "$0")/held-out.sh"
out=${1:-out/table}
mkdir -p "$out"
backfill=()

interval() { python3 -c "import json,sys; lo, hi = json.load(open(sys.argv[1]))['mota_interval']; print('%.1f–%.1f%%' % (100 * lo, 100 * hi))" "$1"; }
echo "| setting | model | MOTA | MOTA, 95% interval | IDF1 | HOTA | precision | recall | count-MAE | MOTA, objects at least half visible | MOTA, official inference | paper MOTA (Table 1) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r name world folder opts paper <<< "$row"
  checkpoint "$folder"
  [ -n "$opts" ] && label="$label, \`$opts\`"
  dir="$out/$(echo "$name" | tr -c 'A-Za-z0-9' '-')"
  # shellcheck disable=SC2086
  "$host" track "${t[@]}" "${model[@]}" $world $opts "${held[@]}" --no-pictures --out "$dir-scalor" > "$dir-scalor.log"
  recorded=$(sed -n 's/^track: \(.*\), as the checkpoint records$/\1/p' "$dir-scalor.log")
  [ -n "$recorded" ] && label="$label, $recorded (recorded)"
  # shellcheck disable=SC2086
  "$host" track "${t[@]}" "${model[@]}" $world "${held[@]}" --no-pictures --rejection official --min-visible 0 --converged off --out "$dir-official" > /dev/null
  "$host" eval --gt "$dir-scalor/gt" --pred "$dir-scalor/results" --min-gt-visibility 0.5 --json "$dir-shown.json" > /dev/null
  main="$(field "$dir-scalor/metrics.json" "%.1f%%" mota) | $(interval "$dir-scalor/metrics.json") | $(field "$dir-scalor/metrics.json" "%.1f%% | %.1f%% | %.1f%% | %.1f%% | %.3f" idf1 hota precision recall count_mae)"
  shown=$(field "$dir-shown.json" "%.1f%%" mota)
  official=$(field "$dir-official/metrics.json" "%.1f%%" mota)
  echo "| $name | $label | $main | $shown | $official | $paper |"
  # shellcheck disable=SC2086
  "$host" track "${t[@]}" "${model[@]}" $world $opts "${held[@]}" --no-pictures --backfill --out "$dir-backfill" > /dev/null
  backfill+=("| $name | $(field "$dir-backfill/metrics.json" "%.1f%%" mota) | $(interval "$dir-backfill/metrics.json") | $(field "$dir-backfill/metrics.json" "%.1f%% | %.1f%% | %.1f%% | %.1f%% | %.3f" idf1 hota precision recall count_mae) | $(field "$dir-scalor/metrics.json" "%.1f%%" mota) | $paper |")
done
echo
echo "| setting, \`track --backfill\` | MOTA | MOTA, 95% interval | IDF1 | HOTA | precision | recall | count-MAE | MOTA online (above) | paper MOTA (Table 1) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${backfill[@]}"
