#!/usr/bin/env bash
# Rebuild models/tessdata/Latin.traineddata (models/tessdata/SOURCE.md): the LSTM parts of tessdata_fast's Latin-script
# model as Debian's tesseract-ocr-script-latn ships it, without its 89 MB word list. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
apt-get install -y -q tesseract-ocr-script-latn >/dev/null
src=$(find /usr/share/tesseract-ocr -name Latin.traineddata -size +1M | head -n1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
combine_tessdata -u "$src" "$work/Latin." >/dev/null
mkdir "$work/pack"
for part in lstm lstm-number-dawg lstm-punc-dawg lstm-recoder lstm-unicharset version; do
    cp "$work/Latin.$part" "$work/pack/"
done
combine_tessdata "$work/pack/Latin." >/dev/null
install -m 0644 "$work/pack/Latin.traineddata" models/tessdata/Latin.traineddata
sha256sum "$src" models/tessdata/Latin.traineddata
