#!/bin/bash
# How much of one photo's time is libjpeg-turbo's entropy (Huffman) decoding, the part that
# neither we nor libvips can skip, next to libvips' whole time for the same two sizes.
# Needs perf (apt: linux-perf), pyvips, and the photos the ingest bench made once (run
# `cargo bench -p guanmo-media --bench ingest` first). Usage, from the repository root:
#   cargo bench -p guanmo-media --bench ingest --no-run     # prints the binary's path
#   src-tauri/crates/guanmo-media/benches/entropy_floor.sh <that path>
# Prints, per photo: our derive time (ms), our decode thread's CPU per render, the entropy
# decoding part of it, and three pyvips runs (ms). See BENCHMARKS.md, "Photo import".
set -euo pipefail
bench=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mate=/usr/share/backgrounds/mate/abstract
made=${TMPDIR:-/tmp}/guanmo-bench-photos
for f in "$mate/Elephants_3840x2160.jpg" "$made/up-12mp.jpg" "$mate/Elephants_5640x3172.jpg" \
    "$made/up-24mp.jpg" "$made/up-48mp.jpg"; do
  rm -rf "$work/store"
  # The child renders twice (derive, then import): per-render figures are halved.
  out=$(perf record -q -e cpu-clock -F 10000 -o "$work/perf.data" "$bench" --child "$f" "$work/store")
  entropy=$(perf report -i "$work/perf.data" --no-children --sort symbol -F period,sym 2>/dev/null \
    | grep -v '^#' | grep -E 'decode_mcu|jpeg_fill_bit_buffer|jpeg_huff_decode' \
    | awk '{s+=$1} END {printf "%.0f", s/1e6/2}')
  thread=$(perf report -i "$work/perf.data" --no-children --comm guanmo-media-de --sort comm \
    -F period 2>/dev/null | grep -v '^#' | awk 'NF{s+=$1} END {printf "%.0f", s/1e6/2}')
  pyvips=$(python3 - "$f" "$work" <<'PY'
import sys, time, pyvips
src, out = sys.argv[1], sys.argv[2]
runs = []
for _ in range(3):
    t = time.perf_counter()
    web = pyvips.Image.thumbnail(src, 1600).copy_memory()
    web.jpegsave(out + "/w.jpg", Q=80, strip=True)
    web.thumbnail_image(320).jpegsave(out + "/t.jpg", Q=80, strip=True)
    runs.append((time.perf_counter() - t) * 1000)
print(" / ".join("%.0f" % r for r in sorted(runs)))
PY
)
  echo "$(basename "$f") | ours both sizes: $(echo "$out" | awk '{printf "%.0f", $1}') ms | decode thread per render: $thread ms | entropy decoding: $entropy ms | pyvips: $pyvips ms"
done
