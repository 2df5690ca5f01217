//! Cross-source identity: canonical URLs and title keys (to be implemented).
