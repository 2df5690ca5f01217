//! Kontakte (`/admin/kontakte`): the Kommunen with their contacts and settings from
//! `kommunen.toml`, beside what each contact changed itself through its links (the
//! store's contact settings) and its feedback. An admin edits a contact's cadence,
//! Handlungsfelder and pause in `kommunen.toml` through the shared save path.

use std::collections::{BTreeSet, HashMap};

use anyhow::Context;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use toml_edit::{Array, DocumentMut, Item, Table, Value};

use super::config_file::{self, Change, ConfigFile, Refused};
use super::overview::local;
use super::{Admin, admin, admin_with_csrf, render_status};
use crate::config::{Config, Kommune};
use crate::model::feedback::FeedbackAction;
use crate::store::{FeedbackFilter, Store};
use crate::web::WebState;

#[derive(Serialize)]
struct KommuneRow {
    id: String,
    name: String,
    /// Handlungsfeld names; empty when it follows the whole strategy.
    interests: Vec<String>,
    contacts: Vec<ContactRow>,
}

#[derive(Serialize)]
struct ContactRow {
    /// Position in the Kommune's contact list, from 1 (the edit link).
    n: usize,
    name: String,
    email: String,
    cadence: String,
    /// Handlungsfeld names; empty when it follows the Kommune.
    handlungsfelder: Vec<String>,
    paused_until: Option<String>,
    own: Option<OwnSettings>,
    passt: u32,
    passt_nicht: u32,
    mutes: u32,
}

/// What the contact set itself through its links.
#[derive(Serialize)]
struct OwnSettings {
    cadence: Option<String>,
    handlungsfelder: Option<Vec<String>>,
    paused_until: Option<String>,
    unsubscribed: bool,
    updated: String,
    updated_by: String,
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
    let config = match config_file::load_current(&state) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let kommunen = match rows(&state, &config).await {
        Ok(k) => k,
        Err(e) => return state.0.pages.failed("admin: cannot read the contacts' settings", &e),
    };
    #[derive(Serialize)]
    struct Ctx {
        kommunen: Vec<KommuneRow>,
        saved: Option<String>,
    }
    render_status(
        &state,
        &admin,
        StatusCode::OK,
        "admin/contacts.html.j2",
        Ctx {
            kommunen,
            saved: query.gespeichert,
        },
    )
}

fn names(config: &Config, ids: &BTreeSet<String>) -> Vec<String> {
    ids.iter()
        .map(|id| {
            config
                .strategy
                .handlungsfeld(id)
                .map_or_else(|| id.clone(), |h| h.name.clone())
        })
        .collect()
}

fn follows_everything(config: &Config, ids: &BTreeSet<String>) -> bool {
    config.strategy.handlungsfelder.iter().all(|h| ids.contains(&h.id))
}

