#!/usr/bin/env bash
# Builds the carry of issue 15's thread-scaling sweep: the benchmark harness published self-contained for linux-x64
# (the device has no .NET), packed as harness.tar.gz, and the Fashion-MNIST idx files (.gz, read as they are) in data/,
# all in tools/thread-scaling/dist/carry/. tools/thread-scaling/run.sh unpacks and runs it on the device.
#
#   bash tools/thread-scaling/publish.sh        (data: $SCALING_DATA, else /usr/share/datasets/fashion-mnist)
#
# Trimming: TrimMode=partial trims only the assemblies that declare themselves trimmable (the .NET libraries) and keeps
# ML.NET, which loads its components by reflection, whole; the publish is checked by running the section (--quick).
# Trimming turns off reflection-based System.Text.Json, which the BENCH lines use: JsonSerializerIsReflectionEnabledByDefault
# turns it back on. InvariantGlobalization: the device may have no libicu.
set -euo pipefail
cd "$(dirname "$0")/../.."
dist=tools/thread-scaling/dist
publish="$dist/publish"
carry="$dist/carry"
data="${SCALING_DATA:-/usr/share/datasets/fashion-mnist}"
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
for f in "${files[@]}"; do
    if [ ! -f "$data/$f.gz" ] && [ ! -f "$data/$f" ]; then
        echo "publish.sh: $data lacks $f(.gz): install dataset-fashion-mnist or set SCALING_DATA" >&2
        exit 1
    fi
done

rm -rf "$publish" "$carry"
mkdir -p "$carry/data"
dotnet publish test/MlNetMiniBatch.Benchmarks -c Release -r linux-x64 --self-contained true -o "$publish" -nologo -v:q \
    -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true \
    -p:JsonSerializerIsReflectionEnabledByDefault=true -p:InvariantGlobalization=true -p:DebugType=none
rm -rf "$publish/data" # the shipped subset; the full set travels in carry/data
tar -C "$publish" -czf "$carry/harness.tar.gz" .
for f in "${files[@]}"; do
    if [ -f "$data/$f.gz" ]; then cp "$data/$f.gz" "$carry/data/"; else gzip -9 -c "$data/$f" > "$carry/data/$f.gz"; fi
done
(cd "$carry" && sha256sum harness.tar.gz data/* > SHA256SUMS)

bytes=$(du -sb "$carry" | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "publish: $(du -sb "$publish" | cut -f1 | awk '{ printf "%.1f", $1 / 1048576 }') MiB unpacked in $publish"
(cd "$carry" && find . -type f -printf '%s %p\n' | sort -k2 | awk '{ printf "  %8.2f MiB  %s\n", $1 / 1048576, $2 }')
echo "carry: $mib MiB in $carry (the device takes at most 64 MiB)"
if [ "$bytes" -gt $((60 * 1048576)) ]; then
    echo "publish.sh: the carry is over 60 MiB" >&2
    exit 1
fi
