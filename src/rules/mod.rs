//! The rule language: parsing an expression such as
//! `title:(Glasfaser OR Gigabit) AND NOT applicants:unternehmen` into an [`Expr`].
//!
//! Precedence, tightest first: `NOT`, `NEAR/n`, `AND` (also two operands side
//! by side), `OR`. Operators are upper case; `and`/`or` in lower case are words.
//! The full language is documented in `config/README.md` (strategy.toml).

use crate::model::text::fold_bytes;

/// A rule that does not parse, with where: `position` counts characters of
/// the whole expression from 1; `line` and `column` (from 1, in characters)
/// place it within a rule written over several lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", place(*.line, *.column))]
pub struct RuleSyntaxError {
    pub position: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn place(line: usize, column: usize) -> String {
    if line == 1 {
        format!("column {column}: ")
    } else {
        format!("line {line}, column {column}: ")
    }
}

impl RuleSyntaxError {
    /// The error at character `position` (from 1) of `expr`.
    pub fn at(expr: &str, position: usize, message: impl Into<String>) -> RuleSyntaxError {
        let before: Vec<char> = expr.chars().take(position.saturating_sub(1)).collect();
        let line = 1 + before.iter().filter(|&&c| c == '\n').count();
        let column = 1 + before.iter().rev().take_while(|&&c| c != '\n').count();
        RuleSyntaxError {
            position,
            line,
            column,
            message: message.into(),
        }
    }
}

pub use crate::model::reason::Field;

impl Field {
    /// How much one hit in this field counts (see config/README.md).
    pub fn factor(self) -> f64 {
        match self {
            Field::Title => 3.0,
            Field::Summary => 2.0,
            Field::Text | Field::Funder | Field::Applicants => 1.0,
        }
    }

    fn from_scope(name: &str) -> Option<Field> {
        name.parse().ok()
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldMask(u8);

impl FieldMask {
    /// Unscoped terms look in title, summary and full text.
    pub const DEFAULT: FieldMask = FieldMask(1 | 2 | 4);

    /// No field.
    pub const EMPTY: FieldMask = FieldMask(0);

    /// This set plus `f`.
    pub fn with(self, f: Field) -> FieldMask {
        FieldMask(self.0 | f.bit())
    }

    /// Whether the two sets share a field.
    pub fn intersects(self, other: FieldMask) -> bool {
        self.0 & other.0 != 0
    }

    pub fn only(f: Field) -> FieldMask {
        FieldMask(f.bit())
    }

    pub fn contains(self, f: Field) -> bool {
        self.0 & f.bit() != 0
    }
}

/// Where a term's letters must sit in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// Anywhere, also inside compounds (plain terms and phrases).
    Anywhere,
    /// At the start of a word (`digital*`).
    WordStart,
    /// At the end of a word (`*förderung`).
    WordEnd,
    /// The whole word, plus an inflection ending (`=Rad`).
    WholeWord,
}

/// One searchable term or phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// As written in the rule, for reasons ("Glasfaser").
    pub written: String,
    /// Folded (and for plain terms stemmed) text searched for; phrases contain spaces.
    pub needle: String,
    /// Every spelling searched for: the needle and, for phrases, the inflected
    /// forms of the inner words ("künstlicher intelligenz" for `"Künstliche Intelligenz"`).
    pub variants: Vec<String>,
    pub anchor: Anchor,
    pub fields: FieldMask,
    /// `^2` after the term; 1.0 otherwise.
    pub boost: f64,
    /// Whether a field scope was written (inner scopes win over outer ones).
    scoped: bool,
}

/// A parsed rule expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Term(Term),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Near {
        left: Box<Expr>,
        right: Box<Expr>,
        distance: u32,
    },
}

impl Expr {
    /// NEAR operands: terms, phrases, NEAR groups and OR groups of those.
    fn is_positional(&self) -> bool {
        match self {
            Expr::Term(_) | Expr::Near { .. } => true,
            Expr::Or(items) => items.iter().all(Expr::is_positional),
            Expr::And(_) | Expr::Not(_) => false,
        }
    }

    /// Visits every term with whether it stands under an odd number of NOTs.
    pub fn visit_terms<'a>(&'a self, negated: bool, f: &mut impl FnMut(&'a Term, bool)) {
        match self {
            Expr::Term(t) => f(t, negated),
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| e.visit_terms(negated, f)),
            Expr::Not(inner) => inner.visit_terms(!negated, f),
            Expr::Near { left, right, .. } => {
                left.visit_terms(negated, f);
                right.visit_terms(negated, f);
            }
        }
    }

    fn apply_scope(&mut self, mask: FieldMask) {
        match self {
            Expr::Term(t) if !t.scoped => {
                t.fields = mask;
                t.scoped = true;
            }
            Expr::Term(_) => {}
            Expr::And(items) | Expr::Or(items) => items.iter_mut().for_each(|e| e.apply_scope(mask)),
            Expr::Not(inner) => inner.apply_scope(mask),
            Expr::Near { left, right, .. } => {
                left.apply_scope(mask);
                right.apply_scope(mask);
            }
        }
    }
}

