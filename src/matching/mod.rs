//! matching (to be implemented).
