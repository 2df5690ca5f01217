//! Aufrufe: search the stored calls (text, source, state, deadline window; paginated)
//! and show one call with its versions, its changes and the matcher's explanation,
//! summarised first (see [`super::call_explanation`]).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::call_explanation::{self, ProfileView};
use super::{admin, render, render_status};
use crate::model::german::{format_date_de, format_deadline};
use crate::model::{Call, CallStatus, safe_link};
use crate::store::{CallFilter, Store};
use crate::web::WebState;

/// Calls per result page.
pub const PAGE_SIZE: usize = 50;

/// Where a call stands today, as the search offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Open,
    Forthcoming,
    Closed,
}

impl CallState {
    fn parse(s: &str) -> Option<CallState> {
        match s {
            "offen" => Some(CallState::Open),
            "angekuendigt" => Some(CallState::Forthcoming),
            "geschlossen" => Some(CallState::Closed),
            _ => None,
        }
    }

    /// Closed by the source or past every stated date; announced by the source;
    /// otherwise open.
    pub fn of(call: &Call, today: NaiveDate) -> CallState {
        if call.status == CallStatus::Closed || !call.deadline.is_open(today) {
            CallState::Closed
        } else if call.status == CallStatus::Forthcoming {
            CallState::Forthcoming
        } else {
            CallState::Open
        }
    }

    fn label_de(self) -> &'static str {
        match self {
            CallState::Open => "offen",
            CallState::Forthcoming => "angekündigt",
            CallState::Closed => "geschlossen",
        }
    }
}

/// The search form's fields, as typed (empty fields do not filter).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    quelle: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    frist_von: String,
    #[serde(default)]
    frist_bis: String,
    #[serde(default)]
    seite: Option<usize>,
}

/// The search, checked.
struct Search {
    words: Vec<String>,
    source: Option<String>,
    state: Option<CallState>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl SearchParams {
    /// The typed search, or the German messages naming the fields that are wrong.
    fn checked(&self) -> Result<Search, Vec<String>> {
        let mut problems = Vec::new();
        let mut date = |value: &str, label: &str| {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(value, "%d.%m.%Y"))
                .map_err(|_| problems.push(format!("{label}: „{value}“ ist kein Datum (TT.MM.JJJJ)")))
                .ok()
        };
        let from = date(&self.frist_von, "Frist ab");
        let to = date(&self.frist_bis, "Frist bis");
        let state = match self.status.trim() {
            "" => None,
            s => CallState::parse(s).or_else(|| {
                problems.push(format!("Status: „{s}“ gibt es nicht"));
                None
            }),
        };
        let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        if problems.is_empty() {
            Ok(Search {
                words: self.q.split_whitespace().map(str::to_lowercase).collect(),
                source: non_empty(&self.quelle),
                state,
                from,
                to,
            })
        } else {
            Err(problems)
        }
    }

    /// The query string of this search on another page.
    fn on_page(&self, page: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("q", &self.q),
            ("quelle", &self.quelle),
            ("status", &self.status),
            ("frist_von", &self.frist_von),
            ("frist_bis", &self.frist_bis),
        ] {
            if !value.trim().is_empty() {
                query.append_pair(name, value);
            }
        }
        query.append_pair("seite", &page.to_string());
        query.finish()
    }
}

impl Search {
    fn accepts(&self, call: &Call, today: NaiveDate) -> bool {
        self.state.is_none_or(|s| CallState::of(call, today) == s) && self.in_window(call) && self.has_words(call)
    }

    /// A cut-off inside the window: the next one on or after its start (today when open-ended).
    fn in_window(&self, call: &Call) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        let start = self.from.unwrap_or(NaiveDate::MIN);
        call.deadline
            .next_date(start)
            .is_some_and(|d| self.to.is_none_or(|to| d <= to))
    }

    /// Every word in the title, summary, funder, text or id (case-insensitive).
    fn has_words(&self, call: &Call) -> bool {
        if self.words.is_empty() {
            return true;
        }
        let haystack = [
            call.title.as_str(),
            call.summary.as_str(),
            call.funder.as_deref().unwrap_or(""),
            call.id.as_str(),
            call.text.as_str(),
        ]
        .join("\n")
        .to_lowercase();
        self.words.iter().all(|w| haystack.contains(w.as_str()))
    }
}

#[derive(Serialize)]
struct CallRow {
    id: String,
    title: String,
    source: String,
    state: &'static str,
    deadline: String,
    first_seen: String,
}

fn local(state: &WebState, t: DateTime<Utc>) -> String {
    t.with_timezone(&state.0.config.service.timezone)
        .format("%d.%m.%Y %H:%M")
        .to_string()
}

fn deadline_text(call: &Call, today: NaiveDate) -> String {
    call.deadline
        .next_date(today)
        .map_or_else(|| format_deadline(&call.deadline), format_date_de)
}

