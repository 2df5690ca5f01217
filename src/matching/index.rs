//! The compiled rule index and the scoring of one call.
//!
//! All terms of all rules become needles of ONE Aho-Corasick automaton. A
//! call is folded once, the automaton runs once over it, and only rules with a
//! positive term among the found needles are evaluated (the presearcher idea of
//! Lucene Monitor and the Elasticsearch percolator). This loses nothing: a rule
//! adds to a score only through a positive term that occurs in the text.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::contiguous;
use aho_corasick::{Anchored, MatchKind, dfa};

use crate::config::RuleSpec;
use crate::model::Call;
use crate::rules::{Anchor, Expr, Field, FieldMask, Normalization};

/// Hits of one term in one field saturate: `min(1 + ln n, SATURATION_CAP)`.
pub const SATURATION_CAP: f64 = 2.5;

/// Saturated weight of `n` hits.
pub fn saturate(n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        (1.0 + (n as f64).ln()).min(SATURATION_CAP)
    }
}

/// A call folded once: the fields joined by `\n` in one string.
pub struct Doc {
    /// UTF-8 by construction; kept as bytes because the automaton and the
    /// boundary checks read bytes, and checking 20 KB per call costs time.
    text: Vec<u8>,
    /// How `text` was normalised; rules must have been parsed the same way.
    norm: Normalization,
    fields: Vec<(Field, usize, usize)>,
    token_starts: OnceLock<WordStarts>,
    /// For explanations: per folded byte, the byte in the field's original text.
    sources: Option<DocSources>,
    /// A regional programme (LEADER, Regionalbudget, Interreg, EUREGIO): see [`super::zones`].
    pub cross_cutting: bool,
    /// The call has a summary (Kurztext or topics) besides its title.
    pub has_summary: bool,
}

struct DocSources {
    map: Vec<usize>,
    originals: Vec<String>,
}

impl Doc {
    pub fn new(call: &Call) -> Doc {
        Self::build(call, false)
    }

    /// Like [`Doc::new`] but keeps what is needed to quote the original text.
    pub fn with_sources(call: &Call) -> Doc {
        Self::build(call, true)
    }

    /// The three matched fields of a text that is not a [`Call`], normalised with `norm`.
    pub fn from_fields(title: &str, summary: &str, text: &str, norm: Normalization) -> Doc {
        let parts = [
            (Field::Title, title),
            (Field::Summary, summary),
            (Field::Text, text),
            (Field::Funder, ""),
            (Field::Applicants, ""),
        ];
        Self::from_parts(&parts, &parts, false, norm)
    }

    /// The call's fields, with the parts that must not score masked (see [`super::zones`]).
    fn build(call: &Call, keep_sources: bool) -> Doc {
        let summary = if call.topics.is_empty() {
            call.summary.clone()
        } else {
            format!("{}\n{}", call.summary, call.topics.join(", "))
        };
        let applicants: Vec<&str> = call
            .applicants
            .categories
            .iter()
            .map(|c| c.as_str())
            .chain(call.applicants.raw.iter().map(String::as_str))
            .collect();
        let applicants = applicants.join(", ");
        let originals = [
            (Field::Title, call.title.as_str()),
            (Field::Summary, summary.as_str()),
            (Field::Text, call.text.as_str()),
            (Field::Funder, call.funder.as_deref().unwrap_or_default()),
            (Field::Applicants, applicants.as_str()),
        ];
        let cross_cutting = super::zones::is_cross_cutting(call);
        let masker = super::zones::Masker::new(call, cross_cutting);
        let (title, masked_summary, text) = (
            masker.mask(&call.title, false),
            masker.mask(&summary, false),
            masker.mask(&call.text, true),
        );
        let parts = [
            (Field::Title, title.as_ref()),
            (Field::Summary, masked_summary.as_ref()),
            (Field::Text, text.as_ref()),
            originals[3],
            originals[4],
        ];
        let mut doc = Self::from_parts(&parts, &originals, keep_sources, Normalization::default());
        doc.cross_cutting = cross_cutting;
        doc.has_summary = !summary.trim().is_empty();
        doc
    }

    /// `parts` are folded; `originals` (the same fields unmasked, byte for byte
    /// as long) are what snippets quote.
    fn from_parts(
        parts: &[(Field, &str)],
        originals_of: &[(Field, &str)],
        keep_sources: bool,
        norm: Normalization,
    ) -> Doc {
        let size: usize = parts.iter().map(|(_, s)| s.len()).sum();
        let mut text = Vec::with_capacity(size + 64);
        let mut fields = Vec::with_capacity(parts.len());
        let mut map = keep_sources.then(Vec::new);
        let mut originals = Vec::new();
        for (&(field, source), &(_, original)) in parts.iter().zip(originals_of) {
            // Each field is " folded words " and fields are joined by '\n', so a
            // needle " rad" can only hit at a word start (see `Compile::node`).
            let start = text.len();
            let lead: &[u8] = if start == 0 { b" " } else { b"\n " };
            text.extend_from_slice(lead);
            if let Some(m) = map.as_mut() {
                m.extend(std::iter::repeat_n(0, lead.len()));
            }
            norm.text_into(source, &mut text, map.as_mut());
            text.push(b' ');
            if let Some(m) = map.as_mut() {
                m.push(source.len());
            }
            fields.push((field, start, text.len()));
            if keep_sources {
                originals.push(original.to_string());
            }
        }
        let sources = map.map(|map| DocSources { map, originals });
        Doc {
            text,
            norm,
            fields,
            token_starts: OnceLock::new(),
            sources,
            cross_cutting: false,
            has_summary: false,
        }
    }

    fn field_at(&self, pos: usize) -> Option<Field> {
        self.fields
            .iter()
            .find(|(_, s, e)| pos >= *s && pos < *e)
            .map(|(f, _, _)| *f)
    }

    fn token_index(&self, pos: usize) -> usize {
        let starts = self.token_starts.get_or_init(|| WordStarts::new(&self.text));
        starts.up_to(pos).saturating_sub(1)
    }

