//! `foerderradar migrate-store`: copies an SQLite store into an empty PostgreSQL
//! store, table by table, in one PostgreSQL transaction (all or nothing), and counts
//! the rows of every table on both sides.
//!
//! Every column is read in its SQLite form and written in its PostgreSQL type (text
//! times become `timestamptz`, JSON text becomes `jsonb`, 0/1 become booleans), so a
//! value the PostgreSQL store could not read fails the copy, naming table and column.
//! Ids are kept; the id sequences continue after the largest one.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteRow;

use sqlx::{Arguments, Postgres, Row, Transaction};

use super::{PgStore, SqliteStore, Store, StoreError, StoreResult, StoreSettings};

/// How a column is carried across.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Int,
    Real,
    Bool,
    Time,
    Date,
    Json,
    Blob,
}

use Kind::*;

struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// The SQLite order the rows are copied in (ids and link order stay as they were).
    order: &'static str,
    /// Has a `bigserial id` whose sequence must continue after the copied ids.
    serial: bool,
}

/// In the order of their foreign keys. `meta` is not copied: the PostgreSQL store
/// records its own facts (the title-key rule) when it is opened.
const TABLES: &[Table] = &[
    Table {
        name: "calls",
        columns: &[
            ("id", Text),
            ("source", Text),
            ("url", Text),
            ("title_key", Text),
            ("content_source", Text),
            ("title", Text),
            ("funder", Text),
            ("external_id", Text),
            ("status", Text),
            ("deadline_kind", Text),
            ("deadline_first", Date),
            ("deadline_last", Date),
            ("deadline_annual", Bool),
            ("fingerprint", Text),
            ("version", Int),
            ("first_seen", Time),
            ("last_seen", Time),
            ("json", Json),
            ("matched_key", Text),
            ("matched_version", Int),
        ],
        order: "id",
        serial: false,
    },
    Table {
        name: "call_links",
        columns: &[
            ("call_id", Text),
            ("source", Text),
            ("url", Text),
            ("first_seen", Time),
            ("last_seen", Time),
        ],
        order: "rowid",
        serial: false,
    },
    Table {
        name: "call_versions",
        columns: &[
            ("call_id", Text),
            ("version", Int),
            ("recorded_at", Time),
            ("source", Text),
            ("fingerprint", Text),
            ("json", Json),
        ],
        order: "call_id, version",
        serial: false,
    },
    Table {
        name: "call_changes",
        columns: &[
            ("id", Int),
            ("call_id", Text),
            ("version", Int),
            ("at", Time),
            ("field", Text),
            ("old", Text),
            ("new", Text),
        ],
        order: "id",
        serial: true,
    },
    Table {
        name: "source_state",
        columns: &[("source", Text), ("json", Json), ("updated", Time)],
        order: "source",
        serial: false,
    },
    Table {
        name: "extracted_fields",
        columns: &[("source", Text), ("entry", Text), ("fields", Text)],
        order: "source, entry",
        serial: false,
    },
    Table {
        name: "source_health",
        columns: &[
            ("source", Text),
            ("last_attempt", Time),
            ("last_success", Time),
            ("consecutive_failures", Int),
            ("items_last_pass", Int),
            ("items_before", Int),
            ("last_error", Text),
            ("broken", Bool),
        ],
        order: "source",
        serial: false,
    },
    Table {
        name: "source_runs",
        columns: &[
            ("id", Int),
            ("source", Text),
            ("at", Time),
            ("items", Int),
            ("error", Text),
            ("requests", Int),
            ("not_modified", Int),
            ("duration_ms", Int),
        ],
        order: "id",
        serial: true,
    },
    Table {
        name: "matches",
        columns: &[
            ("id", Int),
            ("call_id", Text),
            ("handlungsfeld", Text),
            ("project", Text),
            ("score", Real),
            ("threshold", Real),
            ("passed", Bool),
            ("kommunen", Json),
            ("reasons", Json),
        ],
        order: "id",
        serial: true,
    },
    Table {
        name: "outbox",
        columns: &[
            ("id", Int),
            ("contact", Text),
            ("kommune", Text),
            ("subject", Text),
            ("message", Blob),
            ("calls", Json),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt", Time),
            ("last_error", Text),
            ("created", Time),
            ("sent", Time),
        ],
        order: "id",
        serial: true,
    },
    Table {
        name: "notified",
        columns: &[("contact", Text), ("call_id", Text), ("at", Time), ("mail_id", Int)],
        order: "contact, call_id",
        serial: false,
    },
    Table {
        name: "runs",
        columns: &[
            ("id", Int),
            ("kind", Text),
            ("started", Time),
            ("finished", Time),
            ("ok", Bool),
            ("summary", Json),
        ],
        order: "id",
        serial: true,
    },
    Table {
        name: "feedback",
        columns: &[
            ("id", Int),
            ("at", Time),
            ("actor", Text),
            ("contact", Text),
            ("kommune", Text),
            ("action", Text),
            ("target_kind", Text),
            ("target", Text),
            ("reason", Text),
        ],
        order: "id",
        serial: true,
    },
    Table {
        name: "contact_settings",
        columns: &[
            ("contact", Text),
            ("cadence", Text),
            ("handlungsfelder", Json),
            ("paused_until", Date),
            ("unsubscribed", Bool),
            ("updated", Time),
            ("updated_by", Text),
        ],
        order: "contact",
        serial: false,
    },
    Table {
        name: "job_runs",
        columns: &[
            ("id", Int),
            ("job", Text),
            ("started", Time),
            ("finished", Time),
            ("ok", Bool),
        ],
        order: "id",
        serial: true,
    },
    Table {
        name: "digest_calls",
        columns: &[
            ("contact", Text),
            ("call_id", Text),
            ("received", Bool),
            ("facts", Json),
            ("seen", Json),
            ("reminders", Json),
            ("updated", Time),
        ],
        order: "contact, call_id",
        serial: false,
    },
    Table {
        name: "digest_contacts",
        columns: &[("contact", Text), ("last_digest", Date)],
        order: "contact",
        serial: false,
    },
    Table {
        name: "admin_sessions",
        columns: &[
            ("token_hash", Text),
            ("admin", Text),
            ("csrf", Text),
            ("created_at", Time),
            ("expires_at", Time),
        ],
        order: "token_hash",
        serial: false,
    },
    Table {
        name: "admin_audit",
        columns: &[
            ("id", Int),
            ("at", Time),
            ("admin", Text),
            ("target", Text),
            ("old_text", Text),
            ("new_text", Text),
        ],
        order: "id",
        serial: true,
    },
];

