//! Config errors with file, key and line (to be implemented).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {key}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub key: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{} config error(s)", .0.len())]
pub struct ConfigErrors(pub Vec<ConfigError>);