    /// The original wording around a hit, ±40 characters.
    pub fn snippet(&self, occ: &Occurrence) -> Option<String> {
        let sources = self.sources.as_ref()?;
        let field_idx = self.fields.iter().position(|(f, _, _)| *f == occ.field)?;
        let original = &sources.originals[field_idx];
        // Offsets outside the field would index another field's original text.
        let (_, lo, hi) = self.fields[field_idx];
        if !(lo..hi).contains(&occ.start) {
            return None;
        }
        let start = original.floor_char_boundary(*sources.map.get(occ.start)?);
        let last = occ.end.saturating_sub(1).clamp(occ.start, hi - 1);
        let end = sources.map.get(last).map_or(start, |&e| e + 1).max(start);
        let end = original.ceil_char_boundary(end);
        let from = original[..start].char_indices().rev().nth(39).map_or(0, |(i, _)| i);
        let to = original[end..]
            .char_indices()
            .nth(40)
            .map_or(original.len(), |(i, _)| end + i);
        let mut s = String::new();
        if from > 0 {
            s.push('…');
        }
        s.push_str(&original[from..start]);
        s.push('[');
        s.push_str(&original[start..end]);
        s.push(']');
        s.push_str(&original[end..to]);
        if to < original.len() {
            s.push('…');
        }
        Some(s.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// Where the words of a doc's text start: a bit per byte, 64 to a block, and
/// per block the count of word starts before it. Counting the words up to a
/// position is then one popcount; listing every start cost a pass that wrote
/// four bytes per byte of text.
struct WordStarts {
    bits: Vec<u64>,
    before: Vec<u32>,
    total: usize,
}

impl WordStarts {
    fn new(text: &[u8]) -> WordStarts {
        let blocks = text.len().div_ceil(64);
        let (mut bits, mut before) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
        let (mut count, mut boundary_before) = (0, 1u64);
        for chunk in text.chunks(64) {
            let boundary = boundary_bits(chunk);
            let valid = if chunk.len() == 64 {
                !0
            } else {
                (1u64 << chunk.len()) - 1
            };
            let starts = !boundary & ((boundary << 1) | boundary_before) & valid;
            boundary_before = (boundary >> (chunk.len() - 1)) & 1;
            before.push(count);
            bits.push(starts);
            count += starts.count_ones();
        }
        WordStarts {
            bits,
            before,
            total: count as usize,
        }
    }

    /// The number of words that start at or before `pos`.
    fn up_to(&self, pos: usize) -> usize {
        let (block, bit) = (pos / 64, pos % 64);
        if block >= self.bits.len() {
            return self.total;
        }
        let mask = if bit == 63 { !0 } else { (1u64 << (bit + 1)) - 1 };
        self.before[block] as usize + (self.bits[block] & mask).count_ones() as usize
    }
}

/// A bit per byte of `chunk` (at most 64 bytes) that is a word boundary; full
/// blocks eight bytes at a time.
fn boundary_bits(chunk: &[u8]) -> u64 {
    const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    if chunk.len() < 64 {
        return chunk
            .iter()
            .enumerate()
            .fold(0, |bits, (j, &b)| bits | (u64::from(is_boundary(b)) << j));
    }
    chunk.chunks_exact(8).enumerate().fold(0, |bits, (w, word)| {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        bits | ((zero_bytes(x ^ SPACES) | zero_bytes(x ^ NEWLINES)) << (8 * w))
    })
}

/// A bit per byte of `x` (in little-endian order) that is zero.
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The high bit of each byte is set exactly when the byte is zero; no carries.
    let high = !(((x & LOW7) + LOW7) | x | LOW7);
    // Gathers the eight high bits into the top byte, byte k to bit 56 + k.
    (high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

fn is_boundary(b: u8) -> bool {
    b == b' ' || b == b'\n'
}

/// One occurrence of a term.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occurrence {
    pub field: Field,
    pub start: usize,
    pub end: usize,
}

/// A compiled term.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub written: String,
    /// The needle and, for phrases, its inflected variants.
    needles: Vec<u32>,
    /// The needle carries a leading / trailing space for the word boundary.
    lead: bool,
    trail: bool,
    anchor: Anchor,
    /// A whole word whose needle does not end in the boundary space: the word
    /// may go on with an inflection ending, checked per hit.
    check_tail: bool,
    fields: FieldMask,
    pub boost: f64,
}

#[derive(Debug, Clone)]
pub enum Node {
    Leaf(u32),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Near(Box<Node>, Box<Node>, u32),
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub expr: String,
    pub weight: f64,
    node: Node,
    /// Where its [`Op`]s start in [`Index::ops`].
    program: u32,
}

/// A rule node laid out flat for boolean evaluation ([`holds`]): the nodes of
/// all rules in one array, each rule's in one run, children right after their
/// parent. Walking boxed trees of thousands of rules was bound by cache misses.
#[derive(Debug, Clone, Copy)]
struct Op {
    kind: OpKind,
    /// Leaf id, or for `Near` the index in [`Index::near_nodes`].
    arg: u32,
    /// Index after this node's subtree.
    end: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum OpKind {
    Leaf,
    And,
    Or,
    Not,
    Near,
}

/// A parsed rule to compile: as written, its weight and its parse.
pub struct RuleRef<'a> {
    pub expr: &'a str,
    pub weight: f64,
    pub rule: &'a Expr,
}

/// All rules of all profiles, with one automaton over all their terms.
pub struct Index {
    scanner: Scanner,
    /// Bytes of the longest needle.
    longest: usize,
    /// How the rules were parsed, and so how docs must be normalised.
    pub norm: Normalization,
    pub leaves: Vec<Leaf>,
    /// Per profile, its rules.
    pub profiles: Vec<Vec<Rule>>,
    /// Per needle, the rules (numbered across profiles, see `rule_at`) in
    /// which it is a positive term.
    needle_rules: Vec<Vec<u32>>,
    /// Per rule number, its (profile, rule) pair; numbers follow that order.
    rule_at: Vec<(u32, u32)>,
    /// Per leaf, what [`Hits::leaf_hit`] needs, packed for the hot loop:
    /// leaves of all rules sit far apart in memory, probes next to each other.
    probes: Vec<Probe>,
    /// The needles of all probes, each probe's in one run.
    probe_needles: Vec<u32>,
    /// Per needle, the leaves it belongs to (positive or not).
    needle_leaves: Vec<Vec<u32>>,
    /// Per leaf, its class: leaves that score alike (the same needles, anchor, fields and
    /// boost) share one, so that a call scores each class once ([`Hits::leaf_value`]).
    leaf_class: Vec<u32>,
    classes: usize,
    /// All rules flattened, see [`Op`].
    ops: Vec<Op>,
    /// The NEAR nodes, evaluated on positions as in scoring.
    near_nodes: Vec<Node>,
}

/// Appends `node`'s subtree to `ops` in pre-order.
fn flatten(node: &Node, ops: &mut Vec<Op>, near_nodes: &mut Vec<Node>) {
    let at = ops.len();
    let (kind, arg) = match node {
        Node::Leaf(id) => (OpKind::Leaf, *id),
        Node::And(_) => (OpKind::And, 0),
        Node::Or(_) => (OpKind::Or, 0),
        Node::Not(_) => (OpKind::Not, 0),
        Node::Near(..) => {
            near_nodes.push(node.clone());
            (OpKind::Near, near_nodes.len() as u32 - 1)
        }
    };
    ops.push(Op { kind, arg, end: 0 });
    match node {
        Node::And(items) | Node::Or(items) => items.iter().for_each(|i| flatten(i, ops, near_nodes)),
        Node::Not(inner) => flatten(inner, ops, near_nodes),
        Node::Leaf(_) | Node::Near(..) => {}
    }
    ops[at].end = ops.len() as u32;
}

/// A leaf reduced to the question "does it occur?".
#[derive(Clone, Copy)]
struct Probe {
    first: u32,
    count: u32,
    fields: FieldMask,
    check_tail: bool,
}

impl Index {
    /// Compiles the rules of `profiles`, parsed once when the config was loaded.
    pub fn build(profiles: &[&[RuleSpec]]) -> Index {
        let refs: Vec<Vec<RuleRef>> = profiles
            .iter()
            .map(|specs| {
                specs
                    .iter()
                    .map(|s| RuleRef {
                        expr: &s.expr,
                        weight: s.weight,
                        rule: s.rule(),
                    })
                    .collect()
            })
            .collect();
        Self::compile(&refs, Normalization::default())
    }

    /// Compiles rules parsed with `norm` ([`crate::rules::parse_with`]).
    pub fn compile(profiles: &[Vec<RuleRef>], norm: Normalization) -> Index {
        let mut needles: HashMap<String, u32> = HashMap::new();
        let mut leaves = Vec::new();
        let mut needle_rules: Vec<Vec<u32>> = Vec::new();
        let mut rule_at = Vec::new();
        let (mut ops, mut near_nodes) = (Vec::new(), Vec::new());
        let mut compiled = Vec::with_capacity(profiles.len());
        for (p, rules_of_profile) in profiles.iter().enumerate() {
            let mut out = Vec::with_capacity(rules_of_profile.len());
            for spec in rules_of_profile.iter() {
                let mut cx = Compile {
                    needles: &mut needles,
                    leaves: &mut leaves,
                    needle_rules: &mut needle_rules,
                    at: rule_at.len() as u32,
                    norm,
                };
                rule_at.push((p as u32, out.len() as u32));
                let node = cx.node(spec.rule, false);
                let program = ops.len() as u32;
                flatten(&node, &mut ops, &mut near_nodes);
                out.push(Rule {
                    expr: spec.expr.to_string(),
                    weight: spec.weight,
                    node,
                    program,
                });
            }
            compiled.push(out);
        }
        let mut patterns: Vec<(u32, String)> = needles.into_iter().map(|(s, id)| (id, s)).collect();
        patterns.sort_unstable();
        let longest = patterns.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        let scanner = Scanner::build(patterns.into_iter().map(|(_, s)| s).collect());
        let mut needle_leaves = vec![Vec::new(); needle_rules.len()];
        for (id, leaf) in leaves.iter().enumerate() {
            for &n in &leaf.needles {
                needle_leaves[n as usize].push(id as u32);
            }
        }
        // Leaves that score alike: the same all but their written form.
        let mut class_of = HashMap::new();
        let leaf_class: Vec<u32> = leaves
            .iter()
            .map(|leaf| {
                let next = class_of.len() as u32;
                let key = (
                    leaf.needles.clone(),
                    (leaf.lead, leaf.trail, leaf.check_tail),
                    (leaf.anchor, leaf.fields, leaf.boost.to_bits()),
                );
                *class_of.entry(key).or_insert(next)
            })
            .collect();
        let mut probe_needles = Vec::new();
        let probes = leaves
            .iter()
            .map(|leaf: &Leaf| {
                let first = probe_needles.len() as u32;
                probe_needles.extend_from_slice(&leaf.needles);
                Probe {
                    first,
                    count: leaf.needles.len() as u32,
                    fields: leaf.fields,
                    check_tail: leaf.check_tail,
                }
            })
            .collect();
        Index {
            scanner,
            longest,
            norm,
            leaves,
            profiles: compiled,
            needle_rules,
            rule_at,
            probes,
            probe_needles,
            needle_leaves,
            leaf_class,
            classes: class_of.len(),
            ops,
            near_nodes,
        }
    }

    /// Distinct needles in the automaton.
    pub fn needle_count(&self) -> usize {
        self.needle_rules.len()
    }

    /// Runs the automaton over `doc` once.
    pub fn search<'d>(&self, doc: &'d Doc) -> Hits<'d> {
        let mut scratch = Scratch::take(self.needle_rules.len(), self.classes);
        match self.scanner.dfa_for(doc) {
            Some(dfa) => scan(dfa, self.longest, doc, &mut scratch),
            None => scan(&self.scanner.nfa, self.longest, doc, &mut scratch),
        }
        scratch.group_by_needle();
        Hits { doc, scratch }
    }

