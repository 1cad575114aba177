#!/usr/bin/env bash
# Fuzzes Backprop's parsers (IDX, CSV, model files, ONNX models, checkpoints, architecture and description metadata, gzip) with
# libFuzzer, each for a bounded time.
# Usage: bash Fuzz/run.sh [seconds-per-parser]   (default 60). A crashing input is kept in Fuzz/crashes/ and fails
# the run; add it to the crafted-file tests once fixed.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
ln -sfn .. backprop-root
swift build -c debug --product FuzzParsers -Xswiftc -sanitize=fuzzer,address -Xswiftc -g 2>&1 | grep -E "error|Compiling FuzzParsers|Build of" || true
binary="$(swift build -c debug --product FuzzParsers --show-bin-path)/FuzzParsers"
mkdir -p crashes
status=0
for target in idx csv safetensors onnx checkpoint architecture gzip; do
    mkdir -p "corpus/$target"
    case "$target" in
        idx) printf '\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04' > corpus/idx/seed ;;
        csv) printf 'a,b,label\n1,2.5,x\n"3",4,"y, z"\r\n' > corpus/csv/seed ;;
        safetensors) cp seeds/model.safetensors corpus/safetensors/seed; cp seeds/model-conv.safetensors corpus/safetensors/conv ;;
        onnx) cp seeds/model-csv.onnx corpus/onnx/exported; cp seeds/helper-cnn.onnx corpus/onnx/helper ;;
        checkpoint) cp seeds/checkpoint.safetensors corpus/checkpoint/seed ;;
        architecture) cp seeds/architecture.json corpus/architecture/seed; cp seeds/architecture-conv.json corpus/architecture/conv
                      cp seeds/info.json corpus/architecture/info ;;
        gzip) printf 'hello' | gzip -c > corpus/gzip/seed ;;
    esac
    echo "== $target ($seconds s)"
    if ! BACKPROP_FUZZ_TARGET="$target" "$binary" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="crashes/$target-" -print_final_stats=1 "corpus/$target" > "fuzz-$target.log" 2>&1; then
        status=1
        grep -E "ERROR|SUMMARY|Test unit written" "fuzz-$target.log" | head -5
    fi
    grep -E "DONE|^Done|stat::new_units_added" "fuzz-$target.log" | tail -3
done
exit $status
