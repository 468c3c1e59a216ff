#!/usr/bin/env bash
# Regenerates docs/results/*.json and docs/RESULTS.md: every evaluation pipeline on SciFact (test).
# Indexes are built once and re-used by later runs (.eval/). Takes about an hour on two cores the
# first time, mostly encoding the corpus with the fp32 models (bm25>maxsim-rerank encodes the 100
# re-ranked abstracts of every query at query time: about 30,000 more encodings); sparse-proxy adds
# most of an hour of CPU the first time (the bge-small projection of every document, cached in
# .eval/sparse/).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="${1:-$ROOT/../shared/datasets/scifact}"
for p in bm25 dense dense-int8 dense-e5 dense-minilm "bm25>dense-rerank" "bm25>maxsim-rerank" sparse-bm25 sparse-proxy; do
  "$ROOT/neural-eval" --dataset "$DATA" --pipeline "$p" --out "$ROOT/docs/results/scifact-$p.json"
done
"$ROOT/neural-eval" --results "$ROOT/docs/results" --out "$ROOT/docs/RESULTS.md"
