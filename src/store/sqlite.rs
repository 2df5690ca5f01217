//! SQLite implementation of the store (to be implemented).

#[derive(Debug, Clone)]
pub struct SqliteStore;
