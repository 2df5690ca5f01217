//! foerderradar: finds public funding calls (Fördermittel) for the Smart Region
//! strategy of Kreis Warendorf and its 13 Kommunen, matches them against the
//! strategy's Handlungsfelder and projects, and mails each contact a German digest.
//!
//! Data flows one way: sources → [`collect`] → calls → [`matching`] → matches →
//! [`notify`] → outbox → SMTP. Every stage reads and writes the [`store`], so each
//! can be rerun alone. [`report`] reads calls and matches.

pub mod app;
pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod matching;
pub mod model;
pub mod notify;
pub mod report;
pub mod rules;
pub mod status;
pub mod store;
pub mod web;
