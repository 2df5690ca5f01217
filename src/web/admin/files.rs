//! Writing config files from the UI: atomically, with a timestamped backup of the
//! previous version, so that a crash never leaves half a file and nothing is lost.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Writes `text` to a sibling temporary file and renames it over `path`.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("config");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

/// Copies `path` to `<config>/backups/<name>.<UTC timestamp>` and returns the copy.
pub fn backup(path: &Path, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new(".")).join("backups");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("config");
    let copy = dir.join(format!("{name}.{}", now.format("%Y%m%dT%H%M%S%.6fZ")));
    std::fs::copy(path, &copy).with_context(|| format!("backing up {} to {}", path.display(), copy.display()))?;
    Ok(copy)
}
