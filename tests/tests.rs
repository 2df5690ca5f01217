mod collect_fdb;
mod real_pages;
mod collect_sedia;
