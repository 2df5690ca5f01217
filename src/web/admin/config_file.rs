//! The one save path for the config files the UI edits (`strategy.toml`,
//! `sources.toml`, `kommunen.toml`): the candidate text is loaded together with the
//! other files as `check` loads them, and only a valid one is written, after a
//! timestamped backup of the old file; the change goes into the audit log and the
//! running daemon is told to reload.

use std::path::Path;

use anyhow::Context;
use axum::response::Response;
use chrono::Utc;

use super::Admin;
use crate::config::Config;
use crate::store::Store;
use crate::web::WebState;

/// A config file the UI writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFile {
    Strategy,
    Sources,
    Kommunen,
}

impl ConfigFile {
    pub fn name(self) -> &'static str {
        match self {
            ConfigFile::Strategy => "strategy.toml",
            ConfigFile::Sources => "sources.toml",
            ConfigFile::Kommunen => "kommunen.toml",
        }
    }
}

/// What a save changes, for the audit log.
pub struct Change<'a> {
    pub file: ConfigFile,
    /// The whole candidate text of the file.
    pub text: &'a str,
    /// What was changed, e.g. `sources.toml: fdb-kommune-nrw`.
    pub target: String,
    /// The changed part before and after, as the audit log shows it.
    pub old: String,
    pub new: String,
}

/// Why a save did not happen.
pub enum Refused {
    /// The candidate does not load; one message per error, naming file, line and key.
    Invalid(Vec<String>),
    /// Writing, auditing or reading failed: the error page to send.
    Failed(Response),
}

/// A temporary directory removed when dropped.
struct StagingDir(std::path::PathBuf);

impl StagingDir {
    fn new() -> anyhow::Result<StagingDir> {
        let mut bytes = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let path = std::env::temp_dir().join(format!("foerderradar-edit-{}", hex::encode(bytes)));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(StagingDir(path))
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Loads the config directory as `check` does, with `file` replaced by `candidate`:
/// the other files are copied into a temporary directory. Errors name the file as
/// `config/<name>` with line and key.
pub fn load_with(config_dir: &Path, file: ConfigFile, candidate: &str) -> Result<Config, Vec<String>> {
    let staged = (|| -> anyhow::Result<StagingDir> {
        let tmp = StagingDir::new()?;
        for name in ["foerderradar.toml", "sources.toml", "strategy.toml", "kommunen.toml"] {
            let from = config_dir.join(name);
            if name != file.name() && from.exists() {
                std::fs::copy(&from, tmp.0.join(name)).with_context(|| format!("copying {}", from.display()))?;
            }
        }
        let templates = config_dir.join("templates");
        if templates.exists() {
            std::os::unix::fs::symlink(&templates, tmp.0.join("templates"))?;
        }
        std::fs::write(tmp.0.join(file.name()), candidate)?;
        Ok(tmp)
    })();
    let tmp = staged.map_err(|e| vec![format!("Prüfung nicht möglich: {e:#}")])?;
    Config::load(&tmp.0).map_err(|errors| {
        let staged = tmp.0.display().to_string();
        errors
            .0
            .iter()
            .map(|e| e.to_string().replace(&staged, "config"))
            .collect()
    })
}

/// Loads the config directory as it is on disk now (a page shows what a save wrote,
/// not what the server started with).
pub fn load_current(state: &WebState) -> Result<Config, Response> {
    Config::load(&state.0.config.dir).map_err(|errors| {
        state.0.pages.error(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "Konfiguration fehlerhaft",
            &format!("Die Konfiguration lässt sich nicht laden; bitte mit `foerderradar check` prüfen:\n{errors}"),
            None,
        )
    })
}

/// Reads one config file's text.
pub fn read(state: &WebState, file: ConfigFile) -> Result<String, Response> {
    let path = state.0.config.dir.join(file.name());
    std::fs::read_to_string(&path).map_err(|e| state.0.pages.failed(&format!("admin: cannot read {}", file.name()), &e))
}

/// Validates and writes `change`, keeps a backup, audits it and reloads the daemon.
/// The caller holds `config_write` from reading the old text until this returns.
pub async fn save(state: &WebState, admin: &Admin, change: Change<'_>) -> Result<(), Refused> {
    load_with(&state.0.config.dir, change.file, change.text).map_err(Refused::Invalid)?;
    let path = state.0.config.dir.join(change.file.name());
    let now = Utc::now();
    let written = super::files::backup(&path, now).and_then(|_| super::files::write_atomically(&path, change.text));
    if let Err(e) = written {
        return Err(Refused::Failed(
            state
                .0
                .pages
                .failed(&format!("admin: cannot write {}", change.file.name()), &e),
        ));
    }
    if let Err(e) = state
        .0
        .store
        .record_audit(now, &admin.name, &change.target, &change.old, &change.new)
        .await
    {
        return Err(Refused::Failed(
            state.0.pages.failed("admin: cannot record the audit entry", &e),
        ));
    }
    tracing::info!(admin = %admin.name, file = change.file.name(), target = %change.target, "config saved from the admin UI");
    super::reload::daemon(state).await;
    Ok(())
}
