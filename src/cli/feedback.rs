//! `feedback` and `contacts`: what recipients said, and what they changed themselves.

use std::io::Write;
use std::process::ExitCode;

use chrono::{NaiveTime, Utc};

use super::{AudienceArgs, FeedbackCommand, MuteArgs, MuteTargetArgs, NoteArgs, Out, StatusFormat};
use crate::app::App;
use crate::app::feedback::{Audience, FeedbackRequest, Target};
use crate::model::feedback::{FeedbackAction, FeedbackEntry};

pub(super) async fn run(app: &App, command: FeedbackCommand, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    let (action, audience, target, note) = match command {
        FeedbackCommand::List {
            contact,
            kommune,
            since,
            format,
        } => {
            let audience = contact.map(Audience::Contact).or(kommune.map(Audience::Kommune));
            let since = since.map(|d| d.and_time(NaiveTime::MIN).and_utc());
            let entries = app.list_feedback(audience.as_ref(), since).await?;
            return list(&entries, format, out);
        }
        FeedbackCommand::Dismiss { call, audience, note } => (
            FeedbackAction::PasstNicht,
            to_audience(audience),
            Target::Call(call),
            note,
        ),
        FeedbackCommand::Passt { call, audience, note } => {
            (FeedbackAction::Passt, to_audience(audience), Target::Call(call), note)
        }
        FeedbackCommand::Mute(args) => mute(FeedbackAction::Mute, args),
        FeedbackCommand::Unmute(args) => mute(FeedbackAction::Unmute, args),
    };
    let request = FeedbackRequest {
        action,
        audience,
        target,
        actor: actor(note.by),
        reason: note.reason,
    };
    let entry = app.record_feedback(request, Utc::now()).await?;
    outln!(
        out,
        "recorded feedback #{}: {} {} {} for {}",
        entry.id,
        entry.action,
        entry.target_kind,
        entry.target,
        holder(&entry)
    );
    Ok(ExitCode::SUCCESS)
}

fn mute(action: FeedbackAction, args: MuteArgs) -> (FeedbackAction, Audience, Target, NoteArgs) {
    (
        action,
        Audience::Contact(args.contact),
        to_target(args.target),
        args.note,
    )
}

fn to_audience(a: AudienceArgs) -> Audience {
    match (a.contact, a.kommune) {
        (Some(c), _) => Audience::Contact(c),
        (None, Some(k)) => Audience::Kommune(k),
        // clap's group requires exactly one of them.
        (None, None) => unreachable!("clap requires --contact or --kommune"),
    }
}

fn to_target(t: MuteTargetArgs) -> Target {
    match (t.project, t.handlungsfeld, t.funder) {
        (Some(p), _, _) => Target::Project(p),
        (None, Some(h), _) => Target::Handlungsfeld(h),
        (None, None, Some(f)) => Target::Funder(f),
        (None, None, None) => unreachable!("clap requires --project, --handlungsfeld or --funder"),
    }
}

fn actor(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| "cli".into())
}

/// "a@ahlen.example" or "Kommune ahlen".
fn holder(e: &FeedbackEntry) -> String {
    match (&e.contact, &e.kommune) {
        (Some(c), _) => c.clone(),
        (None, Some(k)) => format!("Kommune {k}"),
        (None, None) => "-".into(),
    }
}

fn list(entries: &[FeedbackEntry], format: StatusFormat, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    if format == StatusFormat::Json {
        outln!(out, "{}", serde_json::to_string_pretty(entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        outln!(out, "feedback: no entries");
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        out,
        "{:>5}  {:<16} {:<12} {:<14} {:<32} {:<28} by / reason (times UTC)",
        "id",
        "at",
        "action",
        "about",
        "target",
        "for"
    );
    for e in entries {
        outln!(
            out,
            "{:>5}  {:<16} {:<12} {:<14} {:<32} {:<28} {}{}",
            e.id,
            e.at.format("%Y-%m-%d %H:%M"),
            e.action.as_str(),
            e.target_kind.as_str(),
            e.target,
            holder(e),
            e.actor,
            e.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn contacts(app: &App, format: StatusFormat, out: &mut Out<impl Write>) -> anyhow::Result<ExitCode> {
    use crate::store::Store;
    let all = app.store.all_contact_settings().await?;
    if format == StatusFormat::Json {
        outln!(out, "{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        outln!(
            out,
            "contacts: no contact has changed its settings; kommunen.toml applies to all"
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        out,
        "{:<36} {:<22} {:<12} {:<12} {:<30} changed (UTC) by",
        "contact",
        "cadence",
        "paused until",
        "subscribed",
        "Handlungsfelder"
    );
    for s in &all {
        outln!(
            out,
            "{:<36} {:<22} {:<12} {:<12} {:<30} {} {}",
            s.contact,
            s.cadence.map_or_else(|| "(kommunen.toml)".into(), |c| c.to_string()),
            s.paused_until.map_or_else(|| "-".into(), |d| d.to_string()),
            if s.unsubscribed { "abbestellt" } else { "yes" },
            s.handlungsfelder
                .as_ref()
                .map_or_else(|| "(kommunen.toml)".into(), |h| h.join(", ")),
            s.updated.format("%Y-%m-%d %H:%M"),
            s.updated_by
        );
    }
    Ok(ExitCode::SUCCESS)
}
