//! German field extraction (to be implemented).
