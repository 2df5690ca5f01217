//! The signed contact links: `GET` shows (a confirmation, the contact page, the
//! calendar), `POST` acts. Mail scanners open every link of a mail, so nothing
//! changes before a person presses the button; the form carries a CSRF token
//! bound to the link. The one exception is RFC 8058 one-click unsubscribe, a
//! `POST` of `List-Unsubscribe=One-Click` that mail clients send themselves.
//!
//! Every action is recorded as the CLI `feedback` command records it (a
//! [`FeedbackEntry`] with the contact as actor) or as [`ContactSettings`], so the
//! next digest respects it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::WebState;
use super::access::client_ip;
use crate::config::{Contact, Kommune};
use crate::model::contact::{Cadence, ContactSettings, weekday_de};
use crate::model::feedback::{FeedbackAction, FeedbackEntry, FeedbackTargetKind};
use crate::model::german::{format_date_de, format_deadline};
use crate::model::{CallId, safe_link};
use crate::notify::links::{LinkAction, LinkClaims, LinkSigner};
use crate::report::{self, ReportFormat, ReportQuery};
use crate::store::Store;

/// The contact a link names, with each Kommune that lists it.
pub struct Recipient<'a> {
    pub address: String,
    pub memberships: Vec<(&'a Kommune, &'a Contact)>,
}

impl Recipient<'_> {
    pub fn kommune_ids(&self) -> Vec<String> {
        self.memberships.iter().map(|(k, _)| k.id.clone()).collect()
    }

    fn name(&self) -> &str {
        self.memberships.first().map_or("", |(_, c)| c.name.as_str())
    }

    /// The Handlungsfelder the contact may follow: its configured subscription (the
    /// settings page narrows it, never widens it).
    fn subscribed_handlungsfelder(&self, config: &crate::config::Config) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for (_, c) in &self.memberships {
            ids.extend(c.interests.handlungsfelder.iter().cloned());
            ids.extend(
                c.interests
                    .projects
                    .iter()
                    .filter_map(|p| config.strategy.project(p).map(|p| p.handlungsfeld.clone())),
            );
        }
        // Strategy order.
        config
            .strategy
            .handlungsfelder
            .iter()
            .map(|h| h.id.clone())
            .filter(|id| ids.contains(id))
            .collect()
    }
}