async fn rows(state: &WebState, config: &Config) -> anyhow::Result<Vec<KommuneRow>> {
    let tz = config.service.timezone;
    let own: HashMap<String, _> = state
        .0
        .store
        .all_contact_settings()
        .await?
        .into_iter()
        .map(|s| (s.contact.clone(), s))
        .collect();
    let mut feedback: HashMap<String, (u32, u32, u32)> = HashMap::new();
    for entry in state.0.store.feedback(&FeedbackFilter::default()).await? {
        let Some(contact) = entry.contact else { continue };
        let counts = feedback.entry(contact).or_default();
        match entry.action {
            FeedbackAction::Passt => counts.0 += 1,
            FeedbackAction::PasstNicht => counts.1 += 1,
            FeedbackAction::Mute => counts.2 += 1,
            FeedbackAction::Unmute => counts.2 = counts.2.saturating_sub(1),
        }
    }
    Ok(config
        .kommunen
        .iter()
        .map(|k| KommuneRow {
            id: k.id.clone(),
            name: k.name.clone(),
            interests: if follows_everything(config, &k.interests.handlungsfelder) {
                Vec::new()
            } else {
                names(config, &k.interests.handlungsfelder)
            },
            contacts: k
                .contacts
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let address = c.email.trim().to_lowercase();
                    let (passt, passt_nicht, mutes) = feedback.get(&address).copied().unwrap_or_default();
                    ContactRow {
                        n: i + 1,
                        name: c.name.clone(),
                        email: c.email.clone(),
                        cadence: c.cadence.to_string(),
                        handlungsfelder: if c.interests == k.interests {
                            Vec::new()
                        } else {
                            names(config, &c.interests.handlungsfelder)
                        },
                        paused_until: c.paused_until.map(|d| d.format("%d.%m.%Y").to_string()),
                        own: own.get(&address).map(|s| OwnSettings {
                            cadence: s.cadence.map(|c| c.to_string()),
                            handlungsfelder: s
                                .handlungsfelder
                                .as_ref()
                                .map(|ids| names(config, &ids.iter().cloned().collect())),
                            paused_until: s.paused_until.map(|d| d.format("%d.%m.%Y").to_string()),
                            unsubscribed: s.unsubscribed,
                            updated: local(s.updated, tz),
                            updated_by: s.updated_by.clone(),
                        }),
                        passt,
                        passt_nicht,
                        mutes,
                    }
                })
                .collect(),
        })
        .collect())
}

/// The edit form's values: as in the file, or as the admin sent them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct ContactEdit {
    /// Empty: the key is left out (täglich).
    cadence: String,
    /// Empty: the contact follows the Kommune.
    handlungsfelder: Vec<String>,
    /// `YYYY-MM-DD`; empty: no pause.
    paused_until: String,
}

impl ContactEdit {
    fn from_table(t: &Table) -> ContactEdit {
        let text = |key: &str| t.get(key).and_then(Item::as_str).unwrap_or_default().to_string();
        ContactEdit {
            cadence: text("cadence"),
            handlungsfelder: t
                .get("handlungsfelder")
                .and_then(Item::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            paused_until: text("paused_until"),
        }
    }

    fn from_form(fields: &[(String, String)]) -> ContactEdit {
        let one = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        ContactEdit {
            cadence: one("cadence"),
            handlungsfelder: fields
                .iter()
                .filter(|(k, _)| k == "handlungsfelder")
                .map(|(_, v)| v.trim().to_string())
                .collect(),
            paused_until: one("paused_until"),
        }
    }

    /// The keys as the audit log shows them.
    fn summary(&self) -> String {
        let or = |s: &str, default: &str| {
            if s.is_empty() {
                default.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "cadence = {}\nhandlungsfelder = {}\npaused_until = {}\n",
            or(&self.cadence, "(täglich)"),
            if self.handlungsfelder.is_empty() {
                "(wie die Kommune)".to_string()
            } else {
                self.handlungsfelder.join(", ")
            },
            or(&self.paused_until, "(keine Pause)")
        )
    }

    /// Writes the keys into the contact's table; an empty value removes its key.
    fn apply(&self, t: &mut Table) {
        let set = |t: &mut Table, key: &str, value: Option<Value>| match value {
            Some(mut value) => {
                if let Some(old) = t.get(key).and_then(Item::as_value) {
                    *value.decor_mut() = old.decor().clone();
                }
                t.insert(key, Item::Value(value));
            }
            None => {
                t.remove(key);
            }
        };
        set(
            t,
            "cadence",
            (!self.cadence.is_empty()).then(|| Value::from(&self.cadence)),
        );
        let list = (!self.handlungsfelder.is_empty()).then(|| {
            let mut a = Array::new();
            for h in &self.handlungsfelder {
                a.push(h.as_str());
            }
            Value::Array(a)
        });
        set(t, "handlungsfelder", list);
        set(
            t,
            "paused_until",
            (!self.paused_until.is_empty()).then(|| Value::from(&self.paused_until)),
        );
    }
}

/// The contact's table in `kommunen.toml`: Kommune `kommune`, contact `n` (from 1).
fn contact_table<'a>(doc: &'a mut DocumentMut, kommune: &str, n: usize) -> anyhow::Result<&'a mut Table> {
    let k = doc
        .get_mut("kommune")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| {
            a.iter_mut()
                .find(|t| t.get("id").and_then(Item::as_str) == Some(kommune))
        })
        .with_context(|| format!("kommunen.toml has no Kommune `{kommune}`"))?;
    k.get_mut("contact")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| a.get_mut(n.checked_sub(1)?))
        .with_context(|| format!("the Kommune `{kommune}` has no contact {n} in kommunen.toml"))
}

