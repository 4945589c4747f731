#!/usr/bin/env bash
# Command tasks against the tools people use today, side by side in one run,
# runs alternating (A B C A B C ...), medians of RUNS (default 5), 2 workers:
#   1. N (default 2000) runs of /bin/true: jobctl map --exec (store on, and
#      --no-store), GNU parallel -j2, xargs -P2.
#   2. IMAGES (default 200) PNGs to 8-bit gray: the grayscale plugin through
#      jobctl map, against jobctl map --exec of GraphicsMagick's `gm convert`
#      and `parallel -j2 gm convert`.
#   bench/commands.sh            installs parallel and graphicsmagick if missing
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
commands=${N:-2000}
images=${IMAGES:-200}

need=()
command -v parallel >/dev/null || need+=(parallel)
command -v gm >/dev/null || need+=(graphicsmagick)
if ((${#need[@]})); then
  sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install \
    -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

bash scripts/build.sh >/dev/null
bin=$PWD/build/bin
dir=$(mktemp -d /tmp/jobd-bench.XXXXXX)
export JOBD_SOCKET="ipc://$dir/jobd.sock"
"$bin/jobd" --workers 2 --state-dir "$dir/state" --log-dir "$dir/log" \
  --plugin-dir "$PWD/build/lib/jobd/plugins" 2>"$dir/jobd.stderr" &
jobd_pid=$!
trap 'kill -TERM $jobd_pid 2>/dev/null; wait $jobd_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do "$bin/jobctl" ping >/dev/null 2>&1 && break; sleep 0.1; done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Seconds a command takes, bounded: a hung run fails the benchmark.
seconds() {
  local start end
  start=$(date +%s.%N)
  timeout 600 "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.4f\n", b - a}'
}

# Alternates the named commands RUNS times; prints "name median_seconds" lines.
declare -A times
compare() {
  local names=("$@")
  for name in "${names[@]}"; do times[$name]=""; done
  for _ in $(seq "$runs"); do
    for name in "${names[@]}"; do times[$name]+="$("run_$name") "; done
  done
}
med() { printf '%s\n' ${times[$1]} | median; }
row() {  # name items baseline_name
  local m b
  m=$(med "$1"); b=$(med "$3")
  printf '  %-26s %8.3f s  %9.0f /s   %5.2fx  (runs: %s)\n' "$1" "$m" \
    "$(awk -v n="$2" -v t="$m" 'BEGIN {print n / t}')" \
    "$(awk -v t="$m" -v b="$b" 'BEGIN {print b / t}')" "${times[$1]% }"
}

# ---- 1. /bin/true -----------------------------------------------------------
items=$(seq "$commands")
# shellcheck disable=SC2086
run_jobd() { seconds "$bin/jobctl" --json map --exec /bin/true $items; }
# shellcheck disable=SC2086
run_jobd_nostore() { seconds "$bin/jobctl" --json map --no-store --exec /bin/true $items; }
run_parallel() { seconds parallel -j2 /bin/true ::: $items; }
run_xargs() { seq "$commands" | seconds xargs -P2 -n1 /bin/true; }
compare jobd jobd_nostore parallel xargs
echo "$commands runs of /bin/true, 2 at a time (median of $runs; rate; speed-up over xargs -P2):"
for name in jobd jobd_nostore parallel xargs; do row "$name" "$commands" xargs; done
printf '  jobd vs parallel -j2: %.1fx faster\n' \
  "$(awk -v a="$(med jobd)" -v b="$(med parallel)" 'BEGIN {print b / a}')"

# ---- 2. grayscale -----------------------------------------------------------
pngs=$dir/png
mkdir -p "$pngs"
python3 - "$pngs" "$images" <<'PY'
# Gradients with noise in the low bits: compresses like a photo, not like a
# flat test card. Big-integer XOR keeps the generation in C.
import os, struct, sys, zlib
out, count = sys.argv[1], int(sys.argv[2])
w, h = 640, 480
def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
mask = int.from_bytes(bytes([0x1f]) * (3 * w), "big")
reds = bytes(x * 255 // w for x in range(w))
for n in range(count):
    rows = bytearray()
    for y in range(h):
        base = bytearray(3 * w)
        base[0::3], base[1::3], base[2::3] = reds, bytes([y * 255 // h]) * w, bytes([n * 7 & 255]) * w
        noise = int.from_bytes(os.urandom(3 * w), "big") & mask
        rows.append(0)
        rows += (int.from_bytes(base, "big") ^ noise).to_bytes(3 * w, "big")
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")
    open(f"{out}/img{n:04d}.png", "wb").write(png)
PY
files=$(ls "$pngs"/img*.png)
# shellcheck disable=SC2086
run_plugin() { seconds "$bin/jobctl" --json map grayscale $files; }
# shellcheck disable=SC2086
run_exec_gm() {
  seconds "$bin/jobctl" --json map --exec 'gm convert {} -colorspace Gray {.}.gray.png' $files
}
run_parallel_gm() { seconds parallel -j2 gm convert {} -colorspace Gray {.}.gray.png ::: $files; }
compare plugin exec_gm parallel_gm
echo "$images PNGs (640x480 RGB) to 8-bit gray, 2 at a time (median of $runs; speed-up over --exec gm):"
for name in plugin exec_gm parallel_gm; do row "$name" "$images" exec_gm; done