/// How rule terms and call texts are brought to one form before matching.
/// Terms and texts must go through the same normalisation: the matcher that
/// compiles rules parsed with one also reads the calls with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalization {
    /// On: [`fold`](crate::model::text::fold) (umlauts expanded, accents
    /// dropped, in-word hyphens join). Off: lowercase only; every maximal run
    /// of letters and digits is a word and everything else separates
    /// ([`lower_words_into`]).
    pub fold: bool,
    /// On: plain terms and a phrase's last word lose their inflection ending
    /// ([`stem`]), a phrase's inner words also take inflected forms, and a
    /// whole-word term also finds the word plus an ending of [`INFLECTIONS`].
    /// Off: every term is searched as written.
    pub stem: bool,
}

impl Default for Normalization {
    /// What the shipped matcher does: fold and stem.
    fn default() -> Normalization {
        Normalization { fold: true, stem: true }
    }
}

impl Normalization {
    /// Neither folding nor stemming: words compare exactly after lowercasing.
    pub const EXACT: Normalization = Normalization {
        fold: false,
        stem: false,
    };

    /// Appends the normalised `text` to `buf`: words separated by single
    /// spaces, no space at either end. `map` receives per pushed byte its
    /// offset in `text`.
    pub fn text_into(self, text: &str, buf: &mut Vec<u8>, map: Option<&mut Vec<usize>>) {
        if self.fold {
            fold_bytes(text, buf, map);
        } else {
            lower_words_into(text, buf, map);
        }
    }

    /// The normalised form of `text`.
    pub fn text(self, text: &str) -> String {
        let mut buf = Vec::with_capacity(text.len());
        self.text_into(text, &mut buf, None);
        String::from_utf8(buf).expect("normalising pushes whole UTF-8 sequences")
    }

    /// Endings a whole-word term may carry after the word.
    pub fn inflections(self) -> &'static [&'static str] {
        if self.stem { &INFLECTIONS } else { &[""] }
    }
}

/// Lowercases `text` and appends its maximal runs of letters and digits
/// (`char::is_alphanumeric` after `char::to_lowercase`), separated by single
/// spaces. Everything else separates: hyphens, punctuation, line breaks.
pub fn lower_words_into(text: &str, buf: &mut Vec<u8>, map: Option<&mut Vec<usize>>) {
    match map {
        None => lower_words_with(text, buf, &mut |_, _| {}),
        Some(m) => lower_words_with(text, buf, &mut |src: Source, n| match src {
            Source::Run(start) => m.extend(start..start + n),
            Source::Char(at) => m.extend(std::iter::repeat_n(at, n)),
        }),
    }
}

/// Where `n` pushed bytes came from.
#[derive(Clone, Copy)]
enum Source {
    /// One byte each from `start`, `start + 1`, …
    Run(usize),
    /// All from the char at this offset.
    Char(usize),
}

/// `record(src, n)`: `n` bytes were pushed from `src`.
#[inline(always)]
fn lower_words_with(text: &str, buf: &mut Vec<u8>, record: &mut impl FnMut(Source, usize)) {
    let bytes = text.as_bytes();
    let mut pending_space = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // ASCII and Latin-1 letters (ä, Ö, ß…) are most of German text: no table lookups.
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                if pending_space {
                    buf.push(b' ');
                    record(Source::Char(i), 1);
                    pending_space = false;
                }
                let run = crate::model::text::push_ascii_run(&bytes[i..], buf);
                record(Source::Run(i), run);
                i += run;
            }
            0..0x80 => {
                pending_space = !buf.is_empty();
                i += 1;
            }
            0xC3 if bytes[i + 1] != 0x97 && bytes[i + 1] != 0xB7 => {
                // U+00C0..U+00FF without × and ÷ are letters; the upper case ones
                // (U+00C0..U+00DE) lowercase by +0x20, ß (U+00DF) stays.
                if pending_space {
                    buf.push(b' ');
                    record(Source::Char(i), 1);
                    pending_space = false;
                }
                let second = bytes[i + 1];
                buf.push(0xC3);
                buf.push(if second < 0x9F { second + 0x20 } else { second });
                record(Source::Char(i), 2);
                i += 2;
            }
            _ => {
                let ch = text[i..].chars().next().expect("char boundary");
                let mut utf8 = [0u8; 4];
                for c in ch.to_lowercase() {
                    if c.is_alphanumeric() {
                        let encoded = c.encode_utf8(&mut utf8);
                        push_word(buf, record, &mut pending_space, i, encoded.as_bytes());
                    } else {
                        pending_space = !buf.is_empty();
                    }
                }
                i += ch.len_utf8();
            }
        }
    }
}