    /// One bit per leaf: set when the leaf occurs in `hits`. Found from the
    /// needles that occur, so the cost follows the hits, not the rules.
    pub fn leaf_truths(&self, hits: &Hits) -> LeafTruths {
        let mut bits = vec![0u64; self.leaves.len().div_ceil(64)];
        for &needle in &hits.scratch.touched {
            let found_in = hits.scratch.in_fields[needle as usize];
            for &id in &self.needle_leaves[needle as usize] {
                let probe = self.probes[id as usize];
                let occurs = if probe.check_tail {
                    hits.leaf_hit(self, id)
                } else {
                    found_in.intersects(probe.fields)
                };
                if occurs {
                    bits[id as usize / 64] |= 1 << (id % 64);
                }
            }
        }
        LeafTruths(bits)
    }

    /// The (profile, rule) pairs that may score on these hits, sorted.
    pub fn candidates(&self, hits: &Hits) -> Vec<(u32, u32)> {
        // A bit per rule number: marks dedupe, and reading the bits in order sorts.
        let mut marked = vec![0u64; self.rule_at.len().div_ceil(64)];
        for &needle in &hits.scratch.touched {
            for &r in &self.needle_rules[needle as usize] {
                marked[r as usize / 64] |= 1 << (r % 64);
            }
        }
        let mut out = Vec::new();
        for (w, &bits) in marked.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                out.push(self.rule_at[w * 64 + bits.trailing_zeros() as usize]);
                bits &= bits - 1;
            }
        }
        out
    }
}

/// Text to scan before the DFA is built: building it for the deployment's needles costs
/// about 80 million instructions (~8 ms in every process that matches), which the
/// contiguous NFA, at roughly twice the DFA's cost per byte, spends over some 2 MB of text.
/// A pass that matches a few new calls never builds it; a pass over thousands does at once.
const DFA_AFTER_BYTES: usize = 2 << 20;

/// The automaton over all needles, driven by [`scan`]'s own loop: a contiguous NFA
/// (a tenth of the DFA's build time) until [`DFA_AFTER_BYTES`] were scanned, then the
/// DFA, unless it cannot be built.
struct Scanner {
    /// In needle id order.
    patterns: Vec<String>,
    nfa: contiguous::NFA,
    dfa: OnceLock<Option<dfa::DFA>>,
    scanned: AtomicUsize,
}

impl Scanner {
    fn build(patterns: Vec<String>) -> Scanner {
        let nfa = contiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&patterns)
            .expect("needles are plain strings");
        Scanner {
            patterns,
            nfa,
            dfa: OnceLock::new(),
            scanned: AtomicUsize::new(0),
        }
    }

    /// The DFA, once the text scanned before `doc` reached [`DFA_AFTER_BYTES`].
    fn dfa_for(&self, doc: &Doc) -> Option<&dfa::DFA> {
        let before = self.scanned.fetch_add(doc.text.len(), Ordering::Relaxed);
        if before < DFA_AFTER_BYTES {
            return None;
        }
        self.dfa
            .get_or_init(|| {
                dfa::DFA::builder()
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build(&self.patterns)
                    .ok()
            })
            .as_ref()
    }
}

/// The needles that end at `at` in state `sid`, as (needle, start, end).
#[inline(always)]
fn push_matches<A: Automaton>(aut: &A, sid: StateID, at: usize, out: &mut Vec<(u32, u32, u32)>) {
    if !aut.is_match(sid) {
        return;
    }
    for i in 0..aut.match_len(sid) {
        let pid = aut.match_pattern(sid, i);
        let start = at + 1 - aut.pattern_len(pid);
        out.push((pid.as_u32(), start as u32, at as u32 + 1));
    }
}

