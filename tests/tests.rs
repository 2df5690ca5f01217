mod matching_eval;
mod matching_support;
