//! Regeln: edit a Handlungsfeld's or project's rules and threshold, check them as
//! the admin types, and save them into `strategy.toml` (comments kept, a backup made,
//! the change audited, the daemon told to reload).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Serialize;
use toml_edit::DocumentMut;

use super::strategy_edit::{self, Problem, ProfileEdit, ProfileKind, RuleEdit};
use super::{Admin, admin, admin_with_csrf, render, render_status};
use crate::store::Store;
use crate::web::WebState;

/// Empty rule fields the form offers for new rules.
const SPARE_RULES: usize = 2;

#[derive(Serialize)]
struct ProfileRow {
    kind: &'static str,
    id: String,
    name: String,
    threshold: f64,
    rules: usize,
    handlungsfeld: Option<String>,
}

fn strategy_path(state: &WebState) -> std::path::PathBuf {
    state.0.config.dir.join("strategy.toml")
}

fn read_strategy(state: &WebState) -> Result<(String, DocumentMut), Response> {
    let path = strategy_path(state);
    let text =
        std::fs::read_to_string(&path).map_err(|e| state.0.pages.failed("admin: cannot read strategy.toml", &e))?;
    let doc = text
        .parse::<DocumentMut>()
        .map_err(|e| state.0.pages.failed("admin: strategy.toml is not valid TOML", &e))?;
    Ok((text, doc))
}

pub async fn list(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let admin = match admin(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (_, doc) = match read_strategy(&state) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let mut rows = Vec::new();
    for kind in [ProfileKind::Handlungsfeld, ProfileKind::Project] {
        let Some(tables) = doc.get(kind.table()).and_then(|i| i.as_array_of_tables()) else {
            continue;
        };
        for t in tables.iter() {
            let Some(id) = t.get("id").and_then(|v| v.as_str()) else {
                continue;
            };
            let profile = strategy_edit::current(&doc, kind, id);
            rows.push(ProfileRow {
                kind: kind.slug(),
                id: id.to_string(),
                name: t.get("name").and_then(|v| v.as_str()).unwrap_or(id).to_string(),
                threshold: profile.as_ref().map_or(0.0, |p| p.threshold),
                rules: profile.as_ref().map_or(0, |p| p.rules.len()),
                handlungsfeld: t.get("handlungsfeld").and_then(|v| v.as_str()).map(str::to_string),
            });
        }
    }
    #[derive(Serialize)]
    struct Ctx {
        profiles: Vec<ProfileRow>,
    }
    render(&state, &admin, "admin/rules_list.html.j2", Ctx { profiles: rows })
}

/// The form's fields: `threshold`, `expr_N`, `weight_N` (N from 1), `csrf`.
fn parse_form(fields: &[(String, String)]) -> Result<(ProfileEdit, Option<String>), Vec<Problem>> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut problems = Vec::new();
    let number = |s: Option<&str>, what: String, problems: &mut Vec<Problem>| -> f64 {
        match s.map(|s| s.trim().replace(',', ".")).filter(|s| !s.is_empty()) {
            Some(s) => s.parse::<f64>().unwrap_or_else(|_| {
                problems.push(Problem {
                    rule: None,
                    line: None,
                    column: None,
                    message: format!("{what}: „{s}“ ist keine Zahl"),
                });
                0.0
            }),
            None => {
                problems.push(Problem {
                    rule: None,
                    line: None,
                    column: None,
                    message: format!("{what} fehlt"),
                });
                0.0
            }
        }
    };
    let threshold = number(get("threshold"), "Schwelle".into(), &mut problems);
    let mut rules = Vec::new();
    for i in 1..=500 {
        let Some(expr) = get(&format!("expr_{i}")) else { break };
        let expr = expr.replace("\r\n", "\n");
        if expr.trim().is_empty() {
            continue;
        }
        let weight = number(
            get(&format!("weight_{i}")),
            format!("Gewicht von Regel {i}"),
            &mut problems,
        );
        rules.push(RuleEdit {
            expr: expr.trim().to_string(),
            weight,
        });
    }
    let edit = ProfileEdit { rules, threshold };
    problems.extend(strategy_edit::check_rules(&edit));
    if problems.is_empty() {
        Ok((edit, get("csrf").map(str::to_string)))
    } else {
        Err(problems)
    }
}

#[derive(Serialize)]
struct EditCtx {
    kind: &'static str,
    id: String,
    name: String,
    rules: Vec<RuleEdit>,
    threshold: f64,
    problems: Vec<Problem>,
    saved: bool,
    not_matching: Vec<super::rules_feedback::Rejected>,
    preview: Option<super::preview::Preview>,
}

fn target(kind: ProfileKind, id: &str) -> String {
    format!("strategy.toml {} {id}", kind.table())
}

