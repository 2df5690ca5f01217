//! Eligible applicants (Antragsberechtigte) from German text or a label value.
//!
//! Wordings map to [`ApplicantCategory`] through one table (longer phrases first, so
//! that "kommunale Unternehmen" is a public body, not a company, and "Zweckverbände"
//! not a Verband); the FDB codes (`kommune`, `oeffentliche_einrichtung`,
//! `verband_vereinigung`, …) are in the table too.
//!
//! Which text is read: when the text names applicants ("Antragsberechtigt sind",
//! "Antragsberechtigte", "Zuwendungsempfänger", "Wer kann beantragen?", "richtet sich
//! an", "Sie als Kommune", …), only those sentences and the lines under such a heading
//! count — a page mentioning "Unternehmen" elsewhere does not make companies eligible.
//! A text without such wording counts as a whole only when it is short (a label value
//! like "Kommune, Öffentliche Einrichtung"); a long text without it states nothing.
//! Negative sentences ("… sind nicht antragsberechtigt", "richtet sich nicht an
//! Hochschulen") remove their categories (up to a "sondern"). `raw` keeps the matched
//! phrases, adjacent ones joined ("Gemeinden und Gemeindeverbände").

use crate::model::pattern::Pattern;
use std::collections::BTreeSet;

use regex::{Regex, RegexSet, RegexSetBuilder};

use super::bounded::{Bounded, Lazy, WIDE_CACHE_BYTES, compact, widen};
use super::text::{plain_spaces, sentences};
use crate::model::{ApplicantCategory, Applicants};

use ApplicantCategory as C;

