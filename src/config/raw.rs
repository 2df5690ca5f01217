//! Raw serde structs of the config files (to be implemented).
