#!/bin/sh
# The daemon at rest (issue 12: RSS < 20 MB between jobs, thousands of calls stored).
#
#   scripts/daemon_rest_rss.sh BINARY CONFIG_DIR [SETTLE_SECS]
#
# CONFIG_DIR is a deployment whose store already holds the calls, e.g. the state folder of
# a shared-harness run (`out/state/ours/0ms-rep1/config` after its cold pass). The script
# copies the config and the data to a temp folder, sets the collect schedule to the next
# minute only (so exactly one collect job runs while it watches) and everything else far
# away, starts
# `run`, and prints VmRSS and VmHWM once at rest before the job (55 s after the start), and once SETTLE_SECS
# (default 10) after the job's end, with the highest VmRSS sampled every 5 s in between.
# Nothing in CONFIG_DIR is changed.
set -eu
bin=$1
config=$2
settle=${3:-10}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r "$config" "$work/config"
tz=$(sed -n 's/^timezone = "\(.*\)"$/\1/p' "$config/foerderradar.toml")
# Two minutes ahead, so the daemon is at rest before the job; one run a year.
next=$(TZ=${tz:-UTC} date -d '+2 min' '+%M %H %d %m')
data=$(sed -n 's/^data_dir = "\(.*\)"$/\1/p' "$config/foerderradar.toml")
cp -r "$data" "$work/data"
sed -i -e "s|^data_dir = .*|data_dir = \"$work/data\"|" \
    -e "s|^collect = .*|collect = \"$next *\"|" \
    -e 's|^notify = .*|notify = "0 3 1 1 *"|' "$work/config/foerderradar.toml"
grep -q '^admin_digest' "$work/config/foerderradar.toml" ||
    sed -i 's|^\[schedule\]$|[schedule]\nadmin_digest = "0 3 1 1 *"\njitter_secs = 0|' "$work/config/foerderradar.toml"
calls=$(sqlite3 "$work/data/foerderradar.sqlite" 'SELECT count(*) FROM calls' 2>/dev/null || echo '?')
"$bin" --config "$work/config" run >"$work/daemon.log" 2>&1 &
pid=$!
rss() { grep -E '^(VmRSS|VmHWM|RssAnon|RssFile)' "/proc/$pid/status" | tr -s ' \t' ' ' | tr '\n' ' '; }
# The job is due 61–120 s after the start; the daemon trims 45 s after its start-up.
sleep 55
echo "calls stored: $calls"
echo "at rest before the job: $(rss)"
i=0
until grep -q 'match done' "$work/daemon.log"; do
    i=$((i + 1))
    [ "$i" -le 300 ] || { echo "no job finished within 300 s"; tail -5 "$work/daemon.log"; exit 1; }
    sleep 1
done
# Sampled every 5 s from the job's end on, so a retry tick or a late trim shows.
max=0
t=0
while [ "$t" -lt "$settle" ]; do
    sleep 5
    t=$((t + 5))
    now=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$pid/status")
    [ "$now" -le "$max" ] || max=$now
done
echo "at rest ${settle} s after the collect job: $(rss)"
echo "highest VmRSS sampled (every 5 s) after the job: $max kB"