/// (pattern, category), most specific first. Patterns are matched case-insensitively.
const TERMS: &[(&str, ApplicantCategory)] = &[
    (r"volkshochschulen?", C::Bildung),
    (r"kirchengemeinden?|religionsgemeinschaften?|kirchen\b", C::Sonstige),
    (
        r"kommunale[nr]?\s+(?:unternehmen|eigenbetriebe?n?|betriebe|gesellschaften|einrichtungen|anstalten)",
        C::OeffentlicheEinrichtung,
    ),
    (
        r"(?:körperschaft|körperschaften|anstalt|anstalten|stiftung|stiftungen)\s+des\s+öffentlichen\s+rechts",
        C::OeffentlicheEinrichtung,
    ),
    (
        r"(?:öffentliche|oeffentliche)[nr]?[\s_]+(?:einrichtung(?:en)?|träger|stellen)",
        C::OeffentlicheEinrichtung,
    ),
    (
        r"eigenbetriebe?n?\b|landesbetriebe?\b|kammern\b|handwerkskammern?|industrie-\s+und\s+handelskammern?",
        C::OeffentlicheEinrichtung,
    ),
    (r"zweckverb(?:a|ä)nd(?:e|en)?\b", C::Zweckverband),
    (r"(?:kommunale[n]?\s+)?gebietskörperschaft(?:en)?", C::Kommune),
    (r"gemeindeverb(?:a|ä)nd(?:e|en)?\b", C::Kommune),
    (
        r"(?:kreisangehörige|kreisfreie)[n]?\s+(?:städte|kommunen|gemeinden)",
        C::Kommune,
    ),
    (r"sie\s+als\s+(?:kommune|gemeinde|stadt)", C::Kommune),
    (r"\bkommunen?\b|\bgemeinden?\b|\bstädte\b|\bstädten\b", C::Kommune),
    (r"\b(?:land)?kreise?n?\b|\blandkreis\b", C::Kreis),
    (r"verband[/_]vereinigung", C::Verein),
    (
        r"gemeinnützige[nr]?\s+(?:organisationen|träger|einrichtungen|gesellschaften|körperschaften|vereine)",
        C::Verein,
    ),
    (
        r"verein(?:e|en)?\b|vereinigung(?:en)?\b|verb(?:a|ä)nd(?:e|en)?\b|stiftungen?\b|initiativen\b",
        C::Verein,
    ),
    (
        r"existenzgr(?:ü|ue)nder(?:/?in|innen)?|gr(?:ü|ue)nderinnen|\bgründer\b",
        C::Unternehmen,
    ),
    (
        r"unternehmen\b|\bkmu\b|start-?ups?\b|gewerbetreibende[n]?|freiberufler(?:innen)?|selbst(?:st)?ändige[n]?|betriebe\b",
        C::Unternehmen,
    ),
    (
        r"privatpersonen?|privatperson|bürgerinnen\s+und\s+bürger|\bbürger(?:innen)?\b|natürliche\s+personen|privathaushalte|eigentümer(?:innen)?\b|hauseigentümer|wohnungseigentümer",
        C::Privatperson,
    ),
    (r"hochschulen?\b|universitäten?\b|fachhochschulen?", C::Hochschule),
    // English wordings of EU (SEDIA) records
    (
        r"\b(?:local|regional|municipal)\s+(?:and\s+regional\s+)?(?:authorities|authority|governments?)\b|\bmunicipalit(?:y|ies)\b|\bcities\b",
        C::Kommune,
    ),
    (
        r"\bpublic\s+(?:authorities|authority|bodies|body|entities|entity|administrations?|sector\s+bodies)\b",
        C::OeffentlicheEinrichtung,
    ),
    (
        r"\b(?:ngos?|non-?governmental\s+organi[sz]ations?|non-?profit\s+organi[sz]ations?|civil\s+society\s+organi[sz]ations?|associations)\b",
        C::Verein,
    ),
    (
        r"\b(?:smes?|companies|enterprises|businesses|private\s+(?:entities|companies|sector))\b",
        C::Unternehmen,
    ),
    (
        r"\b(?:universities|higher\s+education\s+institutions?)\b",
        C::Hochschule,
    ),
    (
        r"\bresearch\s+(?:organi[sz]ations?|centres?|centers?|institutes?)\b",
        C::Forschung,
    ),
    (
        r"forschungseinrichtung(?:en)?|forschungsinstitut(?:e|en)?|forschungsorganisation(?:en)?",
        C::Forschung,
    ),
    (
        r"bildungseinrichtung(?:en)?|bildungsträger\b|\bschulen?\b|schulträger\b|kindertages(?:stätten|einrichtungen)|\bkitas?\b",
        C::Bildung,
    ),
    (
        r"genossenschaften?\b|juristische\s+personen|krankenhäuser|landwirte|sonstige\b",
        C::Sonstige,
    ),
];

/// The terms compiled: each exactly, and all of them widened (see [`bounded`](super::bounded))
/// into one set that tells, in one fast pass, which terms can occur in a text at all.
#[derive(Clone)]
struct Terms {
    /// Compiled when the gate first names them: a text names few of the terms.
    exact: Vec<(Lazy, ApplicantCategory)>,
    gate: RegexSet,
}

static TERM_REGEXES: Pattern<Terms> = Pattern::new(|| Terms {
    exact: TERMS
        .iter()
        .map(|(pattern, category)| (Lazy::new(&format!("(?i){pattern}")), *category))
        .collect(),
    gate: RegexSetBuilder::new(TERMS.iter().map(|(pattern, _)| format!("(?i){}", widen(pattern))))
        .dfa_size_limit(WIDE_CACHE_BYTES)
        .build()
        .expect("applicant term set"),
});

static ANCHOR: Pattern<Bounded> = Pattern::new(|| {
    Bounded::new(
        r"(?i)antragsberechtigt|antragsteller|förderberechtigt|foerderberechtigt|zuwendungsempfänger|wer\s+kann\s+(?:beantragen|anträge|gefördert)|wer\s+wird\s+gefördert|wer\s+ist\s+antrags|richtet\s+sich\s+(?:nicht\s+)?(?:\w+\s+)?an|sie\s+als\s+\w+|zielgruppe|fördernehmer|anträge\s+stellen\s+können|können\s+anträge\s+stellen|teilnahmeberechtigt|bewerben\s+können|\beligible\b|\bapplicants?\b|who\s+can\s+apply|open\s+to|target\s+groups?|beneficiaries",
    )
    .expect("applicant anchor regex")
});

