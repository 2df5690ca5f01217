//! Renders a typical later digest from the sample store (`examples/sample_store.rs`)
//! to an HTML file, for the screenshot in the README (`scripts/screenshots.sh`):
//!
//! ```text
//! cargo run --example digest_sample -- CONFIG_DIR DATA_DIR YYYY-MM-DD OUT.html
//! ```
//!
//! On the given day every contact gets its overview (enqueued, not sent). Then one
//! call the first contact received has its deadline extended, a call new to the radar
//! comes in, and the digest of the day 28 days before another received call's
//! deadline is rendered: news, a change notice and a Fristen-Erinnerung.

use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate, TimeZone, Utc};
use foerderradar::config::Config;
use foerderradar::model::{Call, Deadline, DeadlineDate};
use foerderradar::notify::{self, PlanMode, Templates};
use foerderradar::store::{SqliteStore, Store};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config_dir, data_dir, day, out] = args.as_slice() else {
        bail!("usage: digest_sample CONFIG_DIR DATA_DIR YYYY-MM-DD OUT.html");
    };
    let config = Config::load(&PathBuf::from(config_dir)).map_err(|e| anyhow::anyhow!("{config_dir}: {e}"))?;
    let first: NaiveDate = day.parse().with_context(|| format!("day '{day}'"))?;
    let store = SqliteStore::open(&PathBuf::from(data_dir).join("foerderradar.sqlite")).await?;
    let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(6, 0, 0).expect("6:00"));
    let plan = notify::plan(&store, &config, first, at(first), PlanMode::Now).await?;
    let contact = plan.mails.first().context("no overview planned")?.contact.clone();

    // Received calls with a dated deadline, the latest first.
    let state = store.digest_state(&contact).await?;
    let mut dated: Vec<(NaiveDate, Call)> = Vec::new();
    for sent in state.calls.values().filter(|s| s.received) {
        if let Some(call) = store.get_call(&sent.call_id).await?
            && let Some(date) = call.deadline.next_date(first)
        {
            dated.push((date, call));
        }
    }
    dated.sort_by_key(|d| std::cmp::Reverse(d.0));
    let [(_, moved), rest @ ..] = dated.as_slice() else {
        bail!("{contact} received no call with a deadline");
    };
    let (reminded, _) = rest
        .iter()
        .find(|(date, _)| *date >= first + Days::new(30))
        .context("no received call far enough ahead for a reminder")?;
    let today = *reminded - Days::new(28);

    let mut changed = moved.clone();
    if let Deadline::Dates(dates) = &mut changed.deadline
        && let Some(last) = dates.last_mut()
    {
        last.date = last.date + Days::new(30);
    }
    store.upsert_call(&changed.seal()).await?;

    // A call new to the radar: a second listing of a programme, with its matches.
    let template = store.get_call(&moved.id).await?.context("call")?;
    let mut new = Call::new(
        "foerderdatenbank",
        "https://foerder.example/aufruf-neu",
        "Förderprogramm Smarte Quartiere: Sensorik und offene Daten",
        at(today),
    );
    new.funder = template.funder.clone();
    new.summary = "Gefördert werden Kommunen, die Quartiere mit Sensorik und offenen Daten ausstatten.".into();
    new.deadline = Deadline::Dates(vec![DeadlineDate::on(today + Days::new(75))]);
    new.funding_rate = template.funding_rate;
    new.amount_max_eur = Some(400_000);
    new.applicants = template.applicants.clone();
    let new = new.seal();
    store.upsert_call(&new).await?;
    let matches: Vec<_> = store
        .matches_for(&moved.id)
        .await?
        .into_iter()
        .map(|mut m| {
            m.call_id = new.id.clone();
            m
        })
        .collect();
    store.replace_matches(&new.id, &matches).await?;

    let templates = Templates::load(&config.dir)?;
    let preview = notify::preview(&store, &config, &templates, today, at(today), PlanMode::Now).await?;
    let mail = preview
        .mails
        .iter()
        .find(|m| m.digest.contact == contact)
        .context("no later digest for the contact")?;
    std::fs::write(out, &mail.html).with_context(|| format!("writing {out}"))?;
    println!("{}: {} ({today})", mail.digest.contact, mail.digest.subject);
    Ok(())
}