/// Parts of a doc scanned side by side. One scan waits for a table load per
/// byte; the lanes' loads do not depend on each other, so the CPU overlaps them.
const LANES: usize = 4;

/// Every (overlapping) needle hit in `doc`, recorded in `scratch` in text
/// order (by end), with its count per needle and field. `longest` is the
/// longest needle's length.
///
/// Lane `k` reports the hits ending in `cuts[k] + 1 ..= cuts[k + 1]`. It starts
/// `longest` bytes before its part: an Aho-Corasick state stands for the longest
/// suffix read that begins a needle, never longer than `longest`, so from its
/// part on the lane is in the state of one scan from the start.
fn scan<A: Automaton>(aut: &A, longest: usize, doc: &Doc, scratch: &mut Scratch) {
    let text = &doc.text;
    let cuts: [usize; LANES + 1] = std::array::from_fn(|k| k * text.len() / LANES);
    let mut pos: [usize; LANES] = std::array::from_fn(|k| cuts[k].saturating_sub(longest));
    let start = aut
        .start_state(Anchored::No)
        .expect("the automaton searches unanchored");
    let mut sid = [start; LANES];
    let lanes = &mut scratch.lanes;
    let together = (0..LANES).map(|k| cuts[k + 1] - pos[k]).min().unwrap_or(0);
    // The lanes' bytes come from one zipped iterator: indexing the text per lane and byte
    // cost a bounds check each.
    let [a, b, c, d]: [&[u8]; LANES] = std::array::from_fn(|k| &text[pos[k]..pos[k] + together]);
    for (i, (((&b0, &b1), &b2), &b3)) in a.iter().zip(b).zip(c).zip(d).enumerate() {
        for (k, byte) in [b0, b1, b2, b3].into_iter().enumerate() {
            sid[k] = aut.next_state(Anchored::No, sid[k], byte);
            if aut.is_special(sid[k]) && pos[k] + i >= cuts[k] {
                push_matches(aut, sid[k], pos[k] + i, &mut lanes[k]);
            }
        }
    }
    for p in &mut pos {
        *p += together;
    }
    for k in 0..LANES {
        for (at, &byte) in (pos[k]..).zip(&text[pos[k]..cuts[k + 1]]) {
            sid[k] = aut.next_state(Anchored::No, sid[k], byte);
            if aut.is_special(sid[k]) && at >= cuts[k] {
                push_matches(aut, sid[k], at, &mut lanes[k]);
            }
        }
    }
    // No needle holds '\n', so none spans two fields, and hits come by end:
    // the field of a hit's end moves forward only.
    let mut field = 0;
    for k in 0..LANES {
        for i in 0..scratch.lanes[k].len() {
            let (needle, start, end) = scratch.lanes[k][i];
            while end as usize > doc.fields[field].2 {
                field += 1;
            }
            let in_field = if start as usize >= doc.fields[field].1 {
                Some(doc.fields[field].0)
            } else {
                doc.field_at(start as usize)
            };
            scratch.record(needle, start, end, in_field);
        }
        scratch.lanes[k].clear();
    }
}

/// Per-call buffers of [`Hits`], sized by the needle count. They are reused
/// across calls (see [`Scratch::take`]): zeroing per-needle tables of tens of
/// thousands of needles for every call cost more than the hits themselves.
#[derive(Default)]
struct Scratch {
    /// Hits found by each lane of [`scan`].
    lanes: [Vec<(u32, u32, u32)>; LANES],
    /// Hits in text order.
    found_order: Vec<(u32, u32, u32)>,
    /// The same hits grouped by needle, each needle's in text order.
    hits: Vec<(u32, u32, u32)>,
    /// The needles found, in order of their first hit.
    touched: Vec<u32>,
    /// Per needle id: its hits' range in `hits` and its hit count per field.
    found: Vec<Found>,
    /// Per needle id: the fields it was found in (small, for [`Hits::leaf_hit`]).
    in_fields: Vec<FieldMask>,
    /// Per leaf class: the stamp of the call that scored it, and its value there
    /// ([`Hits::leaf_value`]). A stamp per call spares clearing the table.
    memo: Vec<Cell<(u32, f64)>>,
    stamp: u32,
}

thread_local! {
    static SCRATCH: RefCell<Vec<Scratch>> = const { RefCell::new(Vec::new()) };
}

impl Scratch {
    /// Buffers for `needles` needles, all per-needle entries cleared, and a leaf memo for
    /// `classes` leaf classes under a stamp of its own.
    fn take(needles: usize, classes: usize) -> Scratch {
        let mut s = SCRATCH.with(|pool| pool.borrow_mut().pop()).unwrap_or_default();
        if s.found.len() < needles {
            s.found.resize(needles, Found::default());
            s.in_fields.resize(needles, FieldMask::EMPTY);
        }
        if s.memo.len() < classes {
            s.memo.resize(classes, Cell::new((0, 0.0)));
        }
        s.stamp = s.stamp.wrapping_add(1);
        if s.stamp == 0 {
            s.memo.iter().for_each(|m| m.set((0, 0.0)));
            s.stamp = 1;
        }
        s
    }

    /// Clears what this call touched and returns the buffers for the next one.
    fn give_back(mut self) {
        for &n in &self.touched {
            self.found[n as usize] = Found::default();
            self.in_fields[n as usize] = FieldMask::EMPTY;
        }
        self.touched.clear();
        self.found_order.clear();
        self.hits.clear();
        SCRATCH.with(|pool| pool.borrow_mut().push(self));
    }

    /// One hit; while scanning, `Found::to` counts the needle's hits.
    fn record(&mut self, needle: u32, start: u32, end: u32, field: Option<Field>) {
        let f = &mut self.found[needle as usize];
        if f.to == 0 {
            self.touched.push(needle);
        }
        f.to += 1;
        if let Some(field) = field {
            f.per_field[field as usize] += 1;
            let mask = &mut self.in_fields[needle as usize];
            *mask = mask.with(field);
        }
        self.found_order.push((needle, start, end));
    }

    /// Counting sort of the hits by needle over the touched needles only;
    /// keeps each needle's hits in text order and sets the `Found` ranges.
    fn group_by_needle(&mut self) {
        let mut offset = 0;
        for &n in &self.touched {
            let f = &mut self.found[n as usize];
            let count = f.to;
            (f.from, f.to) = (offset, offset);
            offset += count;
        }
        self.hits.resize(self.found_order.len(), (0, 0, 0));
        for &h in &self.found_order {
            let f = &mut self.found[h.0 as usize];
            self.hits[f.to as usize] = h;
            f.to += 1;
        }
    }
}

struct Compile<'a> {
    needles: &'a mut HashMap<String, u32>,
    leaves: &'a mut Vec<Leaf>,
    needle_rules: &'a mut Vec<Vec<u32>>,
    /// Number of the rule being compiled.
    at: u32,
    norm: Normalization,
}

