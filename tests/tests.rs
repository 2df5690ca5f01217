mod extract_real_pages;
mod report;
mod store;
mod collect_fdb;
mod real_pages;
mod collect_sedia;