fn profile_name(doc: &DocumentMut, kind: ProfileKind, id: &str) -> Option<String> {
    doc.get(kind.table())?
        .as_array_of_tables()?
        .iter()
        .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(id))
        .map(|t| t.get("name").and_then(|v| v.as_str()).unwrap_or(id).to_string())
}

async fn edit_page(
    state: &WebState,
    admin: &Admin,
    kind: ProfileKind,
    id: &str,
    shown: Option<(ProfileEdit, Vec<Problem>)>,
    saved: bool,
    preview: Option<super::preview::Preview>,
) -> Response {
    let (_, doc) = match read_strategy(state) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (Some(name), Some(current)) = (profile_name(&doc, kind, id), strategy_edit::current(&doc, kind, id)) else {
        return state.0.pages.not_found("Dieses Profil gibt es in strategy.toml nicht.");
    };
    let (mut edit, problems) = shown.unwrap_or((current, Vec::new()));
    for _ in 0..SPARE_RULES {
        edit.rules.push(RuleEdit {
            expr: String::new(),
            weight: 1.0,
        });
    }
    let not_matching = match kind {
        ProfileKind::Project => super::rules_feedback::rejected(state, id).await,
        ProfileKind::Handlungsfeld => Vec::new(),
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        state,
        admin,
        status,
        "admin/rules_edit.html.j2",
        EditCtx {
            kind: kind.slug(),
            id: id.to_string(),
            name,
            rules: edit.rules,
            threshold: edit.threshold,
            problems,
            saved,
            not_matching,
            preview,
        },
    )
}

#[derive(serde::Deserialize)]
pub struct SavedQuery {
    gespeichert: Option<String>,
}

pub async fn edit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
    query: axum::extract::Query<SavedQuery>,
) -> Response {
    let admin = match admin(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(kind) = ProfileKind::parse(&kind) else {
        return state.0.pages.not_found("Diese Art von Profil gibt es nicht.");
    };
    edit_page(&state, &admin, kind, &id, None, query.gespeichert.is_some(), None).await
}

/// The admin behind a form post (session and its CSRF token) and the profile kind it
/// names; otherwise the answer to send.
async fn form_request(
    state: &WebState,
    headers: &HeaderMap,
    kind: &str,
    fields: &[(String, String)],
) -> Result<(Admin, ProfileKind), Response> {
    let csrf = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    let admin = admin_with_csrf(state, headers, csrf).await?;
    match ProfileKind::parse(kind) {
        Some(kind) => Ok((admin, kind)),
        None => Err(state.0.pages.not_found("Diese Art von Profil gibt es nicht.")),
    }
}

/// The check-as-you-type script of the edit page (served from the binary, so the
/// CSP's `script-src 'self'` covers it and nothing comes from elsewhere).
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../static/regeln.js"),
    )
        .into_response()
}