impl Compile<'_> {
    fn node(&mut self, e: &Expr, negated: bool) -> Node {
        match e {
            Expr::Term(t) => {
                // Anchored needles include the boundary space, so "=IT" searches " it"
                // and does not hit inside every "mit" and "Zeit".
                let (lead, trail) = match t.anchor {
                    // Without inflection endings a whole word ends at the boundary space.
                    Anchor::WholeWord => (true, !self.norm.stem),
                    Anchor::WordStart => (true, false),
                    Anchor::WordEnd => (false, true),
                    Anchor::Anywhere => (false, false),
                };
                let mut needles = Vec::with_capacity(t.variants.len());
                for variant in &t.variants {
                    let key = format!(
                        "{}{variant}{}",
                        if lead { " " } else { "" },
                        if trail { " " } else { "" }
                    );
                    let next = self.needles.len() as u32;
                    let needle = *self.needles.entry(key).or_insert(next);
                    if needle == next {
                        self.needle_rules.push(Vec::new());
                    }
                    if !negated {
                        let list = &mut self.needle_rules[needle as usize];
                        if list.last() != Some(&self.at) {
                            list.push(self.at);
                        }
                    }
                    needles.push(needle);
                }
                self.leaves.push(Leaf {
                    written: t.written.clone(),
                    needles,
                    lead,
                    trail,
                    anchor: t.anchor,
                    check_tail: t.anchor == Anchor::WholeWord && !trail,
                    fields: t.fields,
                    boost: t.boost,
                });
                Node::Leaf(self.leaves.len() as u32 - 1)
            }
            Expr::And(items) => Node::And(items.iter().map(|i| self.node(i, negated)).collect()),
            Expr::Or(items) => Node::Or(items.iter().map(|i| self.node(i, negated)).collect()),
            Expr::Not(inner) => Node::Not(Box::new(self.node(inner, !negated))),
            Expr::Near { left, right, distance } => Node::Near(
                Box::new(self.node(left, negated)),
                Box::new(self.node(right, negated)),
                *distance,
            ),
        }
    }
}

/// Needle hits in one doc, grouped by needle.
pub struct Hits<'d> {
    pub doc: &'d Doc,
    scratch: Scratch,
}

#[derive(Clone, Copy, Default)]
struct Found {
    from: u32,
    to: u32,
    per_field: [u32; 5],
}

impl Drop for Hits<'_> {
    fn drop(&mut self) {
        std::mem::take(&mut self.scratch).give_back();
    }
}

impl<'d> Hits<'d> {
    fn of_needle(&self, needle: u32) -> &[(u32, u32, u32)] {
        let f = self.scratch.found[needle as usize];
        &self.scratch.hits[f.from as usize..f.to as usize]
    }

    /// Occurrences of a leaf: needle hits that satisfy its anchor and field scope.
    pub fn occurrences(&self, leaf: &Leaf) -> Vec<Occurrence> {
        let in_fields = &self.scratch.in_fields;
        if !leaf
            .needles
            .iter()
            .any(|n| in_fields[*n as usize].intersects(leaf.fields))
        {
            return Vec::new();
        }
        let mut out: Vec<Occurrence> = leaf
            .needles
            .iter()
            .flat_map(|n| self.of_needle(*n))
            .filter_map(|&(_, s, e)| {
                let (s, e) = (
                    s as usize + usize::from(leaf.lead),
                    e as usize - usize::from(leaf.trail),
                );
                self.accept(leaf, s, e).map(|field| Occurrence {
                    field,
                    start: s,
                    end: e,
                })
            })
            .collect();
        if leaf.needles.len() > 1 {
            out.sort_by_key(|o| o.start);
        }
        out
    }

    /// Whether a needle of leaf `id` was found in a field of its scope: false
    /// for most terms of a long OR, told by the packed probes and one byte per
    /// needle, without touching the leaf itself.
    fn may_occur(&self, index: &Index, id: u32) -> bool {
        let probe = index.probes[id as usize];
        index.probe_needles[probe.first as usize..(probe.first + probe.count) as usize]
            .iter()
            .any(|n| self.scratch.in_fields[*n as usize].intersects(probe.fields))
    }

    /// Whether leaf `id` of `index` occurs at all: [`Hits::leaf_strength`] > 0,
    /// without the arithmetic.
    fn leaf_hit(&self, index: &Index, id: u32) -> bool {
        let probe = index.probes[id as usize];
        if !probe.check_tail {
            return self.may_occur(index, id);
        }
        let needles = &index.probe_needles[probe.first as usize..(probe.first + probe.count) as usize];
        let leaf = &index.leaves[id as usize];
        needles.iter().flat_map(|n| self.of_needle(*n)).any(|&(_, s, e)| {
            self.accept(
                leaf,
                s as usize + usize::from(leaf.lead),
                e as usize - usize::from(leaf.trail),
            )
            .is_some()
        })
    }

    /// [`Hits::leaf_strength`] of leaf `id`, or 0 when it does not occur; scored once per leaf
    /// class and call. With thousands of rule sets most leaves repeat a term of others.
    fn leaf_value(&self, index: &Index, id: u32) -> f64 {
        let slot = &self.scratch.memo[index.leaf_class[id as usize] as usize];
        let (stamp, value) = slot.get();
        if stamp == self.scratch.stamp {
            return value;
        }
        let value = if self.may_occur(index, id) {
            self.leaf_strength(&index.leaves[id as usize])
        } else {
            0.0
        };
        slot.set((self.scratch.stamp, value));
        value
    }

    /// [`strength`] of a leaf's occurrences without collecting them (the hot path).
    fn leaf_strength(&self, leaf: &Leaf) -> f64 {
        let mut counts = [0usize; 5];
        if !leaf.check_tail {
            // The padded needle already enforces the anchor: use the per-field counts.
            for n in &leaf.needles {
                let per_field = self.scratch.found[*n as usize].per_field;
                for f in Field::ALL.iter().copied().filter(|f| leaf.fields.contains(*f)) {
                    counts[f as usize] += per_field[f as usize] as usize;
                }
            }
            return counted_strength(&counts) * leaf.boost;
        }
        for &(_, s, e) in leaf.needles.iter().flat_map(|n| self.of_needle(*n)) {
            if let Some(field) = self.accept(
                leaf,
                s as usize + usize::from(leaf.lead),
                e as usize - usize::from(leaf.trail),
            ) {
                counts[field as usize] += 1;
            }
        }
        counted_strength(&counts) * leaf.boost
    }

    /// The field of a needle hit when it satisfies the leaf's anchor and scope.
    fn accept(&self, leaf: &Leaf, s: usize, e: usize) -> Option<Field> {
        let text = &self.doc.text;
        let ok = match leaf.anchor {
            Anchor::Anywhere => true,
            Anchor::WordStart => s == 0 || is_boundary(text[s - 1]),
            Anchor::WordEnd => e == text.len() || is_boundary(text[e]),
            Anchor::WholeWord => {
                (s == 0 || is_boundary(text[s - 1])) && (!leaf.check_tail || whole_word_tail(text, e, self.doc.norm))
            }
        };
        let field = self.doc.field_at(s)?;
        (ok && leaf.fields.contains(field)).then_some(field)
    }
}

fn whole_word_tail(text: &[u8], e: usize, norm: Normalization) -> bool {
    let end = text[e..]
        .iter()
        .position(|&b| is_boundary(b))
        .map_or(text.len(), |p| e + p);
    let tail = &text[e..end];
    norm.inflections().iter().any(|i| i.as_bytes() == tail)
}

