#!/usr/bin/env bash
# Drill overhead: `homelab backup drill` against a plain `restic restore`
# of the same snapshot, in the same run, on ~1 GiB of mixed files (many
# small, some large). The drill restores the same snapshot and then checks
# every file against the manifest; the difference is what verification
# costs. Usage: benches/drill.sh [ROUNDS]   (needs restic; builds --release)
# BASELINE=/path/to/older/homelab adds that binary's drill to each round,
# to compare two versions on the same data in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
cargo build --release -q -p homelab
homelab="$PWD/target/release/homelab"
work="$(mktemp -d /var/tmp/homelab-drill-bench.XXXXXX)"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/var/lib/app" "$root/run/agenix" "$work/bin"
echo "bench password" > "$root/run/agenix/restic-password"
# No units to stop: systemctl is not called for an empty unit list.

echo "making ~1 GiB of mixed files..." >&2
python3 - "$root/var/lib/app" <<'PY'
import os, random, sys
base = sys.argv[1]
rng = random.Random(42)
total = 0
# Many small files: 24,000 files of 1-32 KiB in 240 folders (~400 MiB).
for d in range(240):
    folder = os.path.join(base, "small", f"{d:03}")
    os.makedirs(folder, exist_ok=True)
    for f in range(100):
        n = rng.randint(1024, 32 * 1024)
        with open(os.path.join(folder, f"{f:03}.dat"), "wb") as out:
            out.write(os.urandom(n))
        total += n
# Some large files: 6 of 100 MiB (~600 MiB).
os.makedirs(os.path.join(base, "large"), exist_ok=True)
for i in range(6):
    with open(os.path.join(base, "large", f"{i}.bin"), "wb") as out:
        for _ in range(100):
            out.write(os.urandom(1 << 20))
    total += 100 << 20
print(f"{total / (1 << 30):.2f} GiB", file=sys.stderr)
PY

cat > "$work/plan.json" <<JSON
{
  "version": 1, "host": "bench", "state_dir": "/var/lib/homelab",
  "drill": { "schedule": "weekly", "max_age_days": 30,
             "scratch_dir": "/var/lib/homelab-drill", "postgres_user": "postgres" },
  "services": [{
    "name": "app", "entry": "app", "units": [], "class": "critical",
    "paths": [{ "name": "data", "path": "/var/lib/app", "class": "critical",
                "dataset": null, "backed_up": true }],
    "database": null, "dump_dir": "/var/lib/homelab/dumps/app",
    "repositories": [{ "name": "local", "url": "/srv/restic", "offsite": false,
                       "password_secret": "restic-password",
                       "environment_secret": null }],
    "health": null, "schedule": "daily", "max_age_hours": 26
  }]
}
JSON
hl() { "$homelab" "$@" --plan "$work/plan.json" --root "$root"; }
hl backup run app 2>/dev/null
export RESTIC_REPOSITORY="$root/srv/restic" RESTIC_PASSWORD_FILE="$root/run/agenix/restic-password"
export RESTIC_CACHE_DIR="$root/var/lib/homelab/restic-cache"
snapshot="$(restic snapshots --json --tag app | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')"

seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc; }
plain=(); drill=(); base=()
for r in $(seq "$rounds"); do
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  p=$(seconds restic restore "$snapshot" --target "$work/plain")
  rm -rf "$work/plain"
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  d=$(seconds hl backup drill app)
  plain+=("$p"); drill+=("$d")
  printf 'round %s: restic restore %.2f s, homelab drill %.2f s' "$r" "$p" "$d"
  if [ -n "${BASELINE:-}" ]; then
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    b=$(seconds "$BASELINE" backup drill app --plan "$work/plan.json" --root "$root")
    base+=("$b")
    printf ', baseline drill %.2f s' "$b"
  fi
  echo
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mp=$(median "${plain[@]}"); md=$(median "${drill[@]}")
printf 'median: restic restore %.2f s, homelab drill %.2f s, overhead %.1f %%\n' \
  "$mp" "$md" "$(echo "($md - $mp) * 100 / $mp" | bc -l)"
if [ -n "${BASELINE:-}" ]; then
  mb=$(median "${base[@]}")
  printf 'median: baseline drill %.2f s, overhead %.1f %%\n' \
    "$mb" "$(echo "($mb - $mp) * 100 / $mp" | bc -l)"
fi
hl backup drill app --json | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print("drill recorded:", r["passed"], r["files"], "files", r["bytes"], "bytes")'
