//! notify (to be implemented).
