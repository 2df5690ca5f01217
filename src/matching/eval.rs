//! Evaluation against a labelled development set (placeholder while building).
