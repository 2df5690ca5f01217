//! Matching calls against the strategy. PLACEHOLDER: the matching helper implements it.

pub mod rules;
