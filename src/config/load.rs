//! Loading and validation (to be implemented).

use std::path::Path;

use super::{Config, ConfigErrors};

pub(super) fn load(_dir: &Path) -> Result<Config, ConfigErrors> {
    todo!("config loading")
}

pub(super) fn warnings(_config: &Config) -> Vec<String> {
    Vec::new()
}
