mod report;
mod store;
