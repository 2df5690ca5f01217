mod real_pages;
