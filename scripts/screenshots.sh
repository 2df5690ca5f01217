#!/usr/bin/env bash
# Renders the HTML report, the Lenkungskreis overview and a typical digest from a
# sample store (examples/sample_store.rs, examples/digest_sample.rs, config/) and
# takes PNG screenshots with headless Chromium into docs/. Needs chromium
# (apt-get install chromium).
#
#   scripts/screenshots.sh [OUT_DIR]   (default: docs)
set -euo pipefail

cd "$(dirname "$0")/.."
out_dir="${1:-docs}"
day="2026-11-26"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

chromium_bin="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$chromium_bin" ]]; then
    echo "chromium not found (apt-get install chromium)" >&2
    exit 2
fi

cargo build --quiet --bin foerderradar --example sample_store --example digest_sample
bin=target/debug/foerderradar
target/debug/examples/sample_store config "$work/data" "$day"

"$bin" --config config --data "$work/data" --today "$day" report --format html -o "$work/bericht.html"
"$bin" --config config --data "$work/data" --today "$day" report --overview --format html -o "$work/uebersicht.html"
"$bin" --config config --data "$work/data" --today "$day" report --kommune Telgte --format html -o "$work/bericht-telgte.html"

# A typical later digest (news, a change notice, a reminder), in a store of its own.
target/debug/examples/sample_store config "$work/digest-data" "$day"
target/debug/examples/digest_sample config "$work/digest-data" "$day" "$work/digest.html"

mkdir -p "$out_dir"
shoot() { # html png width height
    "$chromium_bin" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --force-device-scale-factor=1 --window-size="$3,$4" \
        --screenshot="$2" "file://$1" 2>/dev/null
    echo "wrote $2"
}
shoot "$work/bericht.html" "$out_dir/report.png" 1100 1900
shoot "$work/uebersicht.html" "$out_dir/overview.png" 1400 1350
shoot "$work/bericht-telgte.html" "$out_dir/report-telgte.png" 1100 1300
shoot "$work/digest.html" "$out_dir/digest.png" 700 820

# The admin's Regeln page with a preview and the Übersicht, from the real-browser tests
# of the admin UI.
FOERDERRADAR_SCREENSHOTS="$(realpath "$out_dir")" \
    cargo test --quiet --test integration browser_admin_edits_a_rule_end_to_end
echo "wrote $out_dir/admin-rules.png"
FOERDERRADAR_SCREENSHOTS="$(realpath "$out_dir")" \
    cargo test --quiet --test integration browser_admin_reaches_the_pages_with_the_keyboard
echo "wrote $out_dir/admin-overview.png"
