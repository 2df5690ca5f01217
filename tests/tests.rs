
mod extract_real_pages;
