//! The config as its files read now, loaded and compiled once per content: the
//! call page explains with it and the preview compares against it. The server's
//! own matcher stays as it was started; saves from the UI change the files.

use std::sync::{Arc, Mutex};

use anyhow::Context;

use crate::config::Config;
use crate::matching::Matcher;

/// The files [`Config::load`] reads; a change in any of them compiles again.
const FILES: [&str; 4] = ["foerderradar.toml", "sources.toml", "strategy.toml", "kommunen.toml"];

pub struct Compiled {
    pub config: Config,
    pub matcher: Matcher,
}

/// The last compiled config and the file contents it was compiled from.
#[derive(Default)]
pub struct CompiledRules(Mutex<Option<(String, Arc<Compiled>)>>);

impl CompiledRules {
    /// The config in `dir` and its matcher; compiled again only when a file changed.
    pub fn current(&self, dir: &std::path::Path) -> anyhow::Result<Arc<Compiled>> {
        let mut key = String::new();
        for name in FILES {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => key.push_str(&text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            }
            key.push('\0');
        }
        if let Some((seen, compiled)) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && *seen == key
        {
            return Ok(compiled.clone());
        }
        let config = Config::load(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let matcher = Matcher::new(&config)?;
        let compiled = Arc::new(Compiled { config, matcher });
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((key, compiled.clone()));
        Ok(compiled)
    }
}
