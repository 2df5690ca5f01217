//! `/report` (the CLI's report, same output) and `/calls/{id}` (admin).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::WebState;
use super::access::{client_ip, is_admin};
use super::contact::recipient;
use crate::model::german::{format_date_de, format_deadline};
use crate::model::safe_link;
use crate::notify::links::LinkAction;
use crate::report::{self, ReportError, ReportFormat, ReportQuery};
use crate::store::Store;

#[derive(Debug, Default, Deserialize)]
pub struct ReportParams {
    kommune: Option<String>,
    project: Option<String>,
    handlungsfeld: Option<String>,
    format: Option<String>,
    /// A contact's settings link (its own Kommune's reports only).
    token: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// `GET /report`: with the admin token any Kommune (or all); with a contact's
/// settings link only that contact's Kommunen.
pub async fn report(
    State(state): State<WebState>,
    Query(params): Query<ReportParams>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let inner = &state.0;
    let pages = &inner.pages;
    let format = match params.format.as_deref().unwrap_or("html").parse::<ReportFormat>() {
        Ok(f) => f,
        Err(_) => return pages.bad_request("Unbekanntes Format; möglich sind html, csv, ics, json und md."),
    };
    let mut kommune = non_empty(&params.kommune);
    if !is_admin(&headers, inner.admin_token.as_deref()) {
        let Some(token) = &params.token else {
            return pages.unauthorized();
        };
        if !inner
            .limiter
            .allow(client_ip(peer, &headers), std::time::Instant::now())
        {
            return pages.too_many();
        }
        let forbidden = || pages.forbidden(&inner.config.service.admin);
        let Some(signer) = &inner.signer else {
            return forbidden();
        };
        let Ok(claims) = signer.verify(token, Utc::now()) else {
            return forbidden();
        };
        let Some(who) = recipient(&inner.config, &claims.contact).filter(|_| claims.action == LinkAction::Settings)
        else {
            return forbidden();
        };
        let own = who.kommune_ids();
        match &kommune {
            // Another Kommune's report is as closed as a wrong link.
            Some(k) if !own.iter().any(|id| same_kommune(&inner.config, id, k)) => return forbidden(),
            Some(_) => {}
            None => kommune = own.first().cloned(),
        }
    }
    let query = ReportQuery {
        kommune,
        project: non_empty(&params.project),
        handlungsfeld: non_empty(&params.handlungsfeld),
        ..ReportQuery::new(state.today())
    };
    let built = match report::build(&inner.store, &inner.config, &query).await {
        Ok(built) => built,
        Err(e @ ReportError::UnknownId { .. }) => return pages.bad_request(&e.to_string()),
        Err(e) => return pages.failed("report: cannot build", &e),
    };
    let text = match report::render_with_overrides(&built, format, &inner.config.dir) {
        Ok(text) => text,
        Err(e) => return pages.failed("report: cannot render", &e),
    };
    let content_type = match format {
        ReportFormat::Html => "text/html; charset=utf-8",
        ReportFormat::Csv => "text/csv; charset=utf-8",
        ReportFormat::Ics => "text/calendar; charset=utf-8",
        ReportFormat::Json => "application/json",
        ReportFormat::Markdown => "text/markdown; charset=utf-8",
    };
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// Whether the Kommune `id` is the one named by `given` (id or name, any case).
fn same_kommune(config: &crate::config::Config, id: &str, given: &str) -> bool {
    config
        .kommune(id)
        .is_some_and(|k| k.id.eq_ignore_ascii_case(given) || k.name.to_lowercase() == given.to_lowercase())
}

#[derive(Serialize)]
struct CallPage {
    id: String,
    title: String,
    source: String,
    link: Option<String>,
    funder: Option<String>,
    status: String,
    deadline: String,
    first_seen: String,
    last_seen: String,
}

#[derive(Serialize)]
struct VersionRow {
    at: String,
    title: String,
    deadline: String,
}

#[derive(Serialize)]
struct ChangeRow {
    at: String,
    text: String,
}

#[derive(Serialize)]
struct ExplanationView {
    kommune: String,
    passed: bool,
    text: String,
}

/// `GET /calls/{id}` (admin): the call, its versions and changes, and why it
/// matched or did not, per Kommune.
pub async fn call(State(state): State<WebState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let inner = &state.0;
    if !is_admin(&headers, inner.admin_token.as_deref()) {
        return inner.pages.unauthorized();
    }
    let store = &inner.store;
    let call = match store.find_call(&id).await {
        Ok(Some(call)) => call,
        Ok(None) => return inner.pages.not_found("Diesen Förderaufruf gibt es nicht."),
        Err(e) => return inner.pages.failed("call page: cannot read the call", &e),
    };
    let (versions, changes, matches) = match (
        store.call_versions(&call.id).await,
        store.changes_since(chrono::DateTime::UNIX_EPOCH).await,
        store.matches_for(&call.id).await,
    ) {
        (Ok(v), Ok(c), Ok(m)) => (v, c, m),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return inner.pages.failed("call page: cannot read the history", &e);
        }
    };
    let local = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&inner.config.service.timezone)
            .format("%d.%m.%Y %H:%M")
            .to_string()
    };
    let today = state.today();
    let explanations = inner
        .config
        .kommunen
        .iter()
        .map(|k| ExplanationView {
            kommune: k.name.clone(),
            passed: matches.iter().any(|m| m.passed && m.kommunen.contains(&k.id)),
            text: inner.matcher.explain(&call, today, None, Some(&k.id)).to_string(),
        })
        .collect();
    let page = CallPage {
        id: call.id.0.clone(),
        title: call.title.clone(),
        source: call.source.to_string(),
        link: safe_link(&call.url),
        funder: call.funder.clone(),
        status: call.status.to_string(),
        deadline: call
            .deadline
            .next_date(today)
            .map_or_else(|| format_deadline(&call.deadline), format_date_de),
        first_seen: local(call.first_seen),
        last_seen: local(call.last_seen),
    };
    #[derive(Serialize)]
    struct Ctx {
        call: CallPage,
        versions: Vec<VersionRow>,
        changes: Vec<ChangeRow>,
        explanations: Vec<ExplanationView>,
    }
    inner.pages.render(
        StatusCode::OK,
        "call.html.j2",
        Ctx {
            call: page,
            versions: versions
                .iter()
                .map(|(at, v)| VersionRow {
                    at: local(*at),
                    title: v.title.clone(),
                    deadline: format_deadline(&v.deadline),
                })
                .collect(),
            changes: changes
                .iter()
                .filter(|c| c.call_id == call.id)
                .map(|c| ChangeRow {
                    at: local(c.at),
                    text: format!("{}: {} → {}", c.change.field.label_de(), c.change.old, c.change.new),
                })
                .collect(),
            explanations,
        },
    )
}
