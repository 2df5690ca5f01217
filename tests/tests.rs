//! The one integration-test binary (faster linking than one binary per file).

mod extract_real_pages;
mod pass;
mod report;
mod store;