/// `text` with the contact's keys replaced; the rest is kept byte for byte. Also
/// returns the keys as they were.
fn apply(text: &str, kommune: &str, n: usize, edit: &ContactEdit) -> anyhow::Result<(String, ContactEdit)> {
    let mut doc: DocumentMut = text.parse().context("kommunen.toml is not valid TOML")?;
    let table = contact_table(&mut doc, kommune, n)?;
    let old = ContactEdit::from_table(table);
    edit.apply(table);
    Ok((doc.to_string(), old))
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

async fn edit_page(
    state: &WebState,
    admin: &Admin,
    status: StatusCode,
    (kommune_id, n): (&str, usize),
    shown: Option<ContactEdit>,
    problems: Vec<String>,
) -> Response {
    let config = match config_file::load_current(state) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let text = match config_file::read(state, ConfigFile::Kommunen) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let in_file = text
        .parse::<DocumentMut>()
        .map_err(anyhow::Error::from)
        .and_then(|mut doc| contact_table(&mut doc, kommune_id, n).map(|t| ContactEdit::from_table(t)));
    let (Some(kommune), Ok(in_file)) = (config.kommune(kommune_id), in_file) else {
        return state.0.pages.not_found("Diesen Kontakt gibt es nicht.");
    };
    let Some(contact) = kommune.contacts.get(n - 1) else {
        return state.0.pages.not_found("Diesen Kontakt gibt es nicht.");
    };
    let edit = shown.unwrap_or(in_file);
    #[derive(Serialize)]
    struct Ctx<'a> {
        kommune: &'a str,
        kommune_id: &'a str,
        n: usize,
        name: &'a str,
        email: &'a str,
        cadences: Vec<Choice>,
        handlungsfelder: Vec<Choice>,
        paused_until: &'a str,
        problems: Vec<String>,
    }
    render_status(
        state,
        admin,
        status,
        "admin/contact_edit.html.j2",
        Ctx {
            kommune: &kommune.name,
            kommune_id,
            n,
            name: &contact.name,
            email: &contact.email,
            cadences: cadences(&edit.cadence),
            handlungsfelder: field_choices(&config, kommune, &edit.handlungsfelder),
            paused_until: &edit.paused_until,
            problems,
        },
    )
}