/// Saturated strength of a set of occurrences: per field `factor × saturate(n)`.
pub fn strength(occs: &[Occurrence]) -> f64 {
    let mut counts = [0usize; 5];
    for o in occs {
        counts[o.field as usize] += 1;
    }
    counted_strength(&counts)
}

fn counted_strength(counts: &[usize; 5]) -> f64 {
    Field::ALL
        .iter()
        .filter(|f| counts[**f as usize] > 0)
        .map(|f| f.factor() * saturate(counts[*f as usize]))
        .sum()
}

/// One term's part in a rule evaluation, for reasons and explanations.
#[derive(Debug, Clone)]
pub struct TermTrace {
    pub leaf: u32,
    pub negated: bool,
    pub occurrences: Vec<Occurrence>,
    pub value: f64,
}

/// Result of one rule on one call.
#[derive(Debug, Clone)]
pub struct RuleOutcome {
    pub fired: bool,
    pub contribution: f64,
    pub terms: Vec<TermTrace>,
}

struct Eval {
    truth: bool,
    value: f64,
}

/// Evaluates rule `r` against `hits`; `trace` collects term details.
pub fn evaluate(index: &Index, rule: &Rule, hits: &Hits, trace: bool) -> RuleOutcome {
    let mut terms = Vec::new();
    let ev = eval(index, &rule.node, hits, false, trace.then_some(&mut terms));
    let contribution = if ev.truth { rule.weight * ev.value } else { 0.0 };
    RuleOutcome {
        fired: ev.truth && ev.value > 0.0,
        contribution,
        terms,
    }
}

/// The parts of an AND rule that do not hold on `hits`, written back as rule text
/// (a `NOT x` part fails when `x` was found). Empty when the rule is no AND or holds.
pub fn missing_parts(index: &Index, rule: &Rule, hits: &Hits) -> Vec<String> {
    let Node::And(items) = &rule.node else {
        return Vec::new();
    };
    items
        .iter()
        .filter(|item| !eval(index, item, hits, false, None).truth)
        .map(|item| written(index, item))
        .collect()
}

/// A node as rule text, for explanations.
fn written(index: &Index, node: &Node) -> String {
    let join = |items: &[Node], op: &str| {
        let parts: Vec<String> = items.iter().map(|i| written(index, i)).collect();
        format!("({})", parts.join(op))
    };
    match node {
        Node::Leaf(id) => index.leaves[*id as usize].written.clone(),
        Node::And(items) => join(items, " AND "),
        Node::Or(items) => join(items, " OR "),
        Node::Not(inner) => format!("NOT {}", written(index, inner)),
        Node::Near(l, r, k) => format!("({} NEAR/{k} {})", written(index, l), written(index, r)),
    }
}

/// Which leaves occur in one doc ([`Index::leaf_truths`]).
pub struct LeafTruths(Vec<u64>);

impl LeafTruths {
    fn get(&self, id: u32) -> bool {
        self.0[id as usize / 64] & (1 << (id % 64)) != 0
    }
}

/// Whether rule `r` holds on `hits`, as a plain boolean expression: the same
/// truth as [`evaluate`], without weights, saturation or traces.
pub fn holds(index: &Index, rule: &Rule, hits: &Hits, leaves: &LeafTruths) -> bool {
    truth(index, rule.program as usize, hits, leaves)
}

fn truth(index: &Index, at: usize, hits: &Hits, leaves: &LeafTruths) -> bool {
    let op = index.ops[at];
    let children = || {
        let mut i = at + 1;
        std::iter::from_fn(move || {
            (i < op.end as usize).then(|| {
                let child = i;
                i = index.ops[i].end as usize;
                child
            })
        })
    };
    match op.kind {
        OpKind::Leaf => leaves.get(op.arg),
        OpKind::And => children().all(|c| truth(index, c, hits, leaves)),
        OpKind::Or => children().any(|c| truth(index, c, hits, leaves)),
        OpKind::Not => !truth(index, at + 1, hits, leaves),
        OpKind::Near => !positional(index, &index.near_nodes[op.arg as usize], hits).is_empty(),
    }
}

fn eval(index: &Index, node: &Node, hits: &Hits, negated: bool, mut trace: Option<&mut Vec<TermTrace>>) -> Eval {
    match node {
        Node::Leaf(id) => {
            let Some(t) = trace else {
                let value = hits.leaf_value(index, *id);
                return Eval {
                    truth: value > 0.0,
                    value,
                };
            };
            if !hits.may_occur(index, *id) {
                return Eval {
                    truth: false,
                    value: 0.0,
                };
            }
            let leaf = &index.leaves[*id as usize];
            let occs = hits.occurrences(leaf);
            let value = strength(&occs) * leaf.boost;
            let truth = !occs.is_empty();
            if truth {
                t.push(TermTrace {
                    leaf: *id,
                    negated,
                    occurrences: occs,
                    value,
                });
            }
            Eval { truth, value }
        }
        Node::And(items) => {
            let mut value = 0.0;
            let mut truth = true;
            for item in items {
                let ev = eval(index, item, hits, negated, trace.as_deref_mut());
                truth &= ev.truth;
                if !truth && trace.is_none() {
                    return Eval {
                        truth: false,
                        value: 0.0,
                    };
                }
                value += ev.value;
            }
            Eval { truth, value }
        }
        Node::Or(items) => {
            let (mut truth, mut value) = (false, 0.0);
            for item in items {
                let ev = eval(index, item, hits, negated, trace.as_deref_mut());
                if ev.truth {
                    truth = true;
                    value += ev.value;
                }
            }
            Eval { truth, value }
        }
        Node::Not(inner) => {
            let ev = eval(index, inner, hits, !negated, trace);
            Eval {
                truth: !ev.truth,
                value: 0.0,
            }
        }
        Node::Near(..) => {
            let occs = positional(index, node, hits);
            if let Some(t) = trace
                && !occs.is_empty()
            {
                trace_near(index, node, hits, negated, &occs, t);
            }
            Eval {
                truth: !occs.is_empty(),
                value: strength(&occs),
            }
        }
    }
}

/// Occurrences of a positional node (term, OR of positionals, NEAR).
fn positional(index: &Index, node: &Node, hits: &Hits) -> Vec<Occurrence> {
    match node {
        Node::Leaf(id) => hits.occurrences(&index.leaves[*id as usize]),
        Node::Or(items) => items.iter().flat_map(|i| positional(index, i, hits)).collect(),
        Node::Near(l, r, k) => {
            let (left, right) = (positional(index, l, hits), positional(index, r, hits));
            if left.is_empty() || right.is_empty() {
                return Vec::new();
            }
            let (lpos, rpos) = (token_positions(hits.doc, &left), token_positions(hits.doc, &right));
            let mut out: Vec<Occurrence> = left
                .iter()
                .zip(&lpos)
                .filter(|(_, p)| has_near(&rpos, **p, *k))
                .map(|(o, _)| *o)
                .collect();
            out.extend(
                right
                    .iter()
                    .zip(&rpos)
                    .filter(|(_, p)| has_near(&lpos, **p, *k))
                    .map(|(o, _)| *o),
            );
            out
        }
        Node::And(_) | Node::Not(_) => Vec::new(),
    }
}

/// (field, token index) of each occurrence.
fn token_positions(doc: &Doc, occs: &[Occurrence]) -> Vec<(Field, usize)> {
    occs.iter().map(|o| (o.field, doc.token_index(o.start))).collect()
}

