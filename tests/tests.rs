mod collect_fdb;
mod collect_sedia;
mod extract_real_pages;
mod notify;
mod real_pages;
mod report;
mod store;
