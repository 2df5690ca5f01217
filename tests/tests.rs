mod extract_real_pages;
mod notify;
mod report;
mod store;
