//! PostgreSQL for the tests: the server in `FOERDERRADAR_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`, trust authentication), one fresh schema
//! per test, dropped at its end, so that tests run in parallel. Without a server the
//! PostgreSQL half of a test says "SKIPPED: no PostgreSQL" and passes, unless `CI=true`:
//! CI must run both backends (`.ci/run` starts a server when none answers).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use foerderradar::store::{AnyStore, PgStore, SqliteStore, Store};
use futures::FutureExt;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A reachable test server and a schema name of this test's own.
pub struct TestPg {
    pub options: PgConnectOptions,
    pub schema: String,
}

impl TestPg {
    /// `None` (after saying so) when no server answers and CI is not set.
    pub async fn connect() -> Option<TestPg> {
        let url = std::env::var("FOERDERRADAR_TEST_PG").unwrap_or_else(|_| DEFAULT_URL.to_string());
        let options: PgConnectOptions = url
            .parse()
            .unwrap_or_else(|e| panic!("FOERDERRADAR_TEST_PG {url}: {e}"));
        let reached = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&options)).await;
        match reached {
            Ok(Ok(conn)) => {
                conn.close().await.ok();
            }
            Ok(Err(e)) => return unreachable(&url, &e.to_string()),
            Err(_) => return unreachable(&url, "no answer within 5 s"),
        }
        let schema = format!("t_{:016x}", rand::random::<u64>());
        Some(TestPg { options, schema })
    }

    /// A migrated store in this test's schema.
    pub async fn store(&self) -> PgStore {
        PgStore::connect_in_schema(self.options.clone(), &self.schema)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL store in schema {}: {e}", self.schema))
    }

    pub async fn drop_schema(&self) {
        let mut conn = PgConnection::connect_with(&self.options).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            self.schema
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.ok();
    }
}

fn unreachable(url: &str, why: &str) -> Option<TestPg> {
    // As `real_pages.rs` reads CI: set, and not empty, "0" or "false".
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    if ci {
        panic!("CI=true but PostgreSQL at {url} is unreachable: {why}");
    }
    println!("SKIPPED: no PostgreSQL ({url}: {why})");
    None
}

/// Runs `test` on a fresh PostgreSQL store and drops its schema afterwards, also when
/// the test fails.
pub async fn with_pg_store<F, Fut>(test: F)
where
    F: FnOnce(AnyStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(pg) = TestPg::connect().await else { return };
    let store = pg.store().await;
    let outcome = AssertUnwindSafe(test(store.clone().into())).catch_unwind().await;
    store.close().await;
    pg.drop_schema().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `test` on a fresh SQLite file store.
pub async fn with_sqlite_store<F, Fut>(test: F)
where
    F: FnOnce(AnyStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("foerderradar.sqlite"))
        .await
        .unwrap();
    test(store.clone().into()).await;
    store.close().await;
}

/// One test per backend for each named `async fn(AnyStore)`: `<name>::sqlite` and
/// `<name>::postgres`, so that a behaviour cannot drift between the backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    $crate::pg::with_sqlite_store(super::$name).await;
                }

                #[tokio::test]
                async fn postgres() {
                    $crate::pg::with_pg_store(super::$name).await;
                }
            }
        )*
    };
}