/// The debounced check while typing: JSON `{"ok": bool, "problems": [...]}` with the
/// rule, line and column of each syntax error.
pub async fn validate(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let kind = match form_request(&state, &headers, &kind, &fields).await {
        Ok((_, kind)) => kind,
        Err(r) => return r,
    };
    let problems = match candidate(&state, kind, &id, &fields) {
        Ok((_, _, text)) => strategy_edit::load_with(&state.0.config.dir, &text)
            .err()
            .unwrap_or_default(),
        Err(problems) => problems,
    };
    #[derive(Serialize)]
    struct Answer {
        ok: bool,
        problems: Vec<Problem>,
    }
    let body = serde_json::to_string(&Answer {
        ok: problems.is_empty(),
        problems,
    })
    .unwrap_or_else(|_| "{\"ok\":false,\"problems\":[]}".into());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The form as an edit, the file's old text and the candidate text.
fn candidate(
    state: &WebState,
    kind: ProfileKind,
    id: &str,
    fields: &[(String, String)],
) -> Result<(ProfileEdit, String, String), Vec<Problem>> {
    let (edit, _) = parse_form(fields)?;
    let one = |message: String| {
        vec![Problem {
            rule: None,
            line: None,
            column: None,
            message,
        }]
    };
    let old = std::fs::read_to_string(strategy_path(state)).map_err(|e| one(format!("strategy.toml: {e}")))?;
    let text = strategy_edit::apply(&old, kind, id, &edit).map_err(|e| one(format!("{e:#}")))?;
    Ok((edit, old, text))
}

pub async fn save(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (admin, kind) = match form_request(&state, &headers, &kind, &fields).await {
        Ok(request) => request,
        Err(r) => return r,
    };
    // Serialises saves in this process, so that two admins cannot interleave a
    // read-modify-write of the file.
    let _guard = state.0.config_write.lock().await;
    let (edit, old, text) = match candidate(&state, kind, &id, &fields) {
        Ok(c) => c,
        Err(problems) => return refused(&state, &admin, kind, &id, &fields, problems).await,
    };
    if let Err(problems) = strategy_edit::load_with(&state.0.config.dir, &text) {
        return refused(&state, &admin, kind, &id, &fields, problems).await;
    }
    let old_profile = old
        .parse::<DocumentMut>()
        .ok()
        .and_then(|d| strategy_edit::current(&d, kind, &id))
        .map(|p| p.summary())
        .unwrap_or_default();
    let path = strategy_path(&state);
    let now = Utc::now();
    let written = super::files::backup(&path, now).and_then(|_| super::files::write_atomically(&path, &text));
    if let Err(e) = written {
        return state.0.pages.failed("admin: cannot write strategy.toml", &e);
    }
    if let Err(e) = state
        .0
        .store
        .record_audit(now, &admin.name, &target(kind, &id), &old_profile, &edit.summary())
        .await
    {
        return state.0.pages.failed("admin: cannot record the audit entry", &e);
    }
    tracing::info!(admin = %admin.name, profile = %id, "strategy.toml saved from the admin UI");
    super::reload::daemon(&state).await;
    Redirect::to(&format!("/admin/regeln/{}/{id}?gespeichert=1", kind.slug())).into_response()
}

/// The form again with the preview of the typed rules against the stored open calls;
/// nothing is written.
pub async fn preview(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (admin, kind) = match form_request(&state, &headers, &kind, &fields).await {
        Ok(request) => request,
        Err(r) => return r,
    };
    let (edit, _, text) = match candidate(&state, kind, &id, &fields) {
        Ok(c) => c,
        Err(problems) => return refused(&state, &admin, kind, &id, &fields, problems).await,
    };
    let after = match strategy_edit::load_with(&state.0.config.dir, &text) {
        Ok(config) => config,
        Err(problems) => return refused(&state, &admin, kind, &id, &fields, problems).await,
    };
    let rules = match state.0.rules.current(&state.0.config.dir) {
        Ok(r) => r,
        Err(e) => return state.0.pages.failed("admin: cannot compile the rules in force", &e),
    };
    let (baseline, recipients) = match (
        super::preview::baseline(&state, rules.clone()).await,
        super::preview::recipients(&state, &rules.config).await,
    ) {
        (Ok(b), Ok(r)) => (b, r),
        (Err(e), _) | (_, Err(e)) => return state.0.pages.failed("admin: cannot prepare the preview", &e),
    };
    let profile_id = id.clone();
    let result = tokio::task::spawn_blocking(move || {
        let matcher = crate::matching::Matcher::new(&after)?;
        let matches = super::preview::match_all(&matcher, &baseline.calls, &baseline.docs, baseline.day);
        let mut preview = super::preview::compare(&baseline, &matches, &recipients, kind, &profile_id);
        match &baseline.labelled {
            Some(Ok(labelled)) => {
                preview.eval = Some(super::preview::evaluate(labelled, &matcher, kind, &profile_id));
            }
            Some(Err(problem)) => preview.eval_problem = Some(problem.clone()),
            None => {}
        }
        Ok::<_, crate::matching::MatchSetupError>(preview)
    })
    .await;
    let preview = match result {
        Ok(Ok(p)) => p.named(&state.0.config),
        Ok(Err(e)) => {
            let problems = vec![Problem {
                rule: None,
                line: None,
                column: None,
                message: e.to_string(),
            }];
            return refused(&state, &admin, kind, &id, &fields, problems).await;
        }
        Err(e) => return state.0.pages.failed("admin: the preview failed", &e),
    };
    edit_page(
        &state,
        &admin,
        kind,
        &id,
        Some((edit, Vec::new())),
        false,
        Some(preview),
    )
    .await
}

/// Shows the form again with what the admin typed and why it was refused; the file
/// is not touched.
async fn refused(
    state: &WebState,
    admin: &Admin,
    kind: ProfileKind,
    id: &str,
    fields: &[(String, String)],
    problems: Vec<Problem>,
) -> Response {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut rules = Vec::new();
    for i in 1..=500 {
        let Some(expr) = get(&format!("expr_{i}")) else { break };
        if expr.trim().is_empty() {
            continue;
        }
        let weight = get(&format!("weight_{i}"))
            .and_then(|w| w.trim().replace(',', ".").parse().ok())
            .unwrap_or(1.0);
        rules.push(RuleEdit { expr, weight });
    }
    let threshold = get("threshold")
        .and_then(|w| w.trim().replace(',', ".").parse().ok())
        .unwrap_or(0.0);
    edit_page(
        state,
        admin,
        kind,
        id,
        Some((ProfileEdit { rules, threshold }, problems)),
        false,
        None,
    )
    .await
}