#[inline(always)]
fn push_word(
    buf: &mut Vec<u8>,
    record: &mut impl FnMut(Source, usize),
    pending_space: &mut bool,
    src: usize,
    bytes: &[u8],
) {
    if *pending_space {
        buf.push(b' ');
        record(Source::Char(src), 1);
        *pending_space = false;
    }
    buf.extend_from_slice(bytes);
    record(Source::Char(src), bytes.len());
}

/// Parses a rule expression, folding and stemming its terms (the shipped matcher).
pub fn parse(expr: &str) -> Result<Expr, RuleSyntaxError> {
    parse_with(expr, Normalization::default())
}

/// Parses a rule expression, normalising its terms with `norm`.
pub fn parse_with(expr: &str, norm: Normalization) -> Result<Expr, RuleSyntaxError> {
    parse_expr(expr, norm).map_err(|Located { position, message }| RuleSyntaxError::at(expr, position, message))
}

/// An error at a character position, before lines and columns are known.
struct Located {
    position: usize,
    message: String,
}

fn parse_expr(expr: &str, norm: Normalization) -> Result<Expr, Located> {
    let tokens = lex(expr)?;
    let mut parser = Parser {
        expr,
        tokens,
        pos: 0,
        norm,
    };
    if parser.tokens.is_empty() {
        return Err(err(1, "empty rule: write at least one term"));
    }
    let parsed = parser.or()?;
    if let Some(tok) = parser.tokens.get(parser.pos) {
        let message = match tok.kind {
            Tok::RParen => "unexpected ')' without a matching '('".to_string(),
            _ => format!("unexpected {}", tok.kind.describe()),
        };
        return Err(err(tok.column, message));
    }
    let mut has_positive = false;
    parsed.visit_terms(false, &mut |_, negated| has_positive |= !negated);
    if !has_positive {
        return Err(err(
            1,
            "rule has no positive term: a rule of only NOT never adds to the score",
        ));
    }
    Ok(parsed)
}

fn err(position: usize, message: impl Into<String>) -> Located {
    Located {
        position,
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Near(u32),
    Scope(FieldMask),
    Word(String),
    /// Text, boost, and whether it is a whole-word phrase (`="…"`).
    Phrase(String, f64, bool),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::And => "AND".into(),
            Tok::Or => "OR".into(),
            Tok::Not => "NOT".into(),
            Tok::Near(n) => format!("NEAR/{n}"),
            Tok::Scope(_) => "field scope".into(),
            Tok::Word(w) => format!("'{w}'"),
            Tok::Phrase(p, _, _) => format!("\"{p}\""),
        }
    }

    fn starts_operand(&self) -> bool {
        matches!(
            self,
            Tok::LParen | Tok::Not | Tok::Scope(_) | Tok::Word(_) | Tok::Phrase(..)
        )
    }
}

#[derive(Debug)]
struct Token {
    kind: Tok,
    column: usize,
    /// Length in characters, for the column after the last token.
    len: usize,
}

fn lex(expr: &str) -> Result<Vec<Token>, Located> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token {
                    kind: Tok::LParen,
                    column,
                    len: 1,
                });
                i += 1;
            }
            ')' => {
                tokens.push(Token {
                    kind: Tok::RParen,
                    column,
                    len: 1,
                });
                i += 1;
            }
            '=' if matches!(chars.get(i + 1), Some('"' | '„' | '“')) => {
                let (token, next) = lex_phrase(&chars, i + 1, column, true)?;
                tokens.push(token);
                i = next;
            }
            '"' | '„' | '“' => {
                let (token, next) = lex_phrase(&chars, i, column, false)?;
                tokens.push(token);
                i = next;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '(' | ')' | '"' | '„' | '“')
                {
                    if chars[i] == ':' {
                        break;
                    }
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if i < chars.len() && chars[i] == ':' {
                    let field = Field::from_scope(&word.to_lowercase()).ok_or_else(|| {
                        err(
                            column,
                            format!("unknown field '{word}:' (known: {})", Field::names().join(", ")),
                        )
                    })?;
                    i += 1;
                    tokens.push(Token {
                        kind: Tok::Scope(FieldMask::only(field)),
                        column,
                        len: i + 1 - column,
                    });
                    continue;
                }
                tokens.push(Token {
                    kind: keyword(&word, column)?,
                    column,
                    len: i + 1 - column,
                });
            }
        }
    }
    Ok(tokens)
}

