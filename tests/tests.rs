
mod support;
mod collect_rss;
mod collect_html;