/// Rows per INSERT: at most 20 columns each, far below PostgreSQL's 65,535 parameters.
const BATCH: usize = 500;

/// The rows of one table on both sides after a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub sqlite: u64,
    pub postgres: u64,
}

impl TableCount {
    pub fn matches(&self) -> bool {
        self.sqlite == self.postgres
    }
}

/// Opens the SQLite store `file` and the PostgreSQL store `to` (migrating it), and copies
/// the one into the other with [`sqlite_to_postgres`].
pub async fn sqlite_file_to_postgres(file: &std::path::Path, to: &StoreSettings) -> StoreResult<Vec<TableCount>> {
    let from = SqliteStore::open(file).await?;
    let target = PgStore::connect(super::pg_options(to)?).await?;
    let counts = sqlite_to_postgres(&from, &target).await;
    from.close().await;
    target.close().await;
    counts
}

/// Copies every table of `from` into `to`, which must hold no rows; returns the counts
/// of both sides, table by table. Nothing is written unless everything is.
pub async fn sqlite_to_postgres(from: &SqliteStore, to: &PgStore) -> StoreResult<Vec<TableCount>> {
    refuse_non_empty(to).await?;
    let mut tx = to.pool().begin().await?;
    for table in TABLES {
        copy_table(from, &mut tx, table).await?;
    }
    tx.commit().await?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        counts.push(TableCount {
            table: table.name,
            sqlite: count_sqlite(from, table.name).await?,
            postgres: count_pg(to, table.name).await?,
        });
    }
    Ok(counts)
}

async fn refuse_non_empty(to: &PgStore) -> StoreResult<()> {
    for table in TABLES {
        let n = count_pg(to, table.name).await?;
        if n > 0 {
            return Err(StoreError::Invalid(format!(
                "the PostgreSQL store is not empty (table {} has {n} rows); migrate-store copies only into an empty store",
                table.name
            )));
        }
    }
    Ok(())
}