/// The phrase whose opening quote is at `open`; its token starts at `column`.
fn lex_phrase(chars: &[char], open: usize, column: usize, whole: bool) -> Result<(Token, usize), Located> {
    let close = chars[open + 1..].iter().position(|&c| matches!(c, '"' | '“' | '”'));
    let Some(len) = close else {
        return Err(err(column, "unclosed quote: a phrase needs a closing '\"'"));
    };
    let phrase: String = chars[open + 1..open + 1 + len].iter().collect();
    let (boost, next) = lex_boost(chars, open + len + 2)?;
    let token = Token {
        kind: Tok::Phrase(phrase, boost, whole),
        column,
        len: next + 1 - column,
    };
    Ok((token, next))
}

fn lex_boost(chars: &[char], i: usize) -> Result<(f64, usize), Located> {
    if chars.get(i) != Some(&'^') {
        return Ok((1.0, i));
    }
    let mut j = i + 1;
    while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
        j += 1;
    }
    let digits: String = chars[i + 1..j].iter().collect();
    let boost = parse_boost(&digits).ok_or_else(|| err(i + 1, "boost needs a positive number: \"…\"^2"))?;
    Ok((boost, j))
}

fn parse_boost(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|b| b.is_finite() && *b > 0.0)
}

fn keyword(word: &str, column: usize) -> Result<Tok, Located> {
    Ok(match word {
        "AND" => Tok::And,
        "OR" => Tok::Or,
        "NOT" => Tok::Not,
        w if w == "NEAR" || w.starts_with("NEAR/") => {
            let n = w.strip_prefix("NEAR/").and_then(|d| d.parse::<u32>().ok());
            match n {
                Some(0) => return Err(err(column, "NEAR distance must be at least 1: NEAR/5")),
                Some(n) => Tok::Near(n),
                None => return Err(err(column, "NEAR needs a number: NEAR/5")),
            }
        }
        w => Tok::Word(w.to_string()),
    })
}

