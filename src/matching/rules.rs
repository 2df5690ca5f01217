//! The rule language. PLACEHOLDER: keep `validate`'s signature.

/// A rule that does not parse; `column` is 1-based within the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct RuleSyntaxError {
    pub column: usize,
    pub message: String,
}

/// Checks that `expr` parses.
pub fn validate(_expr: &str) -> Result<(), RuleSyntaxError> {
    Ok(())
}
