#!/usr/bin/env python3
"""Cross-validate rule variants on the tuning part of the labelled set (issue 11).

Each variant is a strategy.toml. For every variant the script runs
`foerderradar eval` on the tuning part and the old dev set (never on the measured part),
reads the listed false positives and negatives over (call, Handlungsfeld) pairs and counts
them per fold (fold = second byte of SHA-256 of the item id mod 5, as in the earlier rounds).
Then, for each fold, it picks the variant with the best F1 on the other four folds and scores
it on the held-out fold; the pooled held-out counts are the cross-validated figure.

    scripts/cv_rules.py --bin target/debug/foerderradar base=config/strategy.toml new=/tmp/s.toml

A variant may name its own binary after an `@` (a code change against the rules as they are):

    scripts/cv_rules.py base=config/strategy.toml@/tmp/before/foerderradar aim=config/strategy.toml

Prints per variant: tuning part and dev set TP/FP/FN with P/R/F1, F1 per fold, and the
cross-validated choice per fold. Only the tuning part's items are read (for their expected
labels and ids); the measured part is never touched.
"""

import argparse
import hashlib
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
TUNE = ROOT / "tests/fixtures/labelled/tune"
DEVSET = ROOT / "tests/fixtures/devset"
FOLDS = 5


def fold_of(item_id: str) -> int:
    return hashlib.sha256(item_id.encode()).digest()[1] % FOLDS


def handlungsfelder() -> set[str]:
    strategy = tomllib.loads((ROOT / "config/strategy.toml").read_text())
    return {h["id"] for h in strategy["handlungsfeld"]}


def expected_pairs(directory: pathlib.Path) -> dict[str, int]:
    """Expected Handlungsfeld labels per item id of a part (TOML files only)."""
    counts = {}
    for path in sorted(directory.glob("*.toml")):
        for item in tomllib.loads(path.read_text()).get("item", []):
            counts[item["id"]] = len(item.get("expect_handlungsfelder", []))
    return counts


MISS = re.compile(r"^- .*\((c-[0-9a-f]{16})\) → (\S+)$")


def call_id(item_id: str) -> str:
    """The id `eval` gives an inline item's call (CallId::from_url of its devset URL)."""
    url = f"https://devset.foerderradar.invalid/{item_id}"
    return "c-" + hashlib.sha256(url.encode()).hexdigest()[:16]


def misses(output: str, fields: set[str]) -> dict[str, dict[str, list[str]]]:
    """False positives and negatives per part, as item ids (one per wrong pair)."""
    parts, part, kind = {}, None, None
    for line in output.splitlines():
        if line.startswith("== Teil "):
            part = "devset" if "devset" in line else "tune"
            parts[part] = {"fp": [], "fn": []}
        elif line.startswith("Falsch positiv ("):
            kind = "fp"
        elif line.startswith("Falsch negativ ("):
            kind = "fn"
        elif line.startswith("Zugang falsch") or line.startswith("== "):
            kind = None
        elif kind and part and (m := MISS.match(line)) and m.group(2) in fields:
            parts[part][kind].append(m.group(1))
    return parts


def run_variant(binary: str, strategy: pathlib.Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        config = pathlib.Path(tmp) / "config"
        shutil.copytree(ROOT / "config", config)
        shutil.copy(strategy, config / "strategy.toml")
        cmd = [binary, "--config", str(config), "--today", "2026-12-01", "eval", str(TUNE), str(DEVSET)]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if "== Teil" not in out.stdout:
            sys.exit(f"eval failed for {strategy}:\n{out.stderr}")
        return misses(out.stdout, handlungsfelder())


def score(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def per_fold(result: dict, expected: dict[str, int]) -> list[tuple[int, int, int]]:
    tp, fp, fn = [0] * FOLDS, [0] * FOLDS, [0] * FOLDS
    item_of = {call_id(item): item for item in expected}
    for item, n in expected.items():
        tp[fold_of(item)] += n
    for call in result["tune"]["fn"]:
        tp[fold_of(item_of[call])] -= 1
        fn[fold_of(item_of[call])] += 1
    for call in result["tune"]["fp"]:
        fp[fold_of(item_of[call])] += 1
    return list(zip(tp, fp, fn))


def pooled(folds: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    return tuple(sum(c[i] for c in folds) for i in range(3))


def fmt(counts) -> str:
    p, r, f = score(*counts)
    return f"{counts[0]}/{counts[1]}/{counts[2]} P {p:.3f} R {r:.3f} F1 {f:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(ROOT / "target/debug/foerderradar"))
    ap.add_argument("variants", nargs="+", help="name=path/to/strategy.toml[@path/to/binary]")
    args = ap.parse_args()
    expected = expected_pairs(TUNE)
    dev_expected = sum(expected_pairs(DEVSET).values())
    table = {}
    for spec in args.variants:
        name, path = spec.split("=", 1)
        path, _, binary = path.partition("@")
        result = run_variant(binary or args.bin, pathlib.Path(path))
        folds = per_fold(result, expected)
        dev = result["devset"]
        dev_counts = (dev_expected - len(dev["fn"]), len(dev["fp"]), len(dev["fn"]))
        table[name] = folds
        fold_f1 = " ".join(f"{score(*c)[2]:.3f}" for c in folds)
        print(f"{name}: tune {fmt(pooled(folds))} | folds {fold_f1} | devset {fmt(dev_counts)}")
    held_out = []
    for k in range(FOLDS):
        rest = {n: pooled([c for i, c in enumerate(f) if i != k]) for n, f in table.items()}
        # Ties go to the variant named first (the baseline), so a change must win outright.
        best = max(table, key=lambda n: (score(*rest[n])[2], -list(table).index(n)))
        held_out.append(table[best][k])
        print(f"fold {k}: chosen {best} (F1 {score(*rest[best])[2]:.3f} on the other folds), held-out {fmt(table[best][k])}")
    print(f"cross-validated: {fmt(pooled(held_out))}")


if __name__ == "__main__":
    main()
