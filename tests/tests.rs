
mod support;
mod collect_rss;
