
mod notify;
