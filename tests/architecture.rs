//! The module layering of `src/`: every top-level module may use only modules of
//! a lower layer, so dependencies run one way and no cycle can form.
//!
//! The test reads every `src/**/*.rs`, collects the `crate::<module>` paths each
//! top-level module refers to (also inside `use crate::{a, b::{c}}` groups;
//! comments are ignored), and fails on every reference to a module of the same
//! or a higher layer, and on any top-level module missing from [`LAYERS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Allowed layering, bottom first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    // Shared vocabulary: calls, deadlines, sources, German text folding and formatting.
    &["model"],
    // The rule language (parser and AST), below config (which checks rules) and matching.
    &["rules"],
    &["config"],
    &["store"],
    // The pipeline stages.
    &["collect", "matching", "notify", "report"],
    &["app", "status"],
    // `foerderradar serve`: links, reports, health and metrics over HTTP.
    &["web"],
    &["daemon"],
    &["cli"],
];

/// Files at the crate root that are not modules of their own.
const ROOTS: [&str; 2] = ["lib", "main"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// `src/collect/html.rs` → `collect`; `src/model/mod.rs` → `model`; `src/cli.rs` → `cli`.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next().expect("non-empty path");
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_string()
}

/// The code of a file without `//` comments and string-free enough for path scanning.
fn strip_comments(code: &str) -> String {
    code.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every top-level module named right after `crate::`, including each first
/// segment of a `crate::{...}` group.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let code = strip_comments(code);
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            found.extend(group_heads(group));
        } else {
            let ident: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !ident.is_empty() {
                found.insert(ident);
            }
        }
    }
    found
}

/// First path segment of every top-level item of a `{a::b, c, d::{e}}` group.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_item_start = true;
    let mut chars = group.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item_start = true,
            c if at_item_start && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                let ident: String = group[i..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                for _ in 1..ident.chars().count() {
                    chars.next();
                }
                heads.push(ident);
                at_item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// Module → modules it refers to, over every `.rs` file under `src`.
fn dependencies(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = top_module(src, &path);
                let code = std::fs::read_to_string(&path).expect("readable source file");
                deps.entry(module).or_default().extend(crate_refs(&code));
            }
        }
    }
    deps
}

/// Every breach of [`LAYERS`], as readable lines.
fn violations(deps: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (module, used) in deps {
        if ROOTS.contains(&module.as_str()) {
            continue;
        }
        let Some(own) = layer_of(module) else {
            out.push(format!(
                "module `{module}` is not in the layer table of tests/architecture.rs"
            ));
            continue;
        };
        for dep in used.iter().filter(|d| *d != module) {
            match layer_of(dep) {
                None => out.push(format!(
                    "`{module}` uses `crate::{dep}`, which is not in the layer table"
                )),
                Some(layer) if layer >= own => out.push(format!(
                    "`{module}` (layer {own}) uses `crate::{dep}` (layer {layer}): only lower layers may be used"
                )),
                Some(_) => {}
            }
        }
    }
    out
}

#[test]
fn modules_only_use_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let deps = dependencies(&src);
    assert!(deps.contains_key("config") && deps.contains_key("collect"), "{deps:?}");
    let found = violations(&deps);
    assert!(found.is_empty(), "upward or sideways imports:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_upward_imports_in_every_spelling() {
    let deps = |module: &str, code: &str| BTreeMap::from([(module.to_string(), crate_refs(code))]);
    for code in [
        "use crate::collect::SourceKind;",
        "use crate::{model::Call, collect};",
        "use crate::{\n    model::{Call, Match},\n    collect::{self, Fetcher},\n};",
        "fn f() { let _ = crate::collect::identity::canonical_url(\"x\"); }",
    ] {
        let found = violations(&deps("config", code));
        assert_eq!(found.len(), 1, "{code}: {found:?}");
        assert!(
            found[0].contains("`config` (layer 2) uses `crate::collect`"),
            "{found:?}"
        );
    }
    // Sideways is as wrong as upwards: two stages must not know each other.
    assert_eq!(violations(&deps("collect", "use crate::matching::Matcher;")).len(), 1);
    assert_eq!(
        violations(&deps("store", "use crate::store::x; use crate::model::Call;")).len(),
        0
    );
    // Comments and longer names that merely end in `crate` do not count.
    assert!(violations(&deps("model", "// use crate::config;\nuse my_crate::config;")).is_empty());
    assert_eq!(violations(&deps("newthing", "")).len(), 1);
}
