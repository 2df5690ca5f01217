//! Preview (placeholder while building).
