mod extract_real_pages;
mod report;
mod store;