/// `SELECT count(*)` of a table named in [`TABLES`] (never from input).
fn count_sql(table: &str) -> sqlx::AssertSqlSafe<String> {
    super::count_statement();
    sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"))
}

async fn count_sqlite(store: &SqliteStore, table: &str) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(count_sql(table)).fetch_one(store.pool()).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

async fn count_pg(store: &PgStore, table: &str) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(count_sql(table)).fetch_one(store.pool()).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Where the SQLite rows of `table` come from: the table itself, except for `calls`,
/// whose content SQLite keeps once, in the current version (migration 0015), and
/// `outbox`, whose messages SQLite keeps apart (migration 0017); PostgreSQL keeps both
/// in the row.
fn sqlite_rows(table: &Table) -> &'static str {
    match table.name {
        // `last_seen` as the SQLite store reads it (its listings' latest, see
        // `call_last_seen!`): the PostgreSQL store keeps it on the call itself.
        "calls" => concat!(
            "(SELECT c.id, c.source, c.url, c.title_key, c.content_source, c.title, c.funder, c.external_id, \
             c.status, c.deadline_kind, c.deadline_first, c.deadline_last, c.deadline_annual, c.fingerprint, \
             c.version, c.first_seen, ",
            call_last_seen!(),
            " AS last_seen, c.matched_key, c.matched_version, v.json FROM calls c CROSS JOIN call_versions v \
             ON v.call_id = c.id AND v.version = c.version)"
        ),
        "outbox" => "(SELECT o.*, m.message FROM outbox o JOIN outbox_messages m ON m.mail_id = o.id)",
        name => name,
    }
}

async fn copy_table(from: &SqliteStore, tx: &mut Transaction<'static, Postgres>, table: &Table) -> StoreResult<()> {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let select = format!(
        "SELECT {} FROM {} ORDER BY {}",
        names.join(", "),
        sqlite_rows(table),
        table.order
    );
    super::count_statement();
    let rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch_all(from.pool()).await?;
    for chunk in rows.chunks(BATCH) {
        let mut args = PgArguments::default();
        for row in chunk {
            for (i, (column, kind)) in table.columns.iter().enumerate() {
                bind(&mut args, row, i, *kind).map_err(|message| StoreError::Corrupt {
                    table: table.name,
                    column,
                    message,
                })?;
            }
        }
        super::count_statement();
        sqlx::query_with(sqlx::AssertSqlSafe(insert_sql(table, chunk.len())), args)
            .execute(&mut **tx)
            .await?;
    }
    if table.serial {
        super::count_statement();
        let restart = format!(
            "SELECT setval(pg_get_serial_sequence('{0}', 'id'), coalesce(max(id), 0) + 1, false) FROM {0}",
            table.name
        );
        sqlx::query(sqlx::AssertSqlSafe(restart)).execute(&mut **tx).await?;
    }
    Ok(())
}

/// `INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), …` for `rows` rows.
fn insert_sql(table: &Table, rows: usize) -> String {
    let width = table.columns.len();
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        names.join(", "),
        values.join(", ")
    )
}

/// Reads column `i` of an SQLite row as `kind` and adds it to the PostgreSQL arguments.
fn bind(args: &mut PgArguments, row: &SqliteRow, i: usize, kind: Kind) -> Result<(), String> {
    fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
        row: &'r SqliteRow,
        i: usize,
    ) -> Result<Option<T>, String> {
        row.try_get::<Option<T>, _>(i).map_err(|e| e.to_string())
    }
    let added = match kind {
        Text => args.add(get::<String>(row, i)?),
        Int => args.add(get::<i64>(row, i)?),
        Real => args.add(get::<f64>(row, i)?),
        Bool => args.add(get::<bool>(row, i)?),
        Time => args.add(get::<DateTime<Utc>>(row, i)?),
        Date => args.add(get::<NaiveDate>(row, i)?),
        Blob => args.add(get::<Vec<u8>>(row, i)?),
        Json => {
            let text = get::<String>(row, i)?;
            let value = text
                .map(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
                .transpose()?;
            args.add(value.map(sqlx::types::Json))
        }
    };
    added.map_err(|e| e.to_string())
}
