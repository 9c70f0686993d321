#!/bin/sh
# gen-proto-vectors.sh -- re-make tests/vectors/proto/*.bin from the *.txtpb inputs with protoc
#
# Each input names its message type on a "# message: kf.PodEnvelope" line. The output is the 4 bytes
# "k8s\0" followed by protoc's binary encoding, as client-go sends it; "# magic: none" leaves the magic out.
# The unit tests read the committed *.bin files, so protoc is needed only to change a vector.
set -eu

dir=$(cd "$(dirname "$0")/../tests/vectors/proto" && pwd)
if ! command -v protoc >/dev/null 2>&1; then
    echo "gen-proto-vectors.sh: protoc not found (apt-get install protobuf-compiler)" >&2
    exit 2
fi

for src in "$dir"/*.txtpb; do
    msg=$(sed -n 's/^# message: *//p' "$src" | head -n 1)
    magic=$(sed -n 's/^# magic: *//p' "$src" | head -n 1)
    if [ -z "$msg" ]; then
        echo "$src:1: no \"# message: <type>\" line" >&2
        exit 2
    fi
    out=${src%.txtpb}.bin
    tmp=$out.tmp
    if [ "$magic" = none ]; then
        : >"$tmp"
    else
        printf 'k8s\000' >"$tmp"
    fi
    if ! protoc --proto_path="$dir" --encode="$msg" "$dir/k8s.proto" <"$src" >>"$tmp"; then
        rm -f "$tmp"
        echo "$src: protoc --encode=$msg failed" >&2
        exit 1
    fi
    mv "$tmp" "$out"
    echo "$(basename "$out"): $(wc -c <"$out") bytes"
done
