
mod support;
mod collect_rss;
mod collect_html;
mod collect_http;
