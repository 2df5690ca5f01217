//! The one integration-test binary (faster linking than one binary per file).

mod pass;
mod report;
mod store;