/// Whether `others` has a position in the same field within `k` tokens of `at`.
fn has_near(others: &[(Field, usize)], at: (Field, usize), k: u32) -> bool {
    others.iter().any(|&(f, p)| f == at.0 && p.abs_diff(at.1) <= k as usize)
}

/// Records the terms that took part in a satisfied NEAR.
fn trace_near(index: &Index, node: &Node, hits: &Hits, negated: bool, occs: &[Occurrence], out: &mut Vec<TermTrace>) {
    let mut leaves = Vec::new();
    collect_leaves(node, &mut leaves);
    for id in leaves {
        let mine: Vec<Occurrence> = hits
            .occurrences(&index.leaves[id as usize])
            .into_iter()
            .filter(|o| occs.contains(o))
            .collect();
        if !mine.is_empty() {
            let value = strength(&mine);
            out.push(TermTrace {
                leaf: id,
                negated,
                occurrences: mine,
                value,
            });
        }
    }
}

fn collect_leaves(node: &Node, out: &mut Vec<u32>) {
    match node {
        Node::Leaf(id) => out.push(*id),
        Node::And(items) | Node::Or(items) => items.iter().for_each(|i| collect_leaves(i, out)),
        Node::Not(inner) => collect_leaves(inner, out),
        Node::Near(l, r, _) => {
            collect_leaves(l, out);
            collect_leaves(r, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn call(title: &str, summary: &str, text: &str) -> Call {
        let mut c = Call::new("test", format!("https://t.example/{title}"), title, Utc::now());
        c.summary = summary.into();
        c.text = text.into();
        c
    }

    fn specs(exprs: &[&str]) -> Vec<RuleSpec> {
        exprs
            .iter()
            .map(|e| RuleSpec::new(*e, 1.0, "test", 0).expect("test rule parses"))
            .collect()
    }

    /// Score of a single rule (weight 1) on a call.
    fn score(expr: &str, c: &Call) -> f64 {
        let index = Index::build(&[&specs(&[expr])]);
        let doc = Doc::new(c);
        let hits = index.search(&doc);
        evaluate(&index, &index.profiles[0][0], &hits, false).contribution
    }

    fn text(t: &str) -> Call {
        call("Aufruf", "", t)
    }

    #[test]
    fn compounds_hit_inside_words() {
        assert!(score("Glasfaser", &text("Der Glasfaserausbau beginnt")) > 0.0);
        assert!(score("Radweg", &text("Ausbau des Fahrradwegenetzes")) > 0.0);
        assert!(score("Schulen", &text("Digitale Schule")) > 0.0);
    }

    #[test]
    fn whole_word_flag_keeps_short_terms_out_of_other_words() {
        assert_eq!(score("=Rad", &text("Radar und 30 Grad")), 0.0);
        assert!(score("=Rad", &text("Das Rad")) > 0.0);
        assert!(score("=Rad", &text("des Rades")) > 0.0);
        assert!(
            score("Rad", &text("Radar")) > 0.0,
            "without the flag it is a compound hit"
        );
    }

    #[test]
    fn umlaut_folding_meets_both_spellings() {
        assert!(score("Förderung", &text("FOERDERUNG von Projekten")) > 0.0);
        assert!(score("Foerderung", &text("Förderung")) > 0.0);
        assert!(score("Digitalisierung", &text("Digitali-\nsierung der Ämter")) > 0.0);
    }

    #[test]
    fn wildcards_anchor_at_word_edges() {
        assert!(score("digital*", &text("Digitalisierung")) > 0.0);
        assert_eq!(score("digital*", &text("Predigitalphase")), 0.0);
        assert!(score("*förderung", &text("Breitbandförderung")) > 0.0);
        assert_eq!(score("*förderung", &text("Förderungen")), 0.0);
    }

    #[test]
    fn phrases_need_adjacent_words() {
        assert!(
            score("\"weiße Flecken\"", &text("Erschließung weißer Flecken")) > 0.0,
            "inflected inner word"
        );
        assert!(score("\"weiße Flecken\"", &text("die weiße Flecken im Netz")) > 0.0);
        assert_eq!(score("\"weiße Flecken\"", &text("weiße Wände und Flecken")), 0.0);
    }

    #[test]
    fn proximity_counts_words_within_a_field() {
        assert!(score("Glasfaser NEAR/3 Schule", &text("Glasfaser für jede Schule")) > 0.0);
        assert_eq!(
            score("Glasfaser NEAR/2 Schule", &text("Glasfaser für die neue Schule")),
            0.0
        );
        assert!(score("Schule NEAR/3 Glasfaser", &text("Schulen bekommen Glasfaser")) > 0.0);
        assert_eq!(
            score("Glasfaser NEAR/5 Schule", &call("Glasfaser", "Schule", "")),
            0.0,
            "different fields"
        );
        assert!(score("(Glasfaser OR Gigabit) NEAR/2 Schule", &text("Gigabit für Schulen")) > 0.0);
    }

    #[test]
    fn field_scopes_and_factors() {
        let c = call("Glasfaser", "Gigabit", "Breitband");
        assert_eq!(score("Glasfaser", &c), 3.0);
        assert_eq!(score("Gigabit", &c), 2.0);
        assert_eq!(score("Breitband", &c), 1.0);
        assert_eq!(score("title:Breitband", &c), 0.0);
        assert_eq!(score("text:Breitband", &c), 1.0);
        let mut c = c;
        c.funder = Some("Bundesministerium für Digitales".into());
        c.applicants
            .categories
            .insert(crate::model::ApplicantCategory::Unternehmen);
        assert_eq!(score("funder:Digitales", &c), 1.0);
        assert_eq!(score("applicants:unternehmen", &c), 1.0);
        assert_eq!(score("Digitales", &c), 0.0, "unscoped terms skip funder and applicants");
    }

    #[test]
    fn repeated_hits_saturate_below_one_title_hit() {
        let many = "Digitalisierung ".repeat(40);
        let in_text = score("Digitalisierung", &text(&many));
        let in_title = score("Digitalisierung", &call("Digitalisierung", "", ""));
        assert!(in_text < in_title, "{in_text} vs {in_title}");
        assert!(in_text > score("Digitalisierung", &text("Digitalisierung")));
        assert_eq!(saturate(1), 1.0);
        assert_eq!(saturate(1000), SATURATION_CAP);
    }

    #[test]
    fn not_and_or_semantics() {
        let c = text("Breitband für Privathaushalte");
        assert_eq!(score("Breitband AND NOT Privathaushalt", &c), 0.0);
        assert!(score("Breitband AND NOT Gewerbegebiet", &c) > 0.0);
        assert_eq!(score("Breitband OR Glasfaser", &c), 1.0);
        assert_eq!(score("Breitband AND Glasfaser", &c), 0.0);
        assert_eq!(score("Breitband^2", &c), 2.0);
    }

    #[test]
    fn candidates_only_rules_with_a_found_positive_term() {
        let index = Index::build(&[&specs(&["Glasfaser", "Radweg AND NOT Glasfaser"]), &specs(&["Kita"])]);
        let doc = Doc::new(&text("Glasfaser"));
        assert_eq!(index.candidates(&index.search(&doc)), vec![(0, 0)]);
    }

    /// The same hits from the NFA that starts a pass and from the DFA that takes over.
    #[test]
    fn the_dfa_takes_over_with_the_same_hits() {
        let index = Index::build(&[
            &specs(&["Glasfaser", "Radweg AND NOT Glasfaser"]),
            &specs(&["Kita OR Schule", "\"digitale Bildung\""]),
        ]);
        let doc = Doc::new(&text(
            "Glasfaser für Kitas und Schulen; digitale Bildung, ein Radweg zur Schule und Glasfaserausbau.",
        ));
        let seen = |hits: &Hits| (hits.scratch.hits.clone(), hits.scratch.touched.clone());
        let by_nfa = seen(&index.search(&doc));
        assert!(index.scanner.dfa.get().is_none(), "a short pass needs no DFA");
        let long = Doc::new(&text(&"Radweg und Kita. ".repeat(DFA_AFTER_BYTES / 16)));
        index.search(&long);
        let by_dfa = seen(&index.search(&doc));
        assert!(
            index.scanner.dfa.get().is_some_and(Option::is_some),
            "the DFA took over"
        );
        assert!(!by_nfa.0.is_empty());
        assert_eq!(by_dfa, by_nfa);
    }

    #[test]
    fn snippets_quote_the_original() {
        let c = text("Im Rahmen des Programms wird der Glasfaserausbau in unterversorgten Gebieten gefördert.");
        let index = Index::build(&[&specs(&["Glasfaser"])]);
        let doc = Doc::with_sources(&c);
        let hits = index.search(&doc);
        let out = evaluate(&index, &index.profiles[0][0], &hits, true);
        let snip = doc.snippet(&out.terms[0].occurrences[0]).unwrap();
        assert!(snip.contains("der [Glasfaser]ausbau"), "{snip}");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn german() -> impl Strategy<Value = String> {
            "[a-zA-ZäöüÄÖÜß0-9 ,.„“\n\u{0308}\u{00ad}–-]{0,120}"
        }

        /// Needles as the index pads them: a short folded word, maybe with boundary spaces.
        fn needle() -> impl Strategy<Value = String> {
            ("[ ]?", "[abeinrsuö]{1,4}( [abeinrs]{1,3})?", "[ ]?").prop_map(|(l, w, t)| format!("{l}{w}{t}"))
        }

        /// (needle, start, end, field) of every overlapping hit, by the crate's own iterator.
        fn reference_hits(patterns: &[String], doc: &Doc) -> Vec<(u32, u32, u32, Option<Field>)> {
            let ac = aho_corasick::AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(patterns)
                .unwrap();
            ac.find_overlapping_iter(&doc.text)
                .map(|m| {
                    (
                        m.pattern().as_u32(),
                        m.start() as u32,
                        m.end() as u32,
                        doc.field_at(m.start()),
                    )
                })
                .collect()
        }

        fn scanned<A: Automaton>(aut: &A, patterns: &[String], doc: &Doc) -> Scratch {
            let mut scratch = Scratch::take(patterns.len(), 0);
            let longest = patterns.iter().map(String::len).max().unwrap_or(0);
            scan(aut, longest, doc, &mut scratch);
            scratch
        }

        /// The scan's hits, per-field counts and grouping against the reference.
        fn same_hits(
            mut scratch: Scratch,
            expected: &[(u32, u32, u32, Option<Field>)],
            needles: usize,
        ) -> Result<(), TestCaseError> {
            let found: Vec<(u32, u32, u32)> = expected.iter().map(|h| (h.0, h.1, h.2)).collect();
            prop_assert_eq!(&scratch.found_order, &found);
            for (n, f) in scratch.found.iter().enumerate().take(needles) {
                for field in Field::ALL.iter().copied() {
                    let count = expected
                        .iter()
                        .filter(|h| h.0 == n as u32 && h.3 == Some(field))
                        .count();
                    prop_assert_eq!(f.per_field[field as usize] as usize, count);
                    prop_assert_eq!(scratch.in_fields[n].contains(field), count > 0);
                }
            }
            scratch.group_by_needle();
            for n in 0..needles as u32 {
                let f = scratch.found[n as usize];
                let of_needle: Vec<(u32, u32, u32)> = found.iter().copied().filter(|h| h.0 == n).collect();
                prop_assert_eq!(&scratch.hits[f.from as usize..f.to as usize], of_needle.as_slice());
            }
            scratch.give_back();
            Ok(())
        }

        proptest! {
            #[test]
            fn word_starts_count_the_words_begun_up_to_a_position(
                text in "[ a\n\x00!]{0,200}",
                pos in 0usize..220,
            ) {
                let b = text.as_bytes();
                let naive = (0..b.len().min(pos + 1))
                    .filter(|&i| !is_boundary(b[i]) && (i == 0 || is_boundary(b[i - 1])))
                    .count();
                prop_assert_eq!(WordStarts::new(b).up_to(pos), naive);
            }

            #[test]
            fn the_scan_finds_every_overlapping_hit_in_its_field(
                patterns in prop::collection::btree_set(needle(), 1..12),
                title in german(),
                summary in german(),
                text in german(),
            ) {
                let patterns: Vec<String> = patterns.into_iter().collect();
                let doc = Doc::from_fields(&title, &summary, &text, Normalization::default());
                let expected = reference_hits(&patterns, &doc);
                let dfa = dfa::DFA::builder().match_kind(MatchKind::Standard).prefilter(false).build(&patterns).unwrap();
                let nfa = contiguous::NFA::builder().match_kind(MatchKind::Standard).prefilter(false).build(&patterns).unwrap();
                for scratch in [scanned(&dfa, &patterns, &doc), scanned(&nfa, &patterns, &doc)] {
                    same_hits(scratch, &expected, patterns.len())?;
                }
            }

            #[test]
            fn snippets_never_panic_for_any_occurrence(
                title in german(),
                summary in any::<String>(),
                field in 0usize..5,
                start in 0usize..400,
                len in 0usize..60,
            ) {
                let doc = Doc::with_sources(&call(&title, &summary, ""));
                let occ = Occurrence { field: Field::ALL[field], start, end: start + len };
                if let Some(snip) = doc.snippet(&occ) {
                    prop_assert!(snip.contains('[') && snip.contains(']'), "{}", snip);
                }
            }

            #[test]
            fn snippets_of_real_hits_quote_the_original_around_the_term(
                before in german(),
                after in german(),
                term in "[A-Za-zäöüß]{3,10}",
            ) {
                let text = format!("{before} {term} {after}");
                let index = Index::build(&[&specs(&[term.as_str()])]);
                let doc = Doc::with_sources(&call("Aufruf", "", &text));
                let hits = index.search(&doc);
                let out = evaluate(&index, &index.profiles[0][0], &hits, true);
                for t in &out.terms {
                    for occ in &t.occurrences {
                        let snip = doc.snippet(occ).expect("a hit in the text has a snippet");
                        let quoted = &snip[snip.find('[').unwrap() + 1..snip.find(']').unwrap()];
                        prop_assert!(
                            crate::model::text::fold(quoted).contains(&crate::model::text::fold(&term)[..3]),
                            "{:?} in {:?}", quoted, snip
                        );
                    }
                }
            }
        }
    }
}
