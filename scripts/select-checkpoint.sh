#!/usr/bin/env bash
# Picks a run's checkpoint by tracking on validation worlds: every checkpoint in a folder tracks 50 sequences
# generated with seed 3000001 (never used in training, and not the held-out test seed 1000001 of the
# README's table, so choosing a checkpoint here does not fit the test numbers), and the MOTA of each is
# printed, best last.
# Usage: scripts/select-checkpoint.sh CHECKPOINT_FOLDER WORLD-OPTIONS... [TRACK-OPTIONS...]
#   e.g. scripts/select-checkpoint.sh runs/mnist-vld/checkpoints --kind mnist --density vld
#        scripts/select-checkpoint.sh runs/dsprites-md/checkpoints --density md --duplicate-share 0.8
# SHARES="0.3 0.5 0.8" also sweeps the duplicate share (README "Tracking"): every checkpoint × share, and the
# last line is the command that records the best pair's share in a copy of its checkpoint.
# WINDOWS="4 8 16" also scores the mean weights of the folder's last 4, 8 and 16 checkpoints (`scalor-host average`,
# README "Training"), named "average:STEP", the first step averaged; the last line then gives the command that writes it.
# FOLLOW=S then goes on watching the folder every S seconds and scores each checkpoint a training run writes there
# as it appears (each share of SHARES), one line each with the best so far, until Ctrl-C: a run scored while it trains,
# e.g. THREADS=1 FOLLOW=60 scripts/select-checkpoint.sh runs/dsprites-hd/checkpoints --density hd --duplicate-share 0.9
# (the folder may still be empty). Checkpoints appear whole (written to a temporary name, then renamed).
# DENSITIES="vld ld md" scores each checkpoint on the validation worlds of each density in turn (give no --density
# then) and ranks by their mean MOTA, the densities' own after it: a model of a mix (`train --density vld
# --density ld --density md`) is chosen for all of them.
# SEEDS="3000001 3000002" scores each checkpoint on the validation worlds of each seed (give no --seed then; the
# default is 3000001 alone) and ranks by their mean MOTA, each set's after it: two sets of 50 sequences halve the
# variance of one, where a checkpoint picked as the best of many on one set reads high on it by chance. Seeds from
# 3000001 up are validation seeds (training uses 1 to a few dozen, the held-out tables 1000001). With DENSITIES, every
# density on every seed.
# BASELINE=CKPT also tracks that checkpoint (with the same options) on the same validation worlds, once, and adds to
# each line the difference of MOTA against it over every set's sequences together, with its 95% interval by a paired
# bootstrap (`eval --baseline`, README "Evaluation"): a checkpoint whose interval lies above 0 tracks these worlds
# better than the baseline beyond their chance, where a lead of a few tenths in the means alone may be luck.
# THREADS=N gives every command N CPU threads (default: all cores), e.g. beside a training run.
# SCALOR_HOST names the scalor-host to run (default: build and use src/Scalor.Host's Release build).
set -euo pipefail
cd "$(dirname "$0")/.."
folder=${1:?give the checkpoint folder and the world options}
shift
# shellcheck source=scripts/host.sh
source scripts/host.sh
t=(); [ -n "${THREADS:-}" ] && t=(--threads "$THREADS")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
read -r -a shares <<< "${SHARES:-}"
[ ${#shares[@]} -eq 0 ] && shares=("")
[ -d "$folder" ] || { echo "select-checkpoint: no folder $folder" >&2; exit 2; }
mapfile -t ckpts < <(ls "$folder"/ckpt-*.safetensors 2>/dev/null | sort)
if [ ${#ckpts[@]} -eq 0 ] && [ -z "${FOLLOW:-}" ]; then
  echo "select-checkpoint: no checkpoints (ckpt-*.safetensors) in $folder" >&2
  exit 2
fi
# One validation score of a checkpoint at a share (empty: the one it records, else the default), as one line:
# MOTA, IDF1, the name, the share; with DENSITIES or SEEDS, their means, then each set's MOTA.
score() {
  local opt=(); [ -n "$3" ] && opt=(--duplicate-share "$3")
  local worlds=("${densities[@]}"); [ ${#worlds[@]} -eq 0 ] && worlds=("")
  local metrics=() labels=() d s dens dir
  rm -rf "$out/pair"   # a score cut short (a checkpoint --keep removed) leaves no links behind for the next
  for s in "${seeds[@]}"; do
    for d in "${worlds[@]}"; do
      dens=(); [ -n "$d" ] && dens=(--density "$d")
      dir="$out/t-$s${d:+-$d}"
      "$host" track "${t[@]}" --model "$1" "${args[@]}" "${dens[@]}" "${opt[@]}" --seed "$s" --sequences 50 --no-pictures --out "$dir" > /dev/null || return 1
      metrics+=("$dir/metrics.json")
      [ -n "${BASELINE:-}" ] && pair "$dir" "$s${d:+-$d}"
      # A set's label: its density, its seed when there are several, or both.
      if [ ${#seeds[@]} -gt 1 ]; then labels+=("${d:+$d@}$s"); else labels+=("$d"); fi
    done
  done
  local compared=""
  if [ -n "${BASELINE:-}" ]; then
    "$host" eval --gt "$out/pair/gt" --pred "$out/pair/pred" --baseline "$out/base/pred" --json "$out/pair.json" > /dev/null || return 1
    compared="$out/pair.json"
  fi
  python3 - "$2" "$3" "${labels[*]}" "$compared" "${metrics[@]}" <<'PY'
import json, sys
name, share, labels, compared, files = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4], sys.argv[5:]
ms = [json.load(open(f)) for f in files]
mota = sum(m['mota'] for m in ms) / len(ms)
idf1 = sum(m['idf1'] for m in ms) / len(ms)
each = '  (' + ', '.join('%s %.2f%%' % (w, 100 * m['mota']) for w, m in zip(labels, ms)) + ')' if labels else ''
against = ''
if compared:
    b = json.load(open(compared))['baseline']
    lo, hi = b.get('mota_difference_interval') or (float('nan'), float('nan'))
    against = '  against the baseline: MOTA %+.2f (%+.2f to %+.2f)' % (100 * b['mota_difference'], 100 * lo, 100 * hi)
print('%.2f%% MOTA  %.2f%% IDF1  %s%s%s%s' % (100 * mota, 100 * idf1, name, '  share ' + share if share else '', each, against))
PY
  rm -rf "$out"/t-* "$out/pair"
}
# Links a tracked set's ground truth and results (or, with "base", the baseline's results) into one folder of every
# set's sequences, each named for its set: eval then compares over all the sets' sequences at once.
pair() {
  local dir=$1 set=$2 kind=${3:-pred} seq preds="$out/pair/pred"
  [ "$kind" = base ] && preds="$out/base/pred"
  mkdir -p "$out/pair/gt" "$preds"
  for seq in "$dir"/gt/*/; do
    seq=$(basename "$seq")
    [ "$kind" = base ] || ln -s "$(realpath "$dir/gt/$seq")" "$out/pair/gt/$set-$seq"
    ln -s "$(realpath "$dir/results/$seq.txt")" "$preds/$set-$seq.txt"
  done
}
args=("$@")
read -r -a densities <<< "${DENSITIES:-}"
read -r -a seeds <<< "${SEEDS:-3000001}"
[ ${#seeds[@]} -gt 0 ] || seeds=(3000001)
if [ -n "${BASELINE:-}" ]; then
  # The baseline's results on every set, kept for the whole run (its own copy, not the scored checkpoints' links).
  for s in "${seeds[@]}"; do
    for d in "${densities[@]:-}"; do
      dens=(); [ -n "$d" ] && dens=(--density "$d")
      dir="$out/b-$s${d:+-$d}"
      "$host" track "${t[@]}" --model "$BASELINE" "${args[@]}" "${dens[@]}" --seed "$s" --sequences 50 --no-pictures --out "$dir" > /dev/null
      pair "$dir" "$s${d:+-$d}" base
    done
  done
fi
candidates=("${ckpts[@]}")
read -r -a windows <<< "${WINDOWS:-}"
for n in "${windows[@]}"; do
  [ "$n" -ge 2 ] && [ "$n" -le ${#ckpts[@]} ] || continue
  first=$(basename "${ckpts[${#ckpts[@]}-n]}" .safetensors)
  first=$((10#${first#ckpt-}))
  "$host" average "$folder" --from "$first" --out "$out/average:$first.safetensors" > /dev/null
  candidates+=("$out/average:$first.safetensors")
done
for ckpt in "${candidates[@]}"; do
  name=$ckpt; [[ $ckpt == "$out"/* ]] && name=$(basename "$ckpt" .safetensors)
  for share in "${shares[@]}"; do
    score "$ckpt" "$name" "$share"
  done
done | sort -n | tee "$out/scores"
best=""; share=""
if [ -s "$out/scores" ]; then
  read -r -a fields < <(tail -1 "$out/scores")
  best=${fields[4]}
  [ "${fields[5]:-}" = share ] && share=${fields[6]}
fi
if [[ $best == average:* ]]; then
  target=models/checkpoints/NAME/$(basename "${ckpts[${#ckpts[@]}-1]}")
  echo "write it: $host average $folder --from ${best#average:} --out $target"
  [ -n "${shares[0]}" ] && echo "record it: $host export --model $target --duplicate-share $share --out $target"
elif [ -n "$best" ] && [ -n "${shares[0]}" ]; then
  echo "record it: $host export --model $best --duplicate-share $share --out models/checkpoints/NAME/$(basename "$best")"
fi
[ -n "${FOLLOW:-}" ] || exit 0
declare -A seen
for c in "${ckpts[@]}"; do seen[$c]=1; done
top=$(tail -1 "$out/scores" 2>/dev/null || true)
echo "select-checkpoint: watching $folder every $FOLLOW s for new checkpoints (Ctrl-C stops)"
while true; do
  mapfile -t now < <(ls "$folder"/ckpt-*.safetensors 2>/dev/null | sort)
  for ckpt in "${now[@]}"; do
    [ -n "${seen[$ckpt]:-}" ] && continue
    seen[$ckpt]=1
    for share in "${shares[@]}"; do
      # A checkpoint that --keep removed before its turn is passed over, once, whatever the shares.
      line=$(score "$ckpt" "$ckpt" "$share") || { echo "select-checkpoint: $ckpt not scored (removed?)"; break; }
      if [ -z "$top" ] || [ "$(printf '%s\n%s\n' "$top" "$line" | sort -n | tail -1)" = "$line" ]; then top=$line; fi
      [ "$top" = "$line" ] && echo "$line   (the best so far)" || echo "$line   (the best so far: $top)"
    done
  done
  sleep "$FOLLOW"
done
