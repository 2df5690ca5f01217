//! The admin accounts of the web UI: `<config>/admins.toml`, one name and its argon2
//! password hash per entry. `foerderradar admin passwd NAME` writes them.
//!
//! ```toml
//! [admins]
//! anna = "$argon2id$v=19$m=19456,t=2,p=1$..."
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub const FILE: &str = "admins.toml";
/// Shorter passwords are refused by `admin passwd`.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Name → PHC hash string.
#[derive(Debug, Clone, Default)]
pub struct Accounts(BTreeMap<String, String>);

pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.')
}

impl Accounts {
    /// Reads the file; a missing file means no accounts (the UI then refuses every
    /// log-in). Every entry is checked: a name `[a-z0-9._-]+` and a parseable argon2 hash.
    pub fn load(config_dir: &Path) -> anyhow::Result<Accounts> {
        let path = path(config_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Accounts::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let doc =
            toml_edit::Document::parse(text.as_str()).with_context(|| format!("{}: not valid TOML", path.display()))?;
        let mut accounts = BTreeMap::new();
        for (key, _) in doc.iter() {
            if key != "admins" {
                anyhow::bail!("{}: unknown key `{key}` (expected [admins])", path.display());
            }
        }
        let Some(item) = doc.get("admins") else {
            return Ok(Accounts::default());
        };
        let table = item
            .as_table_like()
            .with_context(|| format!("{}: admins must be a table of name = \"argon2 hash\"", path.display()))?;
        for (name, value) in table.iter() {
            let place = |what: &str| {
                let line = value
                    .span()
                    .map(|s| 1 + text[..s.start].matches('\n').count())
                    .map_or(String::new(), |l| format!(":{l}"));
                format!("{}{line}: admins.{name}: {what}", path.display())
            };
            if !valid_name(name) {
                anyhow::bail!(place("the name must be 1–64 characters of a-z, 0-9, '.', '_' or '-'"));
            }
            let hash = value
                .as_str()
                .with_context(|| place("must be a string (the argon2 hash that `foerderradar admin passwd` writes)"))?;
            if PasswordHash::new(hash).is_err() || !hash.starts_with("$argon2") {
                anyhow::bail!(place(
                    "is not an argon2 password hash; set it with `foerderradar admin passwd NAME`"
                ));
            }
            accounts.insert(name.to_string(), hash.to_string());
        }
        Ok(Accounts(accounts))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether `password` is `name`'s. An unknown name costs one hash too, so that the
    /// answer time does not tell which names exist.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        const DUMMY: &str =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Q0cX3wD9XKcbRk3Gt3S8vYb7Ry4y0rN7X8yH1f3VxA";
        let (hash, known) = match self.0.get(name) {
            Some(h) => (h.as_str(), true),
            None => (DUMMY, false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        ok && known
    }
}

/// An argon2id hash (PHC string) of `password` with a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Sets `name`'s hash in `admins.toml`, keeping the file's comments and other entries.
pub fn set_password(config_dir: &Path, name: &str, password: &str) -> anyhow::Result<PathBuf> {
    if !valid_name(name) {
        anyhow::bail!("admin name `{name}`: use 1–64 characters of a-z, 0-9, '.', '_' or '-'");
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        anyhow::bail!("the password must have at least {MIN_PASSWORD_CHARS} characters");
    }
    let path = path(config_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# Admin accounts of the web UI (name = argon2 hash). Set with `foerderradar admin passwd NAME`.\n".into()
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{}: not valid TOML", path.display()))?;
    if doc.get("admins").is_none() {
        doc["admins"] = toml_edit::table();
    }
    let table = doc["admins"]
        .as_table_like_mut()
        .with_context(|| format!("{}: admins must be a table", path.display()))?;
    table.insert(name, toml_edit::value(hash_password(password)?));
    crate::web::admin::files::write_atomically(&path, &doc.to_string())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_writes_a_hash_that_verifies_and_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "# keep me\n[admins]\n").unwrap();
        set_password(dir.path(), "anna", "correct horse battery").unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(text.contains("# keep me") && text.contains("$argon2id$"), "{text}");
        let accounts = Accounts::load(dir.path()).unwrap();
        assert!(accounts.verify("anna", "correct horse battery"));
        assert!(!accounts.verify("anna", "wrong horse battery"));
        assert!(!accounts.verify("bert", "correct horse battery"));
        assert!(set_password(dir.path(), "anna", "short").is_err());
    }

    #[test]
    fn a_broken_hash_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "[admins]\nanna = \"plain\"\n").unwrap();
        let e = Accounts::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("admins.toml:2: admins.anna"), "{e}");
    }
}
