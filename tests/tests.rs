//! The one integration-test binary (faster linking than one binary per file).

mod architecture;
mod cli_polish;
mod collect_fdb;
mod collect_hostile;
mod collect_html;
mod collect_http;
mod collect_properties;
mod collect_rss;
mod collect_sedia;
mod delivery_and_cli;
mod deploy;
mod digest_flow;
mod extract_real_pages;
mod feedback_cli;
mod lean_pass;
mod matching_eval;
mod matching_support;
mod notify;
mod operations;
mod pass;
mod real_pages;
mod report;
mod store;
mod support;
mod web;
mod web_admin;
