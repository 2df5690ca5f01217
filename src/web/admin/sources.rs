//! Quellen (`/admin/quellen`): every source with its health, last error and its
//! latest passes (items, requests, time), and a form to switch it on or off, written
//! back to `sources.toml` through the shared save path.

use std::collections::HashMap;

use anyhow::Context;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use toml_edit::{DocumentMut, Item, Value};

use super::config_file::{self, Change, ConfigFile, Refused};
use super::overview::{SourceRow, local, source_row};
use super::{Admin, admin, admin_with_csrf, render_status};
use crate::store::{SourceRun, Store};
use crate::web::WebState;

/// Passes listed per source.
const RUNS_LISTED: u32 = 5;

#[derive(Serialize)]
struct RunRow {
    at: String,
    items: u32,
    requests: u32,
    not_modified: u32,
    seconds: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct SourceDetail {
    #[serde(flatten)]
    health: SourceRow,
    enabled: bool,
    calls: usize,
    runs: Vec<RunRow>,
}

#[derive(Serialize)]
struct Ctx {
    sources: Vec<SourceDetail>,
    saved: Option<String>,
    problems: Vec<String>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    gespeichert: Option<String>,
}

pub async fn page(State(state): State<WebState>, headers: HeaderMap, Query(query): Query<PageQuery>) -> Response {
    let admin = match admin(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    show(&state, &admin, StatusCode::OK, query.gespeichert, Vec::new()).await
}

async fn show(
    state: &WebState,
    admin: &Admin,
    status: StatusCode,
    saved: Option<String>,
    problems: Vec<String>,
) -> Response {
    let config = match config_file::load_current(state) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match details(state, &config).await {
        Ok(sources) => render_status(
            state,
            admin,
            status,
            "admin/sources.html.j2",
            Ctx {
                sources,
                saved,
                problems,
            },
        ),
        Err(e) => state.0.pages.failed("admin: cannot read the sources' health", &e),
    }
}

async fn details(state: &WebState, config: &crate::config::Config) -> anyhow::Result<Vec<SourceDetail>> {
    let store = &state.0.store;
    let tz = config.service.timezone;
    let health = crate::status::source_statuses(store, config).await?;
    let calls = store.calls_per_source().await?;
    let mut runs: HashMap<String, Vec<RunRow>> = HashMap::new();
    for run in store.recent_source_runs(RUNS_LISTED).await? {
        let SourceRun {
            source,
            at,
            items,
            error,
            requests,
            not_modified,
            duration_ms,
        } = run;
        runs.entry(source).or_default().push(RunRow {
            at: local(at, tz),
            items,
            requests,
            not_modified,
            seconds: format!("{:.1}", duration_ms as f64 / 1000.0).replace('.', ","),
            error,
        });
    }
    Ok(health
        .iter()
        .map(|h| SourceDetail {
            enabled: config.sources.iter().any(|s| s.id == h.source && s.enabled),
            calls: calls.get(&h.source).copied().unwrap_or(0),
            runs: runs.remove(&h.source).unwrap_or_default(),
            health: source_row(h, config, tz),
        })
        .collect())
}

#[derive(Deserialize)]
pub struct SwitchForm {
    csrf: Option<String>,
    /// `true` or `false`: the state the source is to have.
    enabled: String,
}

/// Switches a source on or off in `sources.toml`.
pub async fn switch(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<SwitchForm>,
) -> Response {
    let admin = match admin_with_csrf(&state, &headers, form.csrf.as_deref()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return state
                .0
                .pages
                .bad_request("Das Feld „enabled“ muss true oder false sein.");
        }
    };
    let _guard = state.0.config_write.lock().await;
    let old = match config_file::read(&state, ConfigFile::Sources) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (text, was) = match set_enabled(&old, &id, enabled) {
        Ok(edit) => edit,
        Err(e) => return state.0.pages.not_found(&format!("{e:#}")),
    };
    let change = Change {
        file: ConfigFile::Sources,
        text: &text,
        target: format!("sources.toml: Quelle {id}"),
        old: format!("enabled = {was}"),
        new: format!("enabled = {enabled}"),
    };
    match config_file::save(&state, &admin, change).await {
        Ok(()) => Redirect::to(&format!("/admin/quellen?gespeichert={id}#source-{id}")).into_response(),
        Err(Refused::Invalid(problems)) => show(&state, &admin, StatusCode::UNPROCESSABLE_ENTITY, None, problems).await,
        Err(Refused::Failed(r)) => r,
    }
}

/// `text` with `enabled` of source `id` set; the rest is kept byte for byte. Also
/// returns the value it had (absent means `true`).
fn set_enabled(text: &str, id: &str, enabled: bool) -> anyhow::Result<(String, bool)> {
    let mut doc: DocumentMut = text.parse().context("sources.toml is not valid TOML")?;
    let table = doc
        .get_mut("source")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| a.iter_mut().find(|t| t.get("id").and_then(Item::as_str) == Some(id)))
        .with_context(|| format!("sources.toml has no source `{id}`"))?;
    let was = table.get("enabled").and_then(Item::as_bool).unwrap_or(true);
    let mut value = Value::from(enabled);
    if let Some(old) = table.get("enabled").and_then(Item::as_value) {
        *value.decor_mut() = old.decor().clone();
    }
    table.insert("enabled", Item::Value(value));
    Ok((doc.to_string(), was))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# top\n[[source]]\nid = \"a\"\nkind = \"rss\" # a feed\nurl = \"https://a.example/\"\n\n# b's comment\n[[source]]\nid = \"b\"\nenabled = false # off for now\nurl = \"https://b.example/\"\n";

    #[test]
    fn switching_keeps_comments_and_other_sources() {
        let (off, was) = set_enabled(TEXT, "a", false).unwrap();
        assert!(was);
        assert!(
            off.starts_with("# top\n[[source]]\nid = \"a\"\nkind = \"rss\" # a feed\n"),
            "{off}"
        );
        assert!(off.contains("enabled = false\n\n# b's comment\n"), "{off}");
        let (on, was) = set_enabled(TEXT, "b", true).unwrap();
        assert!(!was);
        assert!(on.contains("enabled = true # off for now\n"), "{on}");
        assert_eq!(on.replace("enabled = true #", "enabled = false #"), TEXT);
    }

    #[test]
    fn an_unknown_source_is_named() {
        let e = set_enabled(TEXT, "c", false).unwrap_err();
        assert!(e.to_string().contains("`c`"), "{e}");
    }
}
