mod collect_fdb;
mod real_pages;