/// The cadences `kommunen.toml` knows; a value typed by hand that is not among them
/// is offered too, so that the form shows what the file says.
fn cadences(current: &str) -> Vec<Choice> {
    let mut values = vec![
        ("".to_string(), "Vorgabe (täglich)".to_string()),
        ("sofort".into(), "sofort (bei jedem Lauf)".into()),
        ("täglich".into(), "täglich".into()),
    ];
    for day in [
        "montag",
        "dienstag",
        "mittwoch",
        "donnerstag",
        "freitag",
        "samstag",
        "sonntag",
    ] {
        values.push((format!("wöchentlich:{day}"), format!("wöchentlich am {day}")));
    }
    if !values.iter().any(|(v, _)| v == current) {
        values.push((current.to_string(), current.to_string()));
    }
    values
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// The Kommune's Handlungsfelder (a contact can only narrow them).
fn field_choices(config: &Config, kommune: &Kommune, chosen: &[String]) -> Vec<Choice> {
    config
        .strategy
        .handlungsfelder
        .iter()
        .filter(|h| kommune.interests.handlungsfelder.contains(&h.id) || chosen.contains(&h.id))
        .map(|h| Choice {
            value: h.id.clone(),
            label: h.name.clone(),
            selected: chosen.contains(&h.id),
        })
        .collect()
}

pub async fn edit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((kommune, n)): Path<(String, usize)>,
) -> Response {
    let admin = match admin(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if n == 0 {
        return state.0.pages.not_found("Diesen Kontakt gibt es nicht.");
    }
    edit_page(&state, &admin, StatusCode::OK, (&kommune, n), None, Vec::new()).await
}

pub async fn save(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((kommune, n)): Path<(String, usize)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    let admin = match admin_with_csrf(&state, &headers, csrf).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if n == 0 {
        return state.0.pages.not_found("Diesen Kontakt gibt es nicht.");
    }
    let edit = ContactEdit::from_form(&fields);
    let _guard = state.0.config_write.lock().await;
    let old_text = match config_file::read(&state, ConfigFile::Kommunen) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (text, old) = match apply(&old_text, &kommune, n, &edit) {
        Ok(a) => a,
        Err(e) => return state.0.pages.not_found(&format!("{e:#}")),
    };
    let change = Change {
        file: ConfigFile::Kommunen,
        text: &text,
        target: format!("kommunen.toml: Kontakt {n} der Kommune {kommune}"),
        old: old.summary(),
        new: edit.summary(),
    };
    match config_file::save(&state, &admin, change).await {
        Ok(()) => Redirect::to(&format!("/admin/kontakte?gespeichert={kommune}#kommune-{kommune}")).into_response(),
        Err(Refused::Invalid(problems)) => {
            edit_page(
                &state,
                &admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                (&kommune, n),
                Some(edit),
                problems,
            )
            .await
        }
        Err(Refused::Failed(r)) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# top\n[[kommune]]\nid = \"a\"\n\n[[kommune.contact]]\nname = \"X\"\nemail = \"x@a.example\"\ncadence = \"sofort\" # wants everything\n\n# the second\n[[kommune.contact]]\nname = \"Y\"\nemail = \"y@a.example\"\n\n[[kommune]]\nid = \"b\"\n";

    #[test]
    fn editing_a_contact_keeps_comments_and_the_others() {
        let edit = ContactEdit {
            cadence: "wöchentlich:montag".into(),
            handlungsfelder: vec!["verwaltung".into()],
            paused_until: "2027-01-06".into(),
        };
        let (out, old) = apply(TEXT, "a", 1, &edit).unwrap();
        assert_eq!(old.cadence, "sofort");
        assert!(
            out.contains("cadence = \"wöchentlich:montag\" # wants everything\n"),
            "{out}"
        );
        assert!(
            out.contains("handlungsfelder = [\"verwaltung\"]\npaused_until = \"2027-01-06\"\n\n# the second\n"),
            "{out}"
        );
        assert!(
            out.ends_with("email = \"y@a.example\"\n\n[[kommune]]\nid = \"b\"\n"),
            "{out}"
        );
        let mut doc: DocumentMut = out.parse().unwrap();
        assert_eq!(ContactEdit::from_table(contact_table(&mut doc, "a", 1).unwrap()), edit);
        // Empty values remove the keys again.
        let (back, _) = apply(&out, "a", 1, &ContactEdit::default()).unwrap();
        assert!(!back.contains("cadence") && !back.contains("paused_until"), "{back}");
    }

    #[test]
    fn a_missing_contact_is_named() {
        let e = apply(TEXT, "a", 3, &ContactEdit::default()).unwrap_err();
        assert!(e.to_string().contains("no contact 3"), "{e}");
        let e = apply(TEXT, "c", 1, &ContactEdit::default()).unwrap_err();
        assert!(e.to_string().contains("`c`"), "{e}");
    }
}