struct Parser<'e> {
    expr: &'e str,
    tokens: Vec<Token>,
    pos: usize,
    norm: Normalization,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or_else(|| self.end_column(), |t| t.column)
    }

    fn end_column(&self) -> usize {
        self.tokens.last().map_or(1, |t| t.column + t.len)
    }

    /// "column 3", or "line 2, column 3" in a rule over several lines.
    fn place(&self, position: usize) -> String {
        let at = RuleSyntaxError::at(self.expr, position, "");
        place(at.line, at.column).trim_end_matches([':', ' ']).to_string()
    }

    fn expect_operand(&self, after: &str) -> Result<(), Located> {
        match self.peek() {
            Some(t) if t.starts_operand() => Ok(()),
            _ => Err(err(self.column(), format!("expected term after {after}"))),
        }
    }

    fn or(&mut self) -> Result<Expr, Located> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            self.expect_operand("OR")?;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, Located> {
        let mut items = vec![self.near()?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    self.expect_operand("AND")?;
                }
                Some(t) if t.starts_operand() => {}
                _ => break,
            }
            items.push(self.near()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::And(items)
        })
    }

    fn near(&mut self) -> Result<Expr, Located> {
        let mut left = self.unary()?;
        while let Some(&Tok::Near(distance)) = self.peek() {
            let column = self.column();
            self.pos += 1;
            self.expect_operand(&format!("NEAR/{distance}"))?;
            let right = self.unary()?;
            if !left.is_positional() || !right.is_positional() {
                return Err(err(
                    column,
                    "NEAR joins terms or phrases (or OR groups of them), not AND or NOT",
                ));
            }
            left = Expr::Near {
                left: Box::new(left),
                right: Box::new(right),
                distance,
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, Located> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.expect_operand("NOT")?;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, Located> {
        let column = self.column();
        let Some(tok) = self.tokens.get(self.pos).map(|t| t.kind.clone()) else {
            return Err(err(column, "expected a term at the end of the rule"));
        };
        self.pos += 1;
        match tok {
            Tok::Scope(mask) => {
                self.expect_operand("field scope")?;
                let mut inner = self.primary()?;
                inner.apply_scope(mask);
                Ok(inner)
            }
            Tok::LParen => {
                if self.peek() == Some(&Tok::RParen) {
                    return Err(err(column, "empty parentheses"));
                }
                let inner = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(err(
                        self.column(),
                        format!("missing ')' for the '(' at {}", self.place(column)),
                    ));
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Word(w) => term(&w, column, self.norm).map(Expr::Term),
            Tok::Phrase(p, boost, whole) => phrase(&p, boost, whole, column, self.norm).map(Expr::Term),
            Tok::RParen => Err(err(column, "unexpected ')' without a matching '('")),
            other => Err(err(column, format!("expected a term before {}", other.describe()))),
        }
    }
}

fn term(raw: &str, column: usize, norm: Normalization) -> Result<Term, Located> {
    let (body, boost) = match raw.split_once('^') {
        Some((body, b)) => {
            let boost = parse_boost(b).ok_or_else(|| {
                err(
                    column + body.chars().count(),
                    format!("boost needs a positive number: {body}^2"),
                )
            })?;
            (body, boost)
        }
        None => (raw, 1.0),
    };
    let (whole, body) = match body.strip_prefix('=') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let lead = body.starts_with('*');
    let trail = body.ends_with('*') && body.len() > 1;
    let core = body.trim_start_matches('*').trim_end_matches('*');
    if core.contains('*') {
        return Err(err(column, format!("'*' only at the start or end of a term: {raw}")));
    }
    if whole && (lead || trail) {
        return Err(err(
            column,
            format!("'=' (whole word) cannot be combined with '*': {raw}"),
        ));
    }
    let folded = norm.text(core);
    if folded.is_empty() {
        return Err(err(column, format!("term '{raw}' has no letters or digits")));
    }
    if (lead || trail) && folded.chars().count() < 3 {
        return Err(err(column, format!("a wildcard needs at least 3 letters: {raw}")));
    }
    let anchor = match (whole, lead, trail) {
        (true, _, _) => Anchor::WholeWord,
        (_, true, true) => Anchor::Anywhere,
        (_, false, true) => Anchor::WordStart,
        (_, true, false) => Anchor::WordEnd,
        (false, false, false) => Anchor::Anywhere,
    };
    if whole && folded.contains(' ') {
        return Err(err(column, format!("'=' (whole word) needs a single word: {raw}")));
    }
    // Wildcards are taken literally; plain and whole-word terms lose their inflection ending.
    let literal = lead || trail || !norm.stem;
    let needle = if literal { folded } else { stem_last_word(&folded) };
    let written = core.to_string();
    let variants = if literal {
        vec![needle.clone()]
    } else {
        phrase_variants(&needle)
    };
    Ok(Term {
        written,
        needle,
        variants,
        anchor,
        fields: FieldMask::DEFAULT,
        boost,
        scoped: false,
    })
}

/// `whole`: the phrase starts and ends at word boundaries (`="…"`), like `=term`.
fn phrase(raw: &str, boost: f64, whole: bool, column: usize, norm: Normalization) -> Result<Term, Located> {
    let folded = norm.text(raw);
    if folded.is_empty() {
        return Err(err(column, "empty phrase"));
    }
    let (needle, variants) = if norm.stem {
        let needle = stem_last_word(&folded);
        let variants = phrase_variants(&needle);
        (needle, variants)
    } else {
        (folded.clone(), vec![folded])
    };
    Ok(Term {
        written: raw.trim().to_string(),
        needle,
        variants,
        anchor: if whole { Anchor::WholeWord } else { Anchor::Anywhere },
        fields: FieldMask::DEFAULT,
        boost,
        scoped: false,
    })
}

/// Endings an inner phrase word may take after its stem (German adjective and
/// noun inflection: "weiße/weißen/weißer Flecken", "ländlichen Raum").
const PHRASE_ENDINGS: [&str; 9] = ["", "e", "en", "er", "es", "em", "n", "r", "s"];

/// Most variants a phrase expands to; longer phrases keep their inner words literal.
const MAX_PHRASE_VARIANTS: usize = 81;

/// The needle with every inner word replaced by its inflected forms.
fn phrase_variants(needle: &str) -> Vec<String> {
    let words: Vec<&str> = needle.split(' ').collect();
    let (inner, last) = words.split_at(words.len() - 1);
    if inner.is_empty() || PHRASE_ENDINGS.len().pow(inner.len() as u32) > MAX_PHRASE_VARIANTS {
        return vec![needle.to_string()];
    }
    let mut variants = vec![String::new()];
    for word in inner {
        let base = stem(word);
        let mut forms: Vec<String> = PHRASE_ENDINGS.iter().map(|e| format!("{base}{e}")).collect();
        forms.push(word.to_string());
        forms.sort();
        forms.dedup();
        variants = variants
            .iter()
            .flat_map(|v| forms.iter().map(move |f| format!("{v}{f} ")))
            .collect();
    }
    let mut out: Vec<String> = variants.into_iter().map(|v| format!("{v}{}", last[0])).collect();
    out.sort();
    out.dedup();
    out
}

fn stem_last_word(folded: &str) -> String {
    match folded.rsplit_once(' ') {
        Some((head, last)) => format!("{head} {}", stem(last)),
        None => stem(folded).to_string(),
    }
}

/// Light German inflection stripper for rule terms (never applied to text).
///
/// Terms hit anywhere inside a word, so only the term's own inflection ending
/// has to go ("Schulen" must find "Schule", "Kommunen" "Kommunalrichtlinie"
/// must not be required). Snowball also strips derivational suffixes
/// ("Bildung" → `bild`), which under substring matching would hit
/// "Abbildung" and "Bildschirm"; this stripper removes only `-en`, `-es`,
/// `-e` and a genitive `-s`, and keeps at least 4 letters.
pub fn stem(folded: &str) -> &str {
    for suffix in ["en", "es", "e"] {
        if let Some(base) = folded.strip_suffix(suffix)
            && base.len() >= 4
            && folded.len() > 5
        {
            return base;
        }
    }
    if let Some(base) = folded.strip_suffix('s')
        && base.len() >= 6
        && !base.ends_with('s')
    {
        return base;
    }
    folded
}

/// Endings a whole-word term may carry ("=Rad" finds "Rad", "Rades", "Rads").
pub const INFLECTIONS: [&str; 9] = ["", "e", "en", "er", "es", "n", "s", "ern", "em"];

#[cfg(test)]
mod tests {
    use super::*;

    fn t(e: &Expr) -> &Term {
        match e {
            Expr::Term(t) => t,
            other => panic!("not a term: {other:?}"),
        }
    }

    fn needles(e: &Expr) -> Vec<String> {
        let mut v = Vec::new();
        e.visit_terms(false, &mut |t, neg| {
            v.push(format!("{}{}", if neg { "-" } else { "" }, t.needle))
        });
        v
    }

    #[test]
    fn precedence_not_near_and_or() {
        let e = parse("a1 OR b1 AND NOT c1").unwrap();
        let Expr::Or(items) = &e else { panic!("{e:?}") };
        assert_eq!(items.len(), 2);
        let Expr::And(and) = &items[1] else { panic!() };
        assert!(matches!(and[1], Expr::Not(_)));
        let e = parse("Glasfaser NEAR/5 Schule OR Gigabit").unwrap();
        let Expr::Or(items) = &e else { panic!() };
        assert!(matches!(items[0], Expr::Near { distance: 5, .. }));
    }

    #[test]
    fn juxtaposition_is_and() {
        assert_eq!(
            parse("Glasfaser Schule").unwrap(),
            parse("Glasfaser AND Schule").unwrap()
        );
    }

    #[test]
    fn parentheses_group() {
        let e = parse("(a1 OR b1) AND c1").unwrap();
        let Expr::And(items) = &e else { panic!() };
        assert!(matches!(items[0], Expr::Or(_)));
    }

    #[test]
    fn phrases_fold_and_stem_last_word() {
        let e = parse("\"weiße Flecken\"").unwrap();
        assert_eq!(t(&e).needle, "weisse fleck");
        assert_eq!(t(&e).written, "weiße Flecken");
        assert_eq!(
            parse("„graue Flecken“").map(|e| t(&e).needle.clone()).unwrap(),
            "graue fleck"
        );
    }

    #[test]
    fn phrase_inner_words_take_inflection_endings() {
        let e = parse("\"Künstliche Intelligenz\"").unwrap();
        let v = &t(&e).variants;
        for form in [
            "kuenstliche intelligenz",
            "kuenstlicher intelligenz",
            "kuenstlichen intelligenz",
        ] {
            assert!(v.contains(&form.to_string()), "{v:?}");
        }
        let e = parse("\"graue Flecken\"").unwrap();
        assert!(t(&e).variants.contains(&"grauer fleck".to_string()));
        assert_eq!(t(&parse("Glasfaser").unwrap()).variants, vec!["glasfaser"]);
    }

    #[test]
    fn scopes_apply_to_terms_and_groups_inner_wins() {
        let e = parse("title:Glasfaser").unwrap();
        assert_eq!(t(&e).fields, FieldMask::only(Field::Title));
        let e = parse("summary:(a1 OR text:b1)").unwrap();
        let Expr::Or(items) = &e else { panic!() };
        assert_eq!(t(&items[0]).fields, FieldMask::only(Field::Summary));
        assert_eq!(t(&items[1]).fields, FieldMask::only(Field::Text));
        assert_eq!(t(&parse("Glasfaser").unwrap()).fields, FieldMask::DEFAULT);
        assert!(
            t(&parse("applicants:unternehmen").unwrap())
                .fields
                .contains(Field::Applicants)
        );
    }

    #[test]
    fn wildcards_and_whole_words() {
        let e = parse("digital*").unwrap();
        assert_eq!((t(&e).anchor, t(&e).needle.as_str()), (Anchor::WordStart, "digital"));
        let e = parse("*förderung").unwrap();
        assert_eq!((t(&e).anchor, t(&e).needle.as_str()), (Anchor::WordEnd, "foerderung"));
        let e = parse("=Rad").unwrap();
        assert_eq!((t(&e).anchor, t(&e).needle.as_str()), (Anchor::WholeWord, "rad"));
        assert_eq!(t(&parse("Schulen").unwrap()).needle, "schul");
        assert_eq!(t(&parse("Co-Working").unwrap()).needle, "coworking");
    }

    #[test]
    fn boosts() {
        assert_eq!(t(&parse("Glasfaser^2.5").unwrap()).boost, 2.5);
        assert_eq!(t(&parse("\"weiße Flecken\"^2").unwrap()).boost, 2.0);
    }

    #[test]
    fn not_marks_terms_negated() {
        assert_eq!(
            needles(&parse("Breitband NOT Privathaushalt").unwrap()),
            vec!["breitband", "-privathaushalt"]
        );
    }

    fn error(expr: &str) -> RuleSyntaxError {
        parse(expr).expect_err(expr)
    }

    #[test]
    fn every_error_names_its_column() {
        let cases: &[(&str, usize, &str)] = &[
            ("Glasfaser AND \"weiße Flecken", 15, "unclosed quote"),
            ("Glasfaser AND NOT", 18, "expected term after NOT"),
            ("Glasfaser NEAR Schule", 11, "NEAR needs a number: NEAR/5"),
            ("Glasfaser NEAR/x Schule", 11, "NEAR needs a number: NEAR/5"),
            ("Glasfaser NEAR/0 Schule", 11, "at least 1"),
            ("Glasfaser AND", 14, "expected term after AND"),
            ("Glasfaser OR", 13, "expected term after OR"),
            ("(Glasfaser OR Gigabit", 22, "missing ')' for the '(' at column 1"),
            ("Glasfaser)", 10, "unexpected ')'"),
            ("()", 1, "empty parentheses"),
            ("OR Glasfaser", 1, "expected a term before OR"),
            ("titel:Glasfaser", 1, "unknown field 'titel:'"),
            ("\"\"", 1, "empty phrase"),
            ("Glas*faser", 1, "'*' only at the start or end"),
            ("di*", 1, "at least 3 letters"),
            ("=Rad*", 1, "cannot be combined"),
            ("Glasfaser^x", 10, "boost needs a positive number"),
            ("NOT Glasfaser", 1, "no positive term"),
            ("", 1, "empty rule"),
            ("Glasfaser AND -", 15, "no letters or digits"),
            ("(a1 AND b1) NEAR/3 c1", 13, "NEAR joins terms or phrases"),
            ("title:", 7, "expected term after field scope"),
        ];
        for (expr, column, msg) in cases {
            let e = error(expr);
            assert!(e.message.contains(msg), "{expr}: {e}");
            assert_eq!(e.column, *column, "{expr}: {e}");
        }
    }

    #[test]
    fn errors_in_rules_over_several_lines_name_line_and_column() {
        let e = error("Glasfaser OR\n  Gigabit AND\n  (Schule");
        assert_eq!((e.position, e.line, e.column), (37, 3, 10), "{e}");
        assert_eq!(
            e.to_string(),
            "line 3, column 10: missing ')' for the '(' at line 3, column 3"
        );
    }

    #[test]
    fn validate_accepts_the_documented_examples() {
        for expr in [
            "Glasfaser OR Gigabit* OR \"weiße Flecken\"",
            "(Glasfaser OR Breitband) NEAR/5 Schule*",
            "title:=Rad OR Radweg OR Radverkehr",
            "applicants:unternehmen AND NOT applicants:kommune",
            "*förderung AND digital*^2",
        ] {
            assert!(parse(expr).is_ok(), "{expr}");
        }
    }

    #[test]
    fn exact_normalization_lowercases_and_splits_at_every_non_alphanumeric() {
        let n = Normalization::EXACT;
        assert_eq!(n.text("E-Mobilität"), "e mobilität");
        assert_eq!(
            n.text("Glasfaser-Ausbau, STRAẞE & Straße"),
            "glasfaser ausbau straße straße"
        );
        assert_eq!(
            n.text("  ÖPNV/Bürgerbus §5 „Großstadt“ 10×2 €\n"),
            "öpnv bürgerbus 5 großstadt 10 2"
        );
        assert_eq!(n.text("snake_case"), "snake case");
        assert_eq!(Normalization::default().text("E-Mobilität"), "emobilitaet");
    }

    #[test]
    fn exact_normalization_maps_every_byte_to_its_source() {
        let text = "Ab-ÄÖ x€İ9";
        let (mut buf, mut map) = (Vec::new(), Vec::new());
        lower_words_into(text, &mut buf, Some(&mut map));
        // İ lowercases to i + U+0307, and the combining dot is no alphanumeric: it separates
        // (as Python's `[^\W_]+` on `str.lower()` does).
        assert_eq!(String::from_utf8(buf.clone()).unwrap(), "ab äö x i 9");
        // A separating space maps to the char after it.
        assert_eq!(map, vec![0, 1, 3, 3, 3, 5, 5, 8, 8, 12, 12, 14, 14]);
    }

    #[test]
    fn without_stemming_terms_stay_as_written() {
        let exact = |e: &str| parse_with(e, Normalization::EXACT).unwrap();
        assert_eq!(t(&exact("Schulen")).needle, "schulen");
        assert_eq!(t(&exact("=Kommunen")).anchor, Anchor::WholeWord);
        assert_eq!(t(&exact("Förderung")).needle, "förderung");
        let e = exact("\"Weiße Flecken\"");
        assert_eq!((t(&e).needle.as_str(), t(&e).variants.len()), ("weiße flecken", 1));
        assert_eq!(Normalization::EXACT.inflections(), &[""]);
        assert_eq!(Normalization::default().inflections(), &INFLECTIONS);
    }

    #[test]
    fn whole_word_phrases() {
        let e = parse("=\"weiße Flecken\"").unwrap();
        assert_eq!(t(&e).anchor, Anchor::WholeWord);
        assert_eq!(t(&e).needle, "weisse fleck");
        assert_eq!(t(&parse("\"weiße Flecken\"").unwrap()).anchor, Anchor::Anywhere);
        let e = parse("title:=\"smart region\"^2 OR Glasfaser").unwrap();
        let Expr::Or(items) = &e else { panic!("{e:?}") };
        assert_eq!(t(&items[0]).fields, FieldMask::only(Field::Title));
        assert_eq!(t(&items[0]).boost, 2.0);
        assert!(error("=\"weiße Flecken").message.contains("unclosed quote"));
    }

    #[test]
    fn stem_strips_inflection_only() {
        assert_eq!(stem("schulen"), "schul");
        assert_eq!(stem("kommunen"), "kommun");
        assert_eq!(stem("vereine"), "verein");
        assert_eq!(stem("bildung"), "bildung");
        assert_eq!(stem("daten"), "daten");
        assert_eq!(stem("verkehrs"), "verkehr");
        assert_eq!(stem("prozess"), "prozess");
        assert_eq!(stem("rad"), "rad");
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// Rule-like input: words, operators, scopes, quotes, wildcards, boosts, line breaks.
        fn rule_like() -> impl Strategy<Value = String> {
            let token = prop_oneof![
                "[A-Za-zäöüßÄÖÜ0-9]{1,8}",
                Just("AND".to_string()),
                Just("OR".to_string()),
                Just("NOT".to_string()),
                "NEAR(/[0-9x]{0,2})?",
                Just("(".to_string()),
                Just(")".to_string()),
                Just("\"".to_string()),
                Just("„".to_string()),
                Just("“".to_string()),
                "(title|text|titel|summary|applicants):",
                "[*=]?[a-z]{0,4}[*]?(\\^[0-9x.]{0,3})?",
                Just("\n".to_string()),
            ];
            prop::collection::vec(token, 0..12).prop_map(|t| t.join(" "))
        }

        fn check_position(expr: &str, e: &RuleSyntaxError) {
            let chars = expr.chars().count();
            assert!(
                (1..=chars + 1).contains(&e.position),
                "{expr:?}: position {} outside 1..={}",
                e.position,
                chars + 1
            );
            let before: String = expr.chars().take(e.position - 1).collect();
            assert_eq!(e.line, 1 + before.matches('\n').count(), "{expr:?}: {e}");
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            assert_eq!(e.column, 1 + before[line_start..].chars().count(), "{expr:?}: {e}");
            let lines = expr.split('\n').count();
            assert!(e.line <= lines, "{expr:?}: line {} of {lines}", e.line);
        }

        proptest! {
            #[test]
            fn the_parser_never_panics_and_errors_carry_a_position(expr in rule_like()) {
                if let Err(e) = parse(&expr) {
                    check_position(&expr, &e);
                }
            }

            /// The fast paths (ASCII, Latin-1) agree with the plain definition:
            /// lowercase, then maximal runs of alphanumeric chars.
            #[test]
            fn lower_words_is_lowercase_then_alphanumeric_runs(text in any::<String>(), german in "[a-zA-ZäöüÄÖÜßẞÀ-ÿ0-9 ,.×÷_„“\n-]{0,60}") {
                for s in [&text, &german] {
                    let lowered: String = s.chars().flat_map(char::to_lowercase).collect();
                    let want: Vec<&str> = lowered.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
                    prop_assert_eq!(Normalization::EXACT.text(s), want.join(" "));
                }
            }

            #[test]
            fn arbitrary_text_never_panics_the_parser(expr in any::<String>()) {
                if let Err(e) = parse(&expr) {
                    check_position(&expr, &e);
                }
            }
        }
    }
}