/// The recipient a verified link names, if the config still lists it.
pub fn recipient<'a>(config: &'a crate::config::Config, address: &str) -> Option<Recipient<'a>> {
    let memberships: Vec<_> = config
        .kommunen
        .iter()
        .flat_map(|k| k.contacts.iter().map(move |c| (k, c)))
        .filter(|(_, c)| c.email.eq_ignore_ascii_case(address))
        .collect();
    (!address.is_empty() && !memberships.is_empty()).then(|| Recipient {
        address: address.to_lowercase(),
        memberships,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct PageFilter {
    handlungsfeld: Option<String>,
    project: Option<String>,
}

/// Verifies the token behind the rate limit; `Err` is the response to send (an
/// error page, built once per refused request, so its size does not matter).
#[allow(clippy::result_large_err)]
fn verified(
    state: &WebState,
    token: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(LinkSigner, LinkClaims), Response> {
    let inner = &state.0;
    if !inner.limiter.allow(client_ip(peer, headers), std::time::Instant::now()) {
        return Err(inner.pages.too_many());
    }
    let forbidden = || inner.pages.forbidden(&inner.config.service.admin);
    let signer = inner.signer.clone().ok_or_else(forbidden)?;
    let claims = signer.verify(token, Utc::now()).map_err(|e| {
        // The visitor learns nothing; the log says why, without the token.
        tracing::info!(reason = %e, "refused a contact link");
        forbidden()
    })?;
    Ok((signer, claims))
}

/// `GET /l/{token}`.
pub async fn show(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Query(filter): Query<PageFilter>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let (signer, claims) = match verified(&state, &token, peer, &headers) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let inner = &state.0;
    if let LinkAction::Calendar(kommune) = &claims.action {
        return calendar(&state, kommune).await;
    }
    let Some(who) = recipient(&inner.config, &claims.contact) else {
        return inner.pages.forbidden(&inner.config.service.admin);
    };
    match &claims.action {
        LinkAction::Settings => contact_page(&state, &signer, &token, &who, &filter, None).await,
        action => confirmation(&state, &signer, &token, &who, action).await,
    }
}

/// The stable ICS of a Kommune's open calls.
async fn calendar(state: &WebState, kommune: &str) -> Response {
    let inner = &state.0;
    if inner.config.kommune(kommune).is_none() {
        return inner.pages.forbidden(&inner.config.service.admin);
    }
    let query = ReportQuery {
        kommune: Some(kommune.to_string()),
        ..ReportQuery::new(state.today())
    };
    match report::build(&inner.store, &inner.config, &query).await {
        Ok(built) => (
            [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
            report::render(&built, ReportFormat::Ics),
        )
            .into_response(),
        Err(e) => inner.pages.failed("calendar: cannot build the report", &e),
    }
}

#[derive(Serialize)]
struct CallView {
    title: String,
    link: Option<String>,
    funder: Option<String>,
    deadline: String,
}

async fn call_view(state: &WebState, id: &CallId) -> Result<Option<CallView>, Response> {
    match state.0.store.get_call(id).await {
        Ok(call) => Ok(call.map(|c| CallView {
            link: safe_link(&c.url),
            deadline: format_deadline(&c.deadline),
            title: c.title,
            funder: c.funder,
        })),
        Err(e) => Err(state.0.pages.failed("link: cannot read the call", &e)),
    }
}

async fn confirmation(
    state: &WebState,
    signer: &LinkSigner,
    token: &str,
    who: &Recipient<'_>,
    action: &LinkAction,
) -> Response {
    let inner = &state.0;
    let call = match action {
        LinkAction::Passt(id) | LinkAction::PasstNicht(id) => match call_view(state, id).await {
            Ok(Some(view)) => Some(view),
            Ok(None) => {
                return inner
                    .pages
                    .not_found("Diesen Förderaufruf gibt es im Förderradar nicht mehr.");
            }
            Err(response) => return response,
        },
        _ => None,
    };
    let (question, explanation, button) = match action {
        LinkAction::Passt(_) => (
            "Passt dieser Förderaufruf?".to_string(),
            "Mit „Passt“ sagen Sie dem Kreis, dass dieser Aufruf für Sie relevant ist. Das hilft, die Regeln zu verbessern.".to_string(),
            "Ja, passt",
        ),
        LinkAction::PasstNicht(_) => (
            "Passt dieser Förderaufruf nicht?".to_string(),
            "Mit „Passt nicht“ erscheint dieser Aufruf nicht mehr in Ihren E-Mails, auch nicht als Erinnerung oder Änderungshinweis.".to_string(),
            "Passt nicht – nicht mehr zeigen",
        ),
        LinkAction::MuteProject(p) => {
            let name = inner.config.strategy.project(p).map_or(p.as_str(), |p| p.name.as_str());
            (
                format!("Nichts mehr zum Projekt „{name}“?"),
                format!("Sie erhalten dann keine Förderaufrufe mehr, die nur das Projekt „{name}“ betreffen."),
                "Projekt stummschalten",
            )
        }
        LinkAction::Unsubscribe => (
            "Förderradar abbestellen?".to_string(),
            "Sie erhalten dann keine E-Mails des Förderradars mehr. Über Ihre Einstellungen können Sie ihn jederzeit wieder bestellen.".to_string(),
            "Abbestellen",
        ),
        LinkAction::Settings | LinkAction::Calendar(_) => unreachable!("handled by the caller"),
    };
    #[derive(Serialize)]
    struct Ctx<'a> {
        question: String,
        explanation: String,
        button: &'a str,
        call: Option<CallView>,
        csrf: String,
        action_url: String,
        settings_url: String,
    }
    inner.pages.render(
        StatusCode::OK,
        "confirm.html.j2",
        Ctx {
            question,
            explanation,
            button,
            call,
            csrf: signer.csrf_token(token),
            action_url: signer.url_of(token),
            settings_url: signer.url(&who.address, &LinkAction::Settings, Utc::now()),
        },
    )
}

/// `POST /l/{token}`.
pub async fn act(
    State(state): State<WebState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (signer, claims) = match verified(&state, &token, peer, &headers) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let inner = &state.0;
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let Some(who) = recipient(&inner.config, &claims.contact) else {
        return inner.pages.forbidden(&inner.config.service.admin);
    };
    let one_click = claims.action == LinkAction::Unsubscribe && field("List-Unsubscribe") == Some("One-Click");
    if !one_click && !field("csrf").is_some_and(|csrf| signer.verify_csrf(&token, csrf)) {
        tracing::info!("refused a contact link form without a valid CSRF token");
        return inner.pages.forbidden(&inner.config.service.admin);
    }
    let now = Utc::now();
    let kommune = who.memberships.first().map(|(k, _)| k.id.clone());
    let feedback = |action, target_kind, target: &str| FeedbackEntry {
        id: 0,
        at: now,
        actor: who.address.clone(),
        contact: Some(who.address.clone()),
        kommune: kommune.clone(),
        action,
        target_kind,
        target: target.to_string(),
        reason: None,
    };
    let (entry, message) = match &claims.action {
        LinkAction::Passt(id) => (
            feedback(FeedbackAction::Passt, FeedbackTargetKind::Call, &id.0),
            "Danke! Wir haben vermerkt, dass dieser Förderaufruf passt.".to_string(),
        ),
        LinkAction::PasstNicht(id) => (
            feedback(FeedbackAction::PasstNicht, FeedbackTargetKind::Call, &id.0),
            "Danke! Dieser Förderaufruf erscheint nicht mehr in Ihren E-Mails.".to_string(),
        ),
        LinkAction::MuteProject(p) => {
            let name = inner.config.strategy.project(p).map_or(p.as_str(), |p| p.name.as_str());
            (
                feedback(FeedbackAction::Mute, FeedbackTargetKind::Project, p),
                format!("Sie erhalten keine Förderaufrufe mehr, die nur das Projekt „{name}“ betreffen."),
            )
        }
        LinkAction::Unsubscribe => {
            return unsubscribe(&state, &signer, &who, one_click).await;
        }
        LinkAction::Settings => return save_settings(&state, &signer, &token, &who, &form).await,
        LinkAction::Calendar(_) => return inner.pages.bad_request("Ein Kalender-Link nimmt keine Formulare an."),
    };
    if let Err(e) = inner.store.record_feedback(&entry).await {
        return inner.pages.failed("link: cannot record feedback", &e);
    }
    tracing::info!(action = %entry.action, target = %entry.target, "feedback recorded through a mail link");
    done(&state, &signer, &who, &message)
}

fn done(state: &WebState, signer: &LinkSigner, who: &Recipient<'_>, message: &str) -> Response {
    #[derive(Serialize)]
    struct Ctx<'a> {
        message: &'a str,
        settings_url: String,
    }
    state.0.pages.render(
        StatusCode::OK,
        "done.html.j2",
        Ctx {
            message,
            settings_url: signer.url(&who.address, &LinkAction::Settings, Utc::now()),
        },
    )
}

async fn unsubscribe(state: &WebState, signer: &LinkSigner, who: &Recipient<'_>, one_click: bool) -> Response {
    let inner = &state.0;
    let now = Utc::now();
    let mut settings = match inner.store.contact_settings(&who.address).await {
        Ok(s) => s.unwrap_or_else(|| ContactSettings::new(&who.address, now, &who.address)),
        Err(e) => return inner.pages.failed("link: cannot read contact settings", &e),
    };
    settings.unsubscribed = true;
    settings.updated = now;
    settings.updated_by = who.address.clone();
    if let Err(e) = inner.store.save_contact_settings(&settings).await {
        return inner.pages.failed("link: cannot save contact settings", &e);
    }
    tracing::info!(one_click, "contact unsubscribed through a mail link");
    if one_click {
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Abbestellt.").into_response();
    }
    done(
        state,
        signer,
        who,
        "Sie haben den Förderradar abbestellt und erhalten keine E-Mails mehr.",
    )
}

/// The cadence choices of the settings form: "" keeps the Kreis's setting.
fn cadence_choices(current: Option<Cadence>) -> Vec<BTreeMap<&'static str, String>> {
    let mut choices = vec![
        (String::new(), "wie vom Kreis eingestellt".to_string()),
        (Cadence::Sofort.to_string(), "sofort bei jedem Lauf".to_string()),
        (Cadence::Taeglich.to_string(), "täglich".to_string()),
    ];
    for day in [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri] {
        let cadence = Cadence::Woechentlich(day);
        let name = weekday_de(day);
        let label = format!("wöchentlich am {}{}", name[..1].to_uppercase(), &name[1..]);
        choices.push((cadence.to_string(), label));
    }
    let current = current.map(|c| c.to_string()).unwrap_or_default();
    choices
        .into_iter()
        .map(|(value, label)| {
            BTreeMap::from([
                ("selected", if value == current { "true" } else { "" }.to_string()),
                ("value", value),
                ("label", label),
            ])
        })
        .collect()
}

#[derive(Serialize)]
struct Named {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct Followed {
    id: String,
    name: String,
    checked: bool,
}

#[derive(Serialize)]
struct MuteLink {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct PageCall {
    title: String,
    link: Option<String>,
    funder: Option<String>,
    deadline: String,
    kommunen: String,
    topics: String,
    passt_url: String,
    passt_nicht_url: String,
    mute: Vec<MuteLink>,
}

#[derive(Serialize)]
struct ReportLinks {
    name: String,
    html: String,
    csv: String,
    ics: String,
}

#[derive(Serialize)]
struct SettingsView {
    unsubscribed: bool,
    paused_until: Option<String>,
}

/// The calls that concern the contact now: open calls with a passed match for one of
/// its Kommunen in what it follows, minus what it dismissed or muted.
async fn contact_calls(
    state: &WebState,
    who: &Recipient<'_>,
    settings: Option<&ContactSettings>,
    filter: &PageFilter,
) -> anyhow::Result<Vec<report::ReportCall>> {
    let inner = &state.0;
    let feedback = inner.store.feedback_set(&who.address, &who.kommune_ids()).await?;
    let mut calls: Vec<report::ReportCall> = Vec::new();
    for (kommune, contact) in &who.memberships {
        let query = ReportQuery {
            kommune: Some(kommune.id.clone()),
            ..ReportQuery::new(state.today())
        };
        let built = report::build(&inner.store, &inner.config, &query).await?;
        for mut call in built.calls {
            if feedback.hides_call(&call.call) {
                continue;
            }
            call.matches.retain(|m| {
                contact.interests.covers(&m.handlungsfeld, m.project.as_deref())
                    && settings.is_none_or(|s| s.follows(&m.handlungsfeld))
                    && !feedback.muted_handlungsfelder.contains(&m.handlungsfeld)
                    && !m.project.as_ref().is_some_and(|p| feedback.muted_projects.contains(p))
                    && filter
                        .handlungsfeld
                        .as_deref()
                        .is_none_or(|h| h.is_empty() || h == m.handlungsfeld)
                    && filter
                        .project
                        .as_deref()
                        .is_none_or(|p| p.is_empty() || m.project.as_deref() == Some(p))
            });
            if call.matches.is_empty() {
                continue;
            }
            match calls.iter_mut().find(|c| c.id == call.id) {
                Some(known) => known.matches.extend(call.matches),
                None => calls.push(call),
            }
        }
    }
    Ok(calls)
}

async fn contact_page(
    state: &WebState,
    signer: &LinkSigner,
    token: &str,
    who: &Recipient<'_>,
    filter: &PageFilter,
    saved: Option<&str>,
) -> Response {
    let inner = &state.0;
    let config = &inner.config;
    let now = Utc::now();
    let settings = match inner.store.contact_settings(&who.address).await {
        Ok(s) => s,
        Err(e) => return inner.pages.failed("contact page: cannot read settings", &e),
    };
    let calls = match contact_calls(state, who, settings.as_ref(), filter).await {
        Ok(calls) => calls,
        Err(e) => return inner.pages.failed("contact page: cannot list the calls", &e),
    };
    let page_calls: Vec<PageCall> = calls
        .iter()
        .map(|c| {
            let mut kommunen: Vec<String> = c.matches.iter().flat_map(|m| m.kommunen_names.clone()).collect();
            kommunen.sort();
            kommunen.dedup();
            let mut topics: Vec<String> = c
                .matches
                .iter()
                .map(|m| match &m.project_name {
                    Some(p) => format!("{} – Projekt {p}", m.handlungsfeld_name),
                    None => m.handlungsfeld_name.clone(),
                })
                .collect();
            topics.dedup();
            let mut mute: Vec<MuteLink> = Vec::new();
            for m in &c.matches {
                if let (Some(p), Some(name)) = (&m.project, &m.project_name)
                    && !mute.iter().any(|x| &x.name == name)
                {
                    mute.push(MuteLink {
                        name: name.clone(),
                        url: signer.url(&who.address, &LinkAction::MuteProject(p.clone()), now),
                    });
                }
            }
            PageCall {
                title: c.title.clone(),
                link: c.url.clone(),
                funder: c.funder.clone(),
                deadline: c
                    .deadline
                    .map_or_else(|| format_deadline(&c.call.deadline), format_date_de),
                kommunen: kommunen.join(", "),
                topics: topics.join(" · "),
                passt_url: signer.url(&who.address, &LinkAction::Passt(c.id.clone()), now),
                passt_nicht_url: signer.url(&who.address, &LinkAction::PasstNicht(c.id.clone()), now),
                mute,
            }
        })
        .collect();
    let subscribed = who.subscribed_handlungsfelder(config);
    let name_of = |id: &str| {
        config
            .strategy
            .handlungsfeld(id)
            .map_or(id.to_string(), |h| h.name.clone())
    };
    let followed: Vec<Followed> = subscribed
        .iter()
        .map(|id| Followed {
            id: id.clone(),
            name: name_of(id),
            checked: settings.as_ref().is_none_or(|s| s.follows(id)),
        })
        .collect();
    let handlungsfelder: Vec<Named> = subscribed
        .iter()
        .map(|id| Named {
            id: id.clone(),
            name: name_of(id),
        })
        .collect();
    let projects: Vec<Named> = config
        .strategy
        .projects
        .iter()
        .filter(|p| {
            who.memberships
                .iter()
                .any(|(_, c)| c.interests.covers(&p.handlungsfeld, Some(&p.id)))
        })
        .map(|p| Named {
            id: p.id.clone(),
            name: p.name.clone(),
        })
        .collect();
    let reports = who
        .memberships
        .iter()
        .map(|(k, _)| {
            let url = |format: &str| report_url(signer, &k.id, format, token);
            ReportLinks {
                name: k.name.clone(),
                html: url("html"),
                csv: url("csv"),
                ics: url("ics"),
            }
        })
        .collect::<Vec<_>>();
    let calendars: Vec<Named> = who
        .memberships
        .iter()
        .map(|(k, _)| Named {
            id: k.id.clone(),
            name: k.name.clone(),
        })
        .collect();
    #[derive(Serialize)]
    struct Ctx<'a> {
        greeting: String,
        as_of: String,
        saved: Option<&'a str>,
        settings: SettingsView,
        handlungsfelder: Vec<Named>,
        projects: Vec<Named>,
        filter_handlungsfeld: &'a str,
        filter_project: &'a str,
        calls: Vec<PageCall>,
        reports: Vec<ReportLinks>,
        calendars: Vec<BTreeMap<&'static str, String>>,
        self_url: String,
        csrf: String,
        cadences: Vec<BTreeMap<&'static str, String>>,
        followed: Vec<Followed>,
    }
    let kommunen: Vec<&str> = who.memberships.iter().map(|(k, _)| k.name.as_str()).collect();
    inner.pages.render(
        StatusCode::OK,
        "contact.html.j2",
        Ctx {
            // The name from kommunen.toml, never the address.
            greeting: format!("{} · {}", who.name(), kommunen.join(", ")),
            as_of: format_date_de(state.today()),
            saved,
            settings: SettingsView {
                unsubscribed: settings.as_ref().is_some_and(|s| s.unsubscribed),
                paused_until: settings
                    .as_ref()
                    .and_then(|s| s.paused_until)
                    .map(|d| d.format("%Y-%m-%d").to_string()),
            },
            handlungsfelder,
            projects,
            filter_handlungsfeld: filter.handlungsfeld.as_deref().unwrap_or(""),
            filter_project: filter.project.as_deref().unwrap_or(""),
            calls: page_calls,
            reports,
            calendars: calendars
                .into_iter()
                .map(|k| BTreeMap::from([("name", k.name), ("url", signer.calendar_url(&k.id))]))
                .collect(),
            self_url: signer.url_of(token),
            csrf: signer.csrf_token(token),
            cadences: cadence_choices(settings.as_ref().and_then(|s| s.cadence)),
            followed,
        },
    )
}

/// A report of the contact's Kommune, opened with its settings link.
fn report_url(signer: &LinkSigner, kommune: &str, format: &str, token: &str) -> String {
    let mut url = signer.base().join("report").expect("a relative path joins");
    url.query_pairs_mut()
        .append_pair("kommune", kommune)
        .append_pair("format", format)
        .append_pair("token", token);
    url.into()
}

async fn save_settings(
    state: &WebState,
    signer: &LinkSigner,
    token: &str,
    who: &Recipient<'_>,
    form: &[(String, String)],
) -> Response {
    let inner = &state.0;
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    let cadence = match field("cadence").unwrap_or("") {
        "" => None,
        text => match text.parse::<Cadence>() {
            Ok(c) => Some(c),
            Err(_) => return inner.pages.bad_request("Diese Häufigkeit gibt es nicht."),
        },
    };
    let subscribed = who.subscribed_handlungsfelder(&inner.config);
    let chosen: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "handlungsfeld")
        .map(|(_, v)| v.clone())
        .collect();
    // Narrowing only: a Handlungsfeld beyond the subscription is refused, not added.
    if chosen.iter().any(|h| !subscribed.contains(h)) {
        return inner
            .pages
            .bad_request("Sie können nur Handlungsfelder wählen, die Ihre Kommune verfolgt.");
    }
    if chosen.is_empty() {
        return inner
            .pages
            .bad_request("Bitte wählen Sie mindestens ein Handlungsfeld – oder bestellen Sie den Förderradar ab.");
    }
    let handlungsfelder =
        (chosen.len() < subscribed.len()).then(|| subscribed.iter().filter(|h| chosen.contains(h)).cloned().collect());
    let paused_until = match field("paused_until").unwrap_or("") {
        "" => None,
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => return inner.pages.bad_request("Bitte geben Sie das Datum als TT.MM.JJJJ an."),
        },
    };
    let settings = ContactSettings {
        cadence,
        handlungsfelder,
        paused_until,
        unsubscribed: field("unsubscribed").is_some(),
        ..ContactSettings::new(&who.address, Utc::now(), &who.address)
    };
    if let Err(e) = inner.store.save_contact_settings(&settings).await {
        return inner.pages.failed("settings: cannot save", &e);
    }
    tracing::info!("contact settings saved through the settings page");
    contact_page(
        state,
        signer,
        token,
        who,
        &PageFilter::default(),
        Some("Ihre Einstellungen sind gespeichert."),
    )
    .await
}
