
mod matching_support;
mod matching_eval;