static NEGATION: Pattern<Regex> = Pattern::new(|| {
    compact(
        r"(?i)nicht\s+(?:antrags|förder|zuwendungs|teilnahme)berechtigt|nicht\s+gefördert|richtet\s+sich\s+nicht|ausgeschlossen|keine\s+anträge|nicht\s+antragsfähig|können\s+nicht",
    )
    .expect("applicant negation regex")
});

static CONTRAST: Pattern<Bounded> =
    Pattern::new(|| Bounded::new(r"(?i)\b(?:sondern|jedoch|aber)\b").expect("contrast regex"));

static JOINER: Pattern<Regex> = Pattern::new(|| {
    compact(r"(?i)^\s*(?:,|und|oder|sowie|bzw\.|/|,\s*und|and|or|,\s*and)?\s*$").expect("joiner regex")
});

/// A text this short without anchor wording is a label value and read as a whole.
const LABEL_VALUE_WORDS: usize = 25;

/// Eligible applicants from free text or a label value; empty when the text does not say.
pub fn parse_applicants(text: &str) -> Applicants {
    let text = plain_spaces(text);
    let anchored = ANCHOR.get().is_match(&text);
    if !anchored && text.split_whitespace().count() > LABEL_VALUE_WORDS {
        return Applicants::default();
    }
    let mut found = Found::default();
    let mut under_heading = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let line_anchored = ANCHOR.get().is_match(line);
        for sentence in sentences(line) {
            if !anchored || under_heading || ANCHOR.get().is_match(sentence) {
                found.read_sentence(sentence);
            }
        }
        // "Antragsberechtigte" / "Wer kann beantragen?" as a heading covers what follows it.
        let heading = line_anchored && line.split_whitespace().count() <= 5;
        under_heading = heading || (under_heading && (line.starts_with("- ") || line.ends_with(':')));
    }
    found.finish()
}

#[derive(Default)]
struct Found {
    positive: Vec<(ApplicantCategory, String)>,
    negative: BTreeSet<ApplicantCategory>,
}

impl Found {
    fn read_sentence(&mut self, sentence: &str) {
        for clause in sentence.split(';') {
            match NEGATION.get().find(clause) {
                None => self.read_positive(clause),
                Some(negation) => {
                    // "… richtet sich nicht an Hochschulen, sondern an Kommunen": after the contrast it is positive again.
                    let contrast = CONTRAST.get().find_at(clause, negation.end()).map(|m| m.start());
                    let (negated, rest) = clause.split_at(contrast.unwrap_or(clause.len()));
                    self.negative.extend(matches(negated).into_iter().map(|(_, _, c)| c));
                    self.read_positive(rest);
                }
            }
        }
    }

    fn read_positive(&mut self, clause: &str) {
        // (index in `positive` holding the running phrase, end of the last term)
        let mut running: Option<(usize, usize)> = None;
        for (start, end, category) in matches(clause) {
            match running {
                Some((holder, previous_end))
                    if previous_end <= start && JOINER.get().is_match(&clause[previous_end..start]) =>
                {
                    self.positive[holder].1.push_str(&clause[previous_end..end]);
                    self.positive.push((category, String::new()));
                    running = Some((holder, end));
                }
                _ => {
                    self.positive.push((category, clause[start..end].to_string()));
                    running = Some((self.positive.len() - 1, end));
                }
            }
        }
    }

    fn finish(self) -> Applicants {
        let negative = self.negative;
        let categories = self
            .positive
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| !negative.contains(c))
            .collect();
        let mut raw: Vec<String> = Vec::new();
        for (_, phrase) in self.positive {
            let tidy = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
            let still_eligible = matches(&tidy).iter().any(|(_, _, c)| !negative.contains(c));
            if still_eligible && !raw.contains(&tidy) {
                raw.push(tidy);
            }
        }
        Applicants { categories, raw }
    }
}

