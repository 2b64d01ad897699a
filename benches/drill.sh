#!/usr/bin/env bash
# Drill time against what a user would run instead, in the same run, on two
# shapes of ~1 GiB of random data:
#   large: 6 files of 170 MiB;
#   small: 40,000 files of 1-48 KiB in 25 x 40 folders.
# Per shape and round (page cache dropped before each command when root):
#   restore  plain `restic restore <snapshot>` of the same snapshot;
#   +sha256  that restore, then `sha256sum -c` of every file;
#   drill    `homelab backup drill app` (restore, verify against the
#            manifest, record).
# Prints each round and the median ratios drill/restore and drill/+sha256.
# Usage: benches/drill.sh [ROUNDS]   (needs restic, python3; builds --release)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
cargo build --release -q -p homelab
homelab="$PWD/target/release/homelab"
work="$(mktemp -d /var/tmp/homelab-drill-bench.XXXXXX)"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

make_shape() { # shape folder
  python3 - "$1" "$2" <<'PY'
import os, random, sys
shape, base = sys.argv[1], sys.argv[2]
rng = random.Random(42)
if shape == "large":
    for i in range(6):
        with open(os.path.join(base, f"{i}.bin"), "wb") as out:
            for _ in range(170):
                out.write(os.urandom(1 << 20))
else:
    for year in range(25):
        for month in range(40):
            folder = os.path.join(base, f"{2000 + year}", f"{month:02}")
            os.makedirs(folder, exist_ok=True)
            for f in range(40):
                with open(os.path.join(folder, f"{f:03}.dat"), "wb") as out:
                    out.write(os.urandom(rng.randint(1024, 48 * 1024)))
PY
}

bench_shape() { # shape
  local shape="$1" dir="$work/$1" root="$work/$1/root"
  mkdir -p "$root/var/lib/app" "$root/run/agenix"
  echo "bench password" > "$root/run/agenix/restic-password"
  echo "making the $shape shape..." >&2
  make_shape "$shape" "$root/var/lib/app"
  echo "$(du -sh "$root/var/lib/app" | cut -f1) in $(find "$root/var/lib/app" -type f | wc -l) files" >&2
  cat > "$dir/plan.json" <<JSON
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
  hl() { "$homelab" "$@" --plan "$dir/plan.json" --root "$root"; }
  hl backup run app 2>/dev/null
  export RESTIC_REPOSITORY="$root/srv/restic" RESTIC_PASSWORD_FILE="$root/run/agenix/restic-password"
  export RESTIC_CACHE_DIR="$root/var/lib/homelab/restic-cache"
  local snapshot
  snapshot="$(restic snapshots --json --tag app | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')"
  (cd "$root" && find var/lib/app -type f -print0 | xargs -0 sha256sum) > "$dir/sums"
  restore_and_check() {
    restic restore "$snapshot" --target "$dir/plain" &&
      (cd "$dir/plain$root" && sha256sum --quiet -c "$dir/sums")
  }
  local plain=() checked=() drill=()
  for r in $(seq "$rounds"); do
    drop_caches; p=$(seconds restic restore "$snapshot" --target "$dir/plain"); rm -rf "$dir/plain"
    drop_caches; c=$(seconds restore_and_check); rm -rf "$dir/plain"
    drop_caches; d=$(seconds hl backup drill app)
    plain+=("$p"); checked+=("$c"); drill+=("$d")
    printf '%s round %s: restore %.2f s, +sha256 %.2f s, drill %.2f s\n' "$shape" "$r" "$p" "$c" "$d"
  done
  python3 - "$root/var/lib/homelab/drills/app.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["passed"] else "the drill did not pass: " + "; ".join(d["problems"]))
PY
  local mp mc md
  mp=$(median "${plain[@]}"); mc=$(median "${checked[@]}"); md=$(median "${drill[@]}")
  printf '%s median: restore %.2f s, +sha256 %.2f s, drill %.2f s; drill/restore %.2fx, drill/(+sha256) %.2fx\n' \
    "$shape" "$mp" "$mc" "$md" "$(echo "$md / $mp" | bc -l)" "$(echo "$md / $mc" | bc -l)"
  rm -rf "$root/var/lib/app" "$root/srv"
}

bench_shape large
bench_shape small
