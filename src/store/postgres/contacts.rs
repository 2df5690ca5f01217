//! Contacts' own settings (override `kommunen.toml`).

use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::{JsonText, from_json, query, to_json};
use crate::model::contact::ContactSettings;
use crate::store::{StoreError, StoreResult};

macro_rules! select_settings {
    ($rest:literal) => {
        concat!(
            "SELECT contact, cadence, handlungsfelder, paused_until, unsubscribed, updated, updated_by ",
            "FROM contact_settings ",
            $rest
        )
    };
}

pub(super) async fn get(pool: &PgPool, contact: &str) -> StoreResult<Option<ContactSettings>> {
    let row = query(select_settings!("WHERE contact = $1"))
        .bind(contact.trim().to_lowercase())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn all(pool: &PgPool) -> StoreResult<Vec<ContactSettings>> {
    let rows = query(select_settings!("ORDER BY contact")).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// Replaces the contact's settings.
pub(super) async fn save(pool: &PgPool, s: &ContactSettings) -> StoreResult<()> {
    let fields = s
        .handlungsfelder
        .as_ref()
        .map(|h| to_json("contact_settings", "handlungsfelder", h))
        .transpose()?;
    query(
        "INSERT INTO contact_settings (contact, cadence, handlungsfelder, paused_until, unsubscribed, updated, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (contact) DO UPDATE SET cadence = excluded.cadence, \
         handlungsfelder = excluded.handlungsfelder, paused_until = excluded.paused_until, \
         unsubscribed = excluded.unsubscribed, updated = excluded.updated, updated_by = excluded.updated_by",
    )
    .bind(s.contact.trim().to_lowercase())
    .bind(s.cadence.map(|c| c.to_string()))
    .bind(fields)
    .bind(s.paused_until)
    .bind(s.unsubscribed)
    .bind(s.updated)
    .bind(&s.updated_by)
    .execute(pool)
    .await?;
    Ok(())
}

fn from_row(row: &PgRow) -> StoreResult<ContactSettings> {
    let cadence: Option<String> = row.try_get("cadence")?;
    let fields: Option<JsonText> = row.try_get("handlungsfelder")?;
    Ok(ContactSettings {
        contact: row.try_get("contact")?,
        cadence: cadence
            .map(|c| {
                c.parse().map_err(|message| StoreError::Corrupt {
                    table: "contact_settings",
                    column: "cadence",
                    message,
                })
            })
            .transpose()?,
        handlungsfelder: fields
            .map(|f| from_json("contact_settings", "handlungsfelder", f))
            .transpose()?,
        paused_until: row.try_get("paused_until")?,
        unsubscribed: row.try_get("unsubscribed")?,
        updated: row.try_get("updated")?,
        updated_by: row.try_get("updated_by")?,
    })
}