/// Every applicant term in `text` as (start, end, category), in text order; a
/// longer, earlier-listed term claims its span before shorter ones.
fn matches(text: &str) -> Vec<(usize, usize, ApplicantCategory)> {
    let mut hits: Vec<(usize, usize, ApplicantCategory)> = Vec::new();
    let terms = TERM_REGEXES.get();
    // In term order: the set's indices ascend.
    for (regex, category) in terms.gate.matches(text).iter().map(|i| &terms.exact[i]) {
        for m in regex.get().find_iter(text) {
            if !hits.iter().any(|(s, e, _)| m.start() < *e && *s < m.end()) {
                hits.push((m.start(), m.end(), *category));
            }
        }
    }
    hits.sort_by_key(|(s, _, _)| *s);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact terms compile on first use; each one must, whichever text reaches it.
    #[test]
    fn every_exact_term_compiles() {
        let terms = TERM_REGEXES.get();
        assert_eq!(terms.exact.len(), TERMS.len());
        for (term, _) in &terms.exact {
            term.get();
        }
    }

    /// (text, expected categories, expected raw phrases).
    type Case = (&'static str, &'static [ApplicantCategory], &'static [&'static str]);

    const CASES: &[Case] = &[
        (
            "Antragsberechtigt sind Gemeinden und Gemeindeverbände in Nordrhein-Westfalen.",
            &[C::Kommune],
            &["Gemeinden und Gemeindeverbände"],
        ),
        (
            "Antragsberechtigt sind Städte, Kreise und Gemeinden.",
            &[C::Kommune, C::Kreis],
            &["Städte, Kreise und Gemeinden"],
        ),
        (
            "Kommune, Öffentliche Einrichtung",
            &[C::Kommune, C::OeffentlicheEinrichtung],
            &["Kommune, Öffentliche Einrichtung"],
        ),
        (
            "kommune, oeffentliche_einrichtung, verband_vereinigung",
            &[C::Kommune, C::OeffentlicheEinrichtung, C::Verein],
            &["kommune, oeffentliche_einrichtung, verband_vereinigung"],
        ),
        (
            "unternehmen, privatperson, hochschule, forschungseinrichtung, bildungseinrichtung, existenzgruenderin",
            &[C::Unternehmen, C::Privatperson, C::Hochschule, C::Forschung, C::Bildung],
            &["unternehmen, privatperson, hochschule, forschungseinrichtung, bildungseinrichtung, existenzgruenderin"],
        ),
        (
            "Verband/Vereinigung, Existenzgründer/in",
            &[C::Verein, C::Unternehmen],
            &["Verband/Vereinigung, Existenzgründer/in"],
        ),
        (
            "Wenn Sie als Kommune Ihre Innenstadt beleben wollen, können Sie einen Zuschuss erhalten.",
            &[C::Kommune],
            &["Sie als Kommune"],
        ),
        (
            "Antragsberechtigt sind kommunale Gebietskörperschaften, Zweckverbände und kommunale Eigenbetriebe.",
            &[C::Kommune, C::Zweckverband, C::OeffentlicheEinrichtung],
            &["kommunale Gebietskörperschaften, Zweckverbände und kommunale Eigenbetriebe"],
        ),
        (
            "Zuwendungsempfänger sind kreisangehörige Städte und Gemeinden sowie kreisfreie Städte und Landkreise.",
            &[C::Kommune, C::Kreis],
            &["kreisangehörige Städte und Gemeinden sowie kreisfreie Städte und Landkreise"],
        ),
        (
            "Antragsberechtigt sind Körperschaften und Anstalten des öffentlichen Rechts.",
            &[C::OeffentlicheEinrichtung],
            &["Anstalten des öffentlichen Rechts"],
        ),
        (
            "Antragsberechtigt sind kommunale Unternehmen mit mindestens 25 Prozent kommunaler Beteiligung.",
            &[C::OeffentlicheEinrichtung],
            &["kommunale Unternehmen"],
        ),
        (
            "Antragsberechtigt sind Vereine, Verbände, gemeinnützige Organisationen und Stiftungen.",
            &[C::Verein],
            &["Vereine, Verbände, gemeinnützige Organisationen und Stiftungen"],
        ),
        (
            "Gefördert werden KMU, Start-ups und Gewerbetreibende.\nAntragsberechtigt sind Unternehmen.",
            &[C::Unternehmen],
            &["Unternehmen"],
        ),
        (
            "Antragsberechtigt sind Privatpersonen sowie Bürgerinnen und Bürger.",
            &[C::Privatperson],
            &["Privatpersonen sowie Bürgerinnen und Bürger"],
        ),
        (
            "Antragsberechtigt sind Eigentümer von Wohngebäuden.",
            &[C::Privatperson],
            &["Eigentümer"],
        ),
        (
            "Antragsberechtigt sind Hochschulen, Universitäten und Forschungseinrichtungen.",
            &[C::Hochschule, C::Forschung],
            &["Hochschulen, Universitäten und Forschungseinrichtungen"],
        ),
        (
            "Antragsberechtigt sind Schulen und andere Bildungseinrichtungen.",
            &[C::Bildung],
            &["Schulen", "Bildungseinrichtungen"],
        ),
        (
            "Antragsberechtigt sind Genossenschaften.",
            &[C::Sonstige],
            &["Genossenschaften"],
        ),
        (
            "Antragsberechtigt sind Kommunen und Unternehmen. Hochschulen sind nicht antragsberechtigt.",
            &[C::Kommune, C::Unternehmen],
            &["Kommunen und Unternehmen"],
        ),
        (
            "Der Aufruf richtet sich an Kommunen. Der Aufruf richtet sich nicht an Hochschulen, sondern an Vereine.",
            &[C::Kommune, C::Verein],
            &["Kommunen", "Vereine"],
        ),
        (
            "Antragsberechtigte\n- Kommunen\n- Zweckverbände\nFördergegenstand\n- Unternehmen erhalten Beratung",
            &[C::Kommune, C::Zweckverband],
            &["Kommunen", "Zweckverbände"],
        ),
        (
            "Die Volkshochschulen der Kreise sind antragsberechtigt.",
            &[C::Bildung, C::Kreis],
            &["Volkshochschulen", "Kreise"],
        ),
        // EU records (SEDIA) in English
        (
            "Eligible applicants are local and regional authorities, NGOs and universities.",
            &[C::Kommune, C::Verein, C::Hochschule],
            &["local and regional authorities, NGOs and universities"],
        ),
        (
            "The call is open to public bodies and SMEs established in an EU Member State.",
            &[C::OeffentlicheEinrichtung, C::Unternehmen],
            &["public bodies and SMEs"],
        ),
        // negative cases
        ("", &[], &[]),
        ("Zuschuss für den Ausbau von Radwegen", &[], &[]),
        (
            "Das Programm stärkt die Wirtschaft: Unternehmen, Hochschulen und Kommunen arbeiten in Netzwerken zusammen, damit neue Produkte entstehen, die Region attraktiver wird, Fachkräfte bleiben und die Digitalisierung in allen Bereichen des Lebens vorankommt, auch dort, wo bisher wenig passiert ist.",
            &[],
            &[],
        ),
    ];

    #[test]
    fn applicant_cases() {
        for (text, categories, raw) in CASES {
            let applicants = parse_applicants(text);
            let expected: BTreeSet<_> = categories.iter().copied().collect();
            assert_eq!(applicants.categories, expected, "categories of {text:?}");
            assert_eq!(applicants.raw, *raw, "raw of {text:?}");
        }
    }
}
