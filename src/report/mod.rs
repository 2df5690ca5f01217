//! report (to be implemented).