/// `GET /admin/aufrufe`: the search form and one page of results, newest first.
pub async fn list(State(state): State<WebState>, headers: HeaderMap, Query(params): Query<SearchParams>) -> Response {
    let admin = match admin(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    #[derive(Serialize)]
    struct Ctx {
        search: SearchParams,
        sources: Vec<String>,
        problems: Vec<String>,
        rows: Vec<CallRow>,
        total: usize,
        page: usize,
        pages: usize,
        previous: Option<String>,
        next: Option<String>,
    }
    let sources = state.0.config.sources.iter().map(|s| s.id.clone()).collect();
    let search = match params.checked() {
        Ok(s) => s,
        Err(problems) => {
            let ctx = Ctx {
                search: params,
                sources,
                problems,
                rows: Vec::new(),
                total: 0,
                page: 1,
                pages: 1,
                previous: None,
                next: None,
            };
            return render_status(&state, &admin, StatusCode::BAD_REQUEST, "admin/calls.html.j2", ctx);
        }
    };
    let filter = CallFilter {
        source: search.source.clone(),
        ..CallFilter::default()
    };
    let calls = match state.0.store.list_calls(&filter).await {
        Ok(c) => c,
        Err(e) => return state.0.pages.failed("admin: cannot read the calls", &e),
    };
    let today = state.today();
    let found: Vec<&Call> = calls.iter().filter(|c| search.accepts(c, today)).collect();
    let pages = found.len().div_ceil(PAGE_SIZE).max(1);
    let page = params.seite.unwrap_or(1).clamp(1, pages);
    let rows = found
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|c| CallRow {
            id: c.id.0.clone(),
            title: c.title.clone(),
            source: c.source.clone(),
            state: CallState::of(c, today).label_de(),
            deadline: deadline_text(c, today),
            first_seen: local(&state, c.first_seen),
        })
        .collect();
    let ctx = Ctx {
        total: found.len(),
        previous: (page > 1).then(|| params.on_page(page - 1)),
        next: (page < pages).then(|| params.on_page(page + 1)),
        search: params,
        sources,
        problems: Vec::new(),
        rows,
        page,
        pages,
    };
    render(&state, &admin, "admin/calls.html.j2", ctx)
}

#[derive(Serialize)]
struct CallPage {
    id: String,
    title: String,
    source: String,
    link: Option<String>,
    funder: Option<String>,
    state: &'static str,
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
    field: &'static str,
    old: String,
    new: String,
}

/// `GET /admin/aufrufe/{id}`: the call, its versions and changes, and the
/// explanation against the rules as `strategy.toml` reads now.
pub async fn show(State(state): State<WebState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let admin = match admin(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let store = &state.0.store;
    let call = match store.get_call(&crate::model::CallId(id)).await {
        Ok(Some(call)) => call,
        Ok(None) => return state.0.pages.not_found("Diesen Förderaufruf gibt es nicht."),
        Err(e) => return state.0.pages.failed("admin: cannot read the call", &e),
    };
    let (versions, changes) = match (store.call_versions(&call.id).await, store.call_changes(&call.id).await) {
        (Ok(v), Ok(c)) => (v, c),
        (Err(e), _) | (_, Err(e)) => return state.0.pages.failed("admin: cannot read the call's history", &e),
    };
    let rules = match state.0.rules.current(&state.0.config.dir) {
        Ok(r) => r,
        Err(e) => return state.0.pages.failed("admin: cannot compile the rules", &e),
    };
    let today = state.today();
    let explanation = rules.matcher.explain(&call, today, None, None);
    let profiles: Vec<ProfileView> = call_explanation::views(&explanation, rules.config.kommunen.len());
    #[derive(Serialize)]
    struct Ctx {
        call: CallPage,
        versions: Vec<VersionRow>,
        changes: Vec<ChangeRow>,
        profiles: Vec<ProfileView>,
        passed: usize,
        today: String,
    }
    let page = CallPage {
        id: call.id.0.clone(),
        title: call.title.clone(),
        source: call.source.clone(),
        link: safe_link(&call.url),
        funder: call.funder.clone(),
        state: CallState::of(&call, today).label_de(),
        deadline: deadline_text(&call, today),
        first_seen: local(&state, call.first_seen),
        last_seen: local(&state, call.last_seen),
    };
    let ctx = Ctx {
        call: page,
        versions: versions
            .iter()
            .map(|(at, v)| VersionRow {
                at: local(&state, *at),
                title: v.title.clone(),
                deadline: format_deadline(&v.deadline),
            })
            .collect(),
        changes: changes
            .into_iter()
            .map(|c| ChangeRow {
                at: local(&state, c.at),
                field: c.change.field.label_de(),
                old: c.change.old,
                new: c.change.new,
            })
            .collect(),
        passed: profiles.iter().filter(|p| p.passed).count(),
        profiles,
        today: format_date_de(today),
    };
    render(&state, &admin, "admin/call.html.j2", ctx)
}
