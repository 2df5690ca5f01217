//! The one minijinja set-up shared by every German output rendered from a
//! template (digests, the HTML report). The templates themselves belong to their
//! stage; an override of any of them lives in `<config>/templates/`.

use minijinja::{Environment, UndefinedBehavior};

/// An empty environment with the project's template settings: a misspelt field
/// fails loudly instead of silently dropping a fact (a deadline from a mail), and
/// block tags leave no blank lines behind. Templates named `*.html.j2` are
/// auto-escaped by minijinja's default rule.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("default delimiters are valid");
    env.set_syntax(syntax);
    env
}
