//! Calls that are over although no date says so: the wording of the page
//! ("Aufruf 2021, abgeschlossen", "Mittel ausgeschöpft", "Programmlaufzeit
//! 2017–2020") is the only sign on many stale programme pages.
//!
//! [`closed_by_wording`] looks for three kinds of evidence:
//! - a closing phrase whose subject is the call or the application
//!   ("Der Förderaufruf ist abgeschlossen", "(ausgelaufen)", "Mittel
//!   ausgeschöpft", "Antragstellung nicht mehr möglich", "beendet");
//! - a call year before the evaluation year ("Aufruf 2021");
//! - a runtime that ended before the evaluation year ("Programmlaufzeit 2017–2020").
//!
//! False closures are avoided by the sentence around a phrase: conditions and
//! modal verbs ("bis die Mittel ausgeschöpft sind", "Projekte müssen
//! abgeschlossen sein", "nach Ablauf der Frist ist eine Antragstellung nicht
//! mehr möglich"), inflected adjectives ("abgeschlossene Projekte") and a
//! future date anywhere in the text ("Die Antragstellung ist bis 31.03.2027
//! möglich") keep the call open. The caller decides only when no future
//! cut-off is known (see `matching::criteria`).

use crate::model::pattern::Pattern;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{Call, CallStatus};

/// Why a call counts as closed from its wording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ClosedWording {
    /// A sentence says the call or its money is over; `quote` is its wording (at most ~80 characters).
    Phrase { quote: String },
    /// The latest call year named lies before the evaluation year ("Aufruf 2021").
    CallYear { year: i32 },
    /// The programme's runtime ended before the evaluation year ("Programmlaufzeit 2017–2020").
    RuntimeEnded { year: i32 },
}

impl fmt::Display for ClosedWording {
    /// German, e.g. "laut Text beendet: „Der Aufruf ist abgeschlossen“".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosedWording::Phrase { quote } => write!(f, "laut Text beendet: „{quote}“"),
            ClosedWording::CallYear { year } => write!(f, "Aufruf {year}, keine spätere Runde genannt"),
            ClosedWording::RuntimeEnded { year } => write!(f, "Programmlaufzeit endete {year}"),
        }
    }
}

/// Cheap gate: only texts with one of these stems are read sentence by sentence.
static TRIGGER: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)abgeschlossen|beendet|ausgelaufen|abgelaufen|geschlossen|eingestellt|ausgeschöpft|ausgeschoepft|nicht\s+mehr|keine\s+(?:\w+\s+)?(?:anträge|antraege|bewerbungen)|endete|closed|no\s+longer|no\s+(?:further|more|new)\s+(?:applications|calls)|nicht\s+möglich|abzusehen|ended|discontinued|vorgesehen|geplant|ausgesetzt|gestoppt|(?:vollständig|vollstaendig|bereits)\s+gebunden|nicht\s+(?:mehr\s+)?(?:fort|weiter)|kraft\s+getreten|kraft\s+gesetzt|auslaufphase|wird\s+es\s+(?:\w+\s+)?nicht|es\s+wird\s+kein|topf|töpfe|stopp|cut-?off|verausgabt|(?:vollständig|vollstaendig|komplett|restlos)\s+(?:vergeben|bewilligt)|mittel\s+sind\s+(?:bereits\s+)?(?:vergeben|bewilligt)|verstrichen|vorbei|vorüber|vorueber|vergriffen|verbraucht|nicht\s+in\s+sicht|nicht\s+(?:mehr\s+)?(?:verlängert|verlaengert|neu\s+aufgelegt)|wound\s+down|nicht\s+gestellt|nicht\s+eingereicht|preisverleihung|stehen\s+fest|steht\s+fest|ist\s+gefallen|überschritten|ueberschritten",
    )
    .expect("closure trigger regex")
});

/// A participle that closes when its subject is the call ("ist abgeschlossen").
/// Whole words only: "abgeschlossene Projekte" is an adjective.
static PARTICIPLE: Pattern<Regex> = Pattern::new(|| {
    Regex::new(r"(?i)\b(?:abgeschlossen|beendet|ausgelaufen|abgelaufen|geschlossen|eingestellt|endete|endeten|verstrichen|überschritten|ueberschritten|vorbei|vorüber|vorueber)\b")
        .expect("participle regex")
});

/// The participle standing alone in brackets or after a dash or label: "(abgeschlossen)", "Status: beendet".
static BARE: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)(?:\(\s*|[–—-]\s+|,\s*|status:?\s+)(?:abgeschlossen|beendet|ausgelaufen|abgelaufen|geschlossen|eingestellt|closed)\s*(?:\([^()]{0,20}\)\s*)?(?:\)|$|[.;,])",
    )
    .expect("bare closure regex")
});

/// The call, its application window or its round as the subject of a closing participle.
static CALL_NOUN: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\b\w*(?:frist|fristen|aufruf|aufrufs|aufrufe|programm|programms|wettbewerb|wettbewerbs|ausschreibung|bewerbungsverfahren|bewerbungsphase|bewerbungsfrist|bewerbungsfristen|bewerbungszeitraum|antragsverfahren|antragsphase|antragsfrist|antragsfristen|antragszeitraum|antragstellung|einreichungsfrist|einreichungsfristen|einreichungsphase|förderrunde|förderphase|förderperiode|interessenbekundung\w*|auswahlverfahren|qualifizierungsprozess|initiative|pilotphase|modellphase|erprobungsphase|modellvorhaben|förderwelle|förderrichtlinie|förderung|foerderung|förderfenster|antragsfenster|bewerbungsfenster|einreichungsfenster|einsendeschluss|bewerbungsschluss|antragsschluss|einreichungsschluss|anmeldeschluss|call)\b",
    )
    .expect("call noun regex")
});

/// Money that has run out ("Die Mittel sind ausgeschöpft", "Budget ausgeschöpft", "Die
/// Landesmittel sind vollständig gebunden"; "gebunden" alone also says "an Auflagen gebunden").
/// Eleventh round: money spent or granted in full ("Die Programmmittel sind vollständig
/// verausgabt", "alle verfügbaren Mittel sind bewilligt"); "bewilligt" alone also says
/// "bewilligte Vorhaben", so it needs "vollständig" or "alle … Mittel sind".
static EXHAUSTED: Pattern<Regex> = Pattern::new(|| {
    Regex::new(r"(?i)\b\w*(?:mittel|budget|kontingent|volumen)\w*\s+(?:\w+\s+){0,3}?(?:ausgeschöpft|ausgeschoepft|aufgebraucht|erschöpft|verausgabt|(?:vollständig|vollstaendig|bereits)\s+gebunden|(?:vollständig|vollstaendig|komplett|restlos)\s+(?:vergeben|bewilligt))\b|\balle\s+(?:\w+\s+)?\w*mittel\s+sind\s+(?:bereits\s+)?(?:vergeben|bewilligt)\b|\b\w*(?:mittel|budget|kontingent)\w*\b[^.;]{0,60}?\b(?:vergriffen|verbraucht)\b")
        .expect("exhausted regex")
});

/// Applications no longer taken, or no more calls ("neue Förderaufrufe finden nicht mehr statt").
static NO_MORE: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\b(?:antrag\w*|anträge|antraege|bewerbung\w*|einreichung\w*|anmeldung\w*|förderanträge|projektanträge|projektskizzen|bewilligung\w*)\b[^.;]{0,60}?\bnicht\s+mehr\s+(?:möglich|gestellt|angenommen|entgegengenommen|eingereicht|berücksichtigt|bewilligt)|\b(?:nimmt|nehmen)\s+keine\s+(?:neuen\s+|weiteren\s+)?(?:anträge|antraege|förderanträge|bewerbungen|projektanträge|projektskizzen)\s+(?:mehr\s+)?(?:entgegen|an)\b|\bkeine\s+(?:neuen\s+|weiteren\s+)?(?:anträge|antraege|förderanträge|bewerbungen|projektanträge)\s+(?:\w+\s+){0,3}?mehr\b|\b(?:call|applications?|submissions?|submission\s+(?:session|period|window)|topic)\b[^.;]{0,30}?\b(?:is|are|has\s+been|have\s+been)\s+(?:now\s+)?closed\b|\bno\s+longer\s+accept|\bno\s+(?:further|more|new)\s+applications\b|\b(?:call|applications?)\b[^.;]{0,40}?\bclosed\s+on\b|\b(?:antrag\w*|anträge|antraege|bewerbung\w*)\s+(?:ist|sind)\s+(?:derzeit\s+|aktuell\s+|zurzeit\s+|momentan\s+|gegenwärtig\s+)?nicht\s+möglich\b|\b(?:anträge|antraege|förderanträge|bewerbungen|projektanträge)\s+(?:können|koennen)\s+(?:derzeit|aktuell|zurzeit|momentan|gegenwärtig)\s+nicht\s+(?:gestellt|eingereicht)\b|\bvon\s+(?:weiteren\s+|neuen\s+)?(?:anträgen|antraegen|bewerbungen|projektanträgen)\s+(?:\w+\s+){0,4}?abzusehen\b|\b(?:eine|ein|weitere|neue|neuer|neues)\s+(?:weitere\s+|neue\s+)?\w*(?:runde|runden|staffel|staffeln|aufruf|aufrufe)\s+(?:ist|sind)\s+nicht\s+(?:mehr\s+)?(?:vorgesehen|geplant)\b|\b(?:keine|kein)\s+(?:weiteren?\s+|neuen?\s+)?\w*(?:runde|runden|staffel|staffeln|aufruf|aufrufe)\s+(?:ist|sind)\s+(?:mehr\s+)?(?:vorgesehen|geplant)\b|\b\w*(?:runden|staffeln|aufrufe|ausschreibungen|wettbewerbe)\s+(?:finden\s+(?:\w+\s+){0,2}?nicht\s+mehr\s+statt|erscheinen\s+nicht\s+mehr)\b",
    )
    .expect("no more regex")
});

/// A programme that is not continued ("Der Bund hat entschieden, das Förderprogramm nicht
/// fortzuführen", "Das Programm wird nicht fortgesetzt") or whose new rounds are no longer
/// opened ("Neue Förderverfahren werden nicht mehr eröffnet"); ninth round.
static DISCONTINUED: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\b\w*(?:programm|programme|aufruf|förderung|foerderung|richtlinie|förderlinie|initiative|wettbewerb)\b[^.;]{0,60}?\bnicht\s+(?:mehr\s+)?(?:fortzuführen|fortzufuehren|fortzusetzen|fortgeführt|fortgefuehrt|fortgesetzt|weiterzuführen|weitergeführt|verlängert|verlaengert|neu\s+aufgelegt|wieder\s+aufgelegt|erneut\s+aufgelegt)\b|\b(?:neue|weitere)\s+\w*(?:verfahren|aufrufe|runden|staffeln|ausschreibungen)\s+(?:werden|wird)\s+nicht\s+mehr\s+(?:eröffnet|gestartet|aufgelegt|veröffentlicht)\b|\b(?:fortführung|fortfuehrung|fortsetzung|neuauflage|wiederauflage)\b[^.;]{0,80}?\b(?:ist|sind|wird|werden)\s+(?:\w+\s+){0,4}?nicht\s+(?:vorgesehen|geplant|beabsichtigt|in\s+sicht)\b",
    )
    .expect("discontinued regex")
});

/// A pronoun for the programme named before, not continued: "Die Landesregierung hat
/// entschieden, es nicht fortzuführen" (the sentence or the one before names the programme).
static DISCONTINUED_PRONOUN: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\b(?:es|sie|dieses|diese)\s+nicht\s+(?:mehr\s+)?(?:fortzuführen|fortzufuehren|fortzusetzen|weiterzuführen)\b",
    )
    .expect("discontinued pronoun regex")
});

/// A call closed until further notice: "muss vorläufig geschlossen werden",
/// "ist bis auf Weiteres ausgesetzt". The adverb makes it a fact despite a modal verb.
static SUSPENDED: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\b(?:vorläufig|vorlaeufig|vorübergehend|voruebergehend|bis\s+auf\s+weiteres)\s+(?:\w+\s+){0,2}?(?:geschlossen|ausgesetzt|gestoppt|eingestellt)\b",
    )
    .expect("suspended regex")
});

/// Tenth round: a directive that has lapsed ("Die Richtlinie ist mit Ablauf des 31. Dezember
/// 2025 außer Kraft getreten"), a programme winding down ("befindet sich in der Auslaufphase"),
/// a next round that will not come ("eine vierte Staffel wird es nicht geben", "Es wird keine
/// weitere Runde geben"), an empty pot ("Der Fördertopf ist leer") and a stop of applications
/// ("Antragsstopp"). A condition or a negation before it keeps the call open; a modal verb
/// inside the lapse of a directive ("ist befristet und wird danach außer Kraft gesetzt") too.
static LAPSED: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\b\w*(?:richtlinie|programm|aufruf|förderung|foerderung|förderlinie|initiative|erlass)\b[^;]{0,30}?\b(?:ist|sind|wurde|wurden)\b[^;]{0,60}?\b(?:außer|ausser)\s+kraft\s+(?:getreten|gesetzt)\b|\b\w*(?:programm|förderung|foerderung|richtlinie|initiative)\b[^.;]{0,40}?\bin\s+der\s+auslaufphase\b|\b(?:eine|ein|weitere|neue)\s+(?:\w+\s+)?\w*(?:runde|runden|staffel|staffeln|aufruf|aufrufe|ausschreibung|förderwelle)\s+wird\s+es\s+nicht\s+(?:mehr\s+)?geben\b|\bes\s+wird\s+(?:keine|keinen|kein)\s+(?:\w+\s+)?\w*(?:runde|staffel|aufruf|ausschreibung|förderwelle)\w*\s+(?:mehr\s+)?geben\b|\b\w*(?:topf|töpfe)\s+(?:ist|sind)\s+(?:\w+\s+)?leer\b|\b\w*(?:antrags|annahme|bewilligungs|zusage|förder|foerder)(?:-\s+und\s+\w*)?stopp\b",
    )
    .expect("lapsed regex")
});

/// Thirtieth round: a competition already decided – its award ceremony took place ("Die
/// Preisverleihung fand am 25. Juli in Berlin statt", "Den Abschluss fand der Wettbewerb mit der
/// Preisverleihung"), its winners are known ("Die Preisträger stehen fest"), or its jury has
/// decided ("Die Entscheidung ist gefallen: Die Jury zeichnete … aus"). Past tense only: "Die
/// Preisverleihung findet im Mai statt" announces it.
static DECIDED: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\bpreisverleihung\w*\b[^.;]{0,80}?\bfand\b|\bfand\b[^.;]{0,80}?\bpreisverleihung\w*\b|\b(?:gewinner\w*|preisträger\w*|preistraeger\w*|sieger\w*)\s+(?:stehen|steht)\s+(?:\w+\s+)?fest\b|\bentscheidung\s+(?:ist|wurde)\s+(?:\w+\s+)?gefallen\b[^.;]{0,30}?\bjury\b",
    )
    .expect("decided regex")
});

/// Words after a stop that lift it or deny it: "Der Antragsstopp ist aufgehoben", "Ein
/// Förderstopp ist nicht geplant".
static LIFTED: Pattern<Regex> = Pattern::new(|| {
    Regex::new(r"(?i)\b(?:aufgehoben|beendet|vorbei|lifted)\b|\bnicht\s+(?:geplant|vorgesehen|beabsichtigt)\b")
        .expect("lifted regex")
});

/// An English programme or call that has ended, or no further calls.
static ENDED_EN: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\b(?:initiative|programme|program|scheme|call|funding|pilot|facility)\b[^.;]{0,30}?\b(?:has|have)\s+(?:now\s+)?(?:ended|been\s+discontinued|been\s+closed|wound\s+down)\b|\bno\s+(?:further|more|new)\s+calls\b|\bno\s+(?:further|more|new)\s+(?:calls?|cut-?offs?|deadlines?|rounds?)\s+(?:is|are|will\s+be|has\s+been|have\s+been)\s+(?:planned|foreseen|scheduled|expected)\b",
    )
    .expect("ended regex")
});

/// Words that make a closing phrase conditional, hypothetical or about the future.
static CONDITION: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)\b(?:bis|solange|sobald|wenn|falls|sofern|bevor|ehe|nachdem|nach|nachträglich|vor|sonst|andernfalls|once|until|when|if|after|before)\b",
    )
    .expect("condition regex")
});

/// Modal verbs and the future: "müssen abgeschlossen sein", "wird beendet".
static MODAL: Pattern<Regex> = Pattern::new(|| {
    Regex::new(r"(?i)\b(?:muss|müssen|muessen|soll|sollen|sollte|sollten|kann|können|koennen|darf|dürfen|wird|werden|würde|must|should|will|may)\b")
        .expect("modal regex")
});

/// An earlier round of several: its end says nothing about the call.
static FIRST_ROUND: Pattern<Regex> =
    Pattern::new(|| Regex::new(r"(?i)\b(?:erste|ersten|first|vorige|vorigen)\b").expect("first round regex"));

static NEGATION: Pattern<Regex> =
    Pattern::new(|| Regex::new(r"(?i)\b(?:nicht|noch\s+nicht|kein|keine|not)\b").expect("negation regex"));

/// A finite form that makes the participle a statement: "ist abgeschlossen".
static STATEMENT: Pattern<Regex> = Pattern::new(|| {
    Regex::new(r"(?i)\b(?:ist|sind|wurde|wurden|war|waren|hat|haben|bereits|inzwischen|mittlerweile|seit)\b")
        .expect("statement regex")
});

/// "Aufruf 2021", "Förderaufruf 2022", "Wettbewerb 2020", "Call 2021"; since the thirtieth
/// round a prize of a year ("Deutscher Städtebaupreis 2025").
static CALL_YEAR: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)(?:aufruf|wettbewerb|ausschreibung|förderrunde|bewerbungsrunde|auswahlrunde|call|preis|award)(?:s|es)?\s+(?:für\s+(?:das\s+jahr\s+)?)?(20\d\d)(?-u:\b)",
    )
    .expect("call year regex")
});

/// "Programmlaufzeit 2017–2020", "Laufzeit: 2019 bis 2022", "Förderzeitraum 2018-2021", "läuft bis Ende 2020",
/// "galt vom 1. März 2021 bis zum 29. Februar 2024"; since the thirtieth round also "lief von
/// November 2016 bis Juni 2017", "lief vom 8. Februar bis 31. Mai 2017", "bis zum Ende des
/// Schuljahres 2022/2023" and a competition held "2020 zum letzten Mal".
static RUNTIME: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)(?:laufzeit|förderzeitraum|programmzeitraum|förderperiode|programmperiode)[:\s]*(?:von\s+)?(?:20\d\d)\s*(?:–|—|-|bis)\s*(20\d\d)(?-u:\b)|(?:läuft|lief|befristet|gilt|galt)\s+(?:noch\s+)?(?:vo[nm]\s+(?:[\p{L}\d]+\.?\s+){1,4}?)?bis\s+(?:zum\s+|ende\s+|mitte\s+)?(?:\d{1,2}\.\s*)?(?:\d{1,2}\.|\p{L}+\s+)?\s*(20\d\d)(?-u:\b)|\bbis\s+(?:zum\s+)?(?:ende\s+des\s+)?schuljahr(?:es|s)?\s+20\d\d\s*/\s*((?:20)?\d\d)(?-u:\b)|(?-u:\b)(20\d\d)\s+(?:zum\s+letzten\s+mal|letztmals|letztmalig)\b|\b(?:zum\s+letzten\s+mal|letztmals|letztmalig)\s+(?:im\s+jahr\s+)?(20\d\d)(?-u:\b)|\b(?:ran|run|running)\s+from\s+(?:20\d\d)\s+(?:to|until|till)\s+(20\d\d)(?-u:\b)|\bran\s+until\s+(?:the\s+end\s+of\s+)?(20\d\d)(?-u:\b)",
    )
    .expect("runtime regex")
});

/// Every year-bearing date in the text, to see whether one lies ahead.
static YEAR: Pattern<Regex> = Pattern::new(|| Regex::new(r"(?-u:\b)(20\d\d)(?-u:\b)").expect("year regex"));

static FULL_DATE: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(\d{1,2})\.\s*(\d{1,2}\.|januar|februar|märz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember)\s*(20\d\d)(?-u:\b)",
    )
    .expect("full date regex")
});

/// Whether `call` is over by its own wording, asked only when nothing else
/// decides: no cut-off on or after `today`, and the source states neither
/// open, forthcoming nor closed (the EU portal's status is taken as it is).
pub fn call_closed_by_wording(call: &Call, today: NaiveDate) -> Option<ClosedWording> {
    let source_decides = matches!(
        call.status,
        CallStatus::Open | CallStatus::Forthcoming | CallStatus::Closed
    );
    if source_decides || call.deadline.next_date(today).is_some() {
        return None;
    }
    closed_by_wording(&call.title, &call.summary, &call.text, today)
}

/// Whether the call's own wording says it is over, as of `today`. Only the
/// title, summary and text are read; the caller skips calls with a known
/// future cut-off or an open status from the source.
pub fn closed_by_wording(title: &str, summary: &str, text: &str, today: NaiveDate) -> Option<ClosedWording> {
    let parts = [title, summary, text];
    let future_date = parts.iter().any(|p| names_future_date(p, today));
    if !future_date && let Some(quote) = parts.iter().find_map(|p| closing_phrase(p)) {
        return Some(ClosedWording::Phrase { quote });
    }
    if future_date || parts.iter().any(|p| names_later_year(p, today)) {
        return None;
    }
    let year = today.year();
    let runtime_end = parts.iter().flat_map(|p| captured_years(&RUNTIME.get(), p)).max();
    if let Some(end) = runtime_end.filter(|end| *end < year) {
        return Some(ClosedWording::RuntimeEnded { year: end });
    }
    let call_year = parts.iter().flat_map(|p| captured_years(&CALL_YEAR.get(), p)).max();
    call_year
        .filter(|y| *y < year)
        .map(|year| ClosedWording::CallYear { year })
}

/// The first sentence of `text` that says the call is over. Only lines
/// holding a [`TRIGGER`] are read (one pass over the text, then short ones).
fn closing_phrase(text: &str) -> Option<String> {
    let mut last_line = usize::MAX;
    for m in TRIGGER.get().find_iter(text) {
        let line_start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        if line_start == last_line {
            continue;
        }
        last_line = line_start;
        let line_end = text[m.start()..].find('\n').map_or(text.len(), |i| m.start() + i);
        let line = sentences(&text[line_start..line_end]);
        let previous = |i: usize| if i == 0 { "" } else { line[i - 1] };
        if let Some(i) = (0..line.len()).find(|&i| says_closed(line[i], previous(i))) {
            return Some(quote(line[i]));
        }
    }
    None
}

/// Whether `sentence` says the call is over; `previous` is the sentence before it,
/// which a pronoun subject ("Es ist abgeschlossen") refers to.
fn says_closed(sentence: &str, previous: &str) -> bool {
    // "vorläufig geschlossen" needs the call as subject (an office may close for the holidays).
    if let Some(m) = SUSPENDED
        .get()
        .find(sentence)
        .filter(|_| CALL_NOUN.get().is_match(sentence))
    {
        return !CONDITION.get().is_match(&sentence[..m.start()]) && !NEGATION.get().is_match(&sentence[..m.start()]);
    }
    if let Some(m) = ENDED_EN.get().find(sentence) {
        return !CONDITION.get().is_match(&sentence[..m.start()]) && !NEGATION.get().is_match(m.as_str());
    }
    if let Some(m) = BARE.get().find(sentence) {
        // "(abgeschlossen)" after the call's own wording; never after a negation.
        return !NEGATION.get().is_match(&sentence[..m.start()]) || CALL_NOUN.get().is_match(sentence);
    }
    // "Wenn die Mittel fehlen, wird das Programm nicht fortgesetzt": a condition anywhere
    // before it makes the end hypothetical.
    if let Some(m) = DISCONTINUED.get().find(sentence) {
        return !CONDITION.get().is_match(&sentence[..m.start()]) && !CONDITION.get().is_match(m.as_str());
    }
    if let Some(m) = LAPSED.get().find(sentence) {
        let before = &sentence[..m.start()];
        // "ist befristet und wird danach außer Kraft gesetzt" plans the lapse.
        let planned = m.as_str().to_lowercase().contains("kraft") && MODAL.get().is_match(m.as_str());
        let lifted = LIFTED.get().is_match(&sentence[m.start()..]);
        return !(CONDITION.get().is_match(before) || NEGATION.get().is_match(before) || planned || lifted);
    }
    if let Some(m) = DECIDED.get().find(sentence) {
        let before = &sentence[..m.start()];
        return !CONDITION.get().is_match(before) && !NEGATION.get().is_match(before);
    }
    if let Some(m) = EXHAUSTED.get().find(sentence).or_else(|| NO_MORE.get().find(sentence)) {
        let clause = clause_before(sentence, m.start());
        // "Anträge können nicht mehr gestellt werden" states a fact despite the modal verb.
        return !CONDITION.get().is_match(clause) && !CONDITION.get().is_match(m.as_str());
    }
    if let Some(m) = DISCONTINUED_PRONOUN.get().find(sentence) {
        let clause = clause_before(sentence, m.start());
        let named = CALL_NOUN.get().is_match(&sentence[..m.start()]) || CALL_NOUN.get().is_match(previous);
        return named && !CONDITION.get().is_match(clause) && !NEGATION.get().is_match(clause);
    }
    // Every participle is read with its own clause: "Die letzte Welle endete 2018; das
    // Programm ist ausgelaufen" closes on the second.
    PARTICIPLE
        .get()
        .find_iter(sentence)
        .any(|p| participle_closes(sentence, p.start(), p.end(), previous))
}

/// Whether the participle at `start..end` of `sentence` states that the call is over
/// (`previous`: see [`says_closed`]).
fn participle_closes(sentence: &str, start: usize, end: usize, previous: &str) -> bool {
    let clause = clause_before(sentence, start);
    // Only the participle's own clause counts after it: "ist ausgelaufen und wird nicht
    // verlängert" states the end, "muss abgeschlossen werden" does not.
    let rest = &sentence[end..];
    let after = CLAUSE_END.get().find(rest).map_or(rest, |m| &rest[..m.start()]);
    let participle = sentence[start..end].to_lowercase();
    // "Die Antragsphase endete am 30. Juni 2025" is a finite statement by itself, unless it
    // speaks of an earlier round ("Die erste Runde endete …").
    let finite = participle.starts_with("endete") && !FIRST_ROUND.get().is_match(clause);
    // "Es ist abgeschlossen" after a sentence about the programme: the pronoun stands for it.
    let subject = CALL_NOUN.get().is_match(clause)
        || (PRONOUN_SUBJECT.get().is_match(clause)
            && (CALL_NOUN.get().is_match(&sentence[..start]) || CALL_NOUN.get().is_match(previous)));
    subject
        && (STATEMENT.get().is_match(clause) || finite)
        && !CONDITION.get().is_match(clause)
        && !NEGATION.get().is_match(clause)
        && !MODAL.get().is_match(clause)
        && !MODAL.get().is_match(after)
        && !after.trim_start().to_lowercase().starts_with("sein")
}

/// Where a clause after a participle ends: a comma, a semicolon or a coordinating "und".
static CLAUSE_END: Pattern<Regex> =
    Pattern::new(|| Regex::new(r"(?i)[,;]|\s(?:und|sowie|and)\s").expect("clause end regex"));

/// A clause whose subject is a pronoun and whose verb is a form of "sein" or "werden"
/// in the past: "Es ist", "Sie wurde", "Dieses ist inzwischen".
static PRONOUN_SUBJECT: Pattern<Regex> = Pattern::new(|| {
    Regex::new(
        r"(?i)^\s*(?:es|er|sie|dieses|dieser|diese|it)\s+(?:ist|sind|wurde|wurden|war|waren|has|is|was)\b[^,]{0,25}$",
    )
    .expect("pronoun subject regex")
});

/// From the last comma, colon, semicolon or sentence end (not a date's "30. ") before `at`
/// (a new clause) to `at`.
fn clause_before(sentence: &str, at: usize) -> &str {
    let head = &sentence[..at];
    let cut = head
        .rfind([',', ':', ';'])
        .map(|i| i + 1)
        .into_iter()
        .chain(
            head.match_indices(". ")
                .filter(|(i, _)| dot_ends_sentence(head.as_bytes(), *i))
                .last()
                .map(|(i, _)| i + 2),
        )
        .max()
        .unwrap_or(0);
    &head[cut..]
}

/// Whether the '.' at `i` may end a sentence: not after a day or month number
/// ("31. März", "1.") but after a word or a year ("… bis 2021. Es ist …").
fn dot_ends_sentence(bytes: &[u8], i: usize) -> bool {
    let digits = bytes[..i].iter().rev().take_while(|b| b.is_ascii_digit()).count();
    i > 0 && (digits == 0 || digits == 4)
}

/// Sentences of one line: split after '.', '!', '?', ';' that follow a
/// non-digit and precede a space (so "31. März" and "z. B." stay whole enough).
fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let ends = matches!(b, b'.' | b'!' | b'?' | b';')
            && bytes.get(i + 1).is_none_or(|n| *n == b' ')
            && i > 0
            && (b != b'.' || dot_ends_sentence(bytes, i));
        if ends {
            out.push(&line[start..=i]);
            start = i + 1;
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out.retain(|s| !s.trim().is_empty());
    out
}

/// The sentence, trimmed to about 80 characters at a word.
fn quote(sentence: &str) -> String {
    let s = sentence.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= 80 {
        return s;
    }
    let cut: String = s.chars().take(80).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{} …", &cut[..at])
}

/// The years `re` captures; a school year's short second year ("2022/23") is of this century.
fn captured_years(re: &Regex, text: &str) -> Vec<i32> {
    re.captures_iter(text)
        .filter_map(|c| c.iter().skip(1).flatten().last().and_then(|m| m.as_str().parse().ok()))
        .map(|y: i32| if y < 100 { 2000 + y } else { y })
        .collect()
}

/// A bare year after the evaluation year ("2027") anywhere.
/// Thirtieth round: not the year of a goal's name ("Agenda 2030", "Strategie 2035"), which
/// names no later round.
fn names_later_year(text: &str, today: NaiveDate) -> bool {
    YEAR.get().captures_iter(text).any(|c| {
        let m = c.get(1).expect("the year group");
        let later = m.as_str().parse::<i32>().is_ok_and(|y| y > today.year());
        // The word before is read only for a later year: most years named are past ones.
        later && {
            let word_before = text[..m.start()]
                .trim_end_matches([' ', '-'])
                .rsplit(|ch: char| !ch.is_alphanumeric())
                .next()
                .unwrap_or_default();
            !GOAL_NAMES.iter().any(|g| word_before.eq_ignore_ascii_case(g))
        }
    })
}

/// Words whose year names a goal, not a date: "Agenda 2030", "Vision 2045".
const GOAL_NAMES: &[&str] = &["agenda", "vision", "strategie", "leitbild", "horizont", "zielbild"];

/// A full date on or after `today` ("31.03.2027", "15. Januar 2027").
fn names_future_date(text: &str, today: NaiveDate) -> bool {
    FULL_DATE.get().captures_iter(text).any(|c| {
        let (Ok(day), Ok(year)) = (c[1].parse::<u32>(), c[3].parse::<i32>()) else {
            return false;
        };
        let month = month_of(&c[2]);
        month
            .and_then(|m| NaiveDate::from_ymd_opt(year, m, day))
            .is_some_and(|d| d >= today)
    })
}

fn month_of(s: &str) -> Option<u32> {
    if let Some(n) = s.strip_suffix('.') {
        return n.parse().ok();
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mär", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "dez",
    ];
    let lower = s.to_lowercase().replace("ae", "ä");
    MONTHS.iter().position(|m| lower.starts_with(m)).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn text(t: &str) -> Option<ClosedWording> {
        closed_by_wording("Förderprogramm", "", t, today())
    }

    fn phrase(t: &str) -> bool {
        matches!(text(t), Some(ClosedWording::Phrase { .. }))
    }

    #[test]
    fn closing_phrases_close() {
        for t in [
            "Aufruf 2021, abgeschlossen.",
            "Der Förderaufruf ist abgeschlossen.",
            "Das Programm ist ausgelaufen.",
            "Programmlaufzeit 2017–2020 (ausgelaufen)",
            "Das Bewerbungsverfahren lief bis Sommer 2020 (abgeschlossen).",
            "Der Wettbewerb wurde beendet.",
            "Die Fördermittel sind ausgeschöpft.",
            "Mittel ausgeschöpft – keine Förderung mehr.",
            "Eine Antragstellung ist nicht mehr möglich.",
            "Es können keine Anträge mehr gestellt werden.",
            "Status: geschlossen",
            "The call is closed.",
            "Die Initiative ist abgeschlossen; neue Gutscheine werden nicht vergeben.",
            "Der Qualifizierungsprozess ist abgeschlossen.",
            "Die Antragsphase endete am 30. Juni 2025.",
            "Bewerbungen sind nicht möglich.",
            "The call for expression of interest closed on 31 January 2023.",
            "No further applications are accepted.",
            "Aufgrund der Vielzahl von Anträgen muss das Förderprogramm vorläufig geschlossen werden.",
            "Das Programm ist bis auf Weiteres ausgesetzt.",
            "Von Anträgen bitten wir deshalb abzusehen.",
            "The initiative has ended.",
            "No further calls will be published.",
            "The programme has been discontinued.",
            "Die Pilotphase ist abgeschlossen.",
            "Eine weitere Bewerbungsrunde ist nicht vorgesehen.",
            "Weitere Staffeln sind nicht vorgesehen.",
            "Ein neuer Aufruf ist nicht geplant.",
            "Keine weitere Runde ist vorgesehen.",
            // A pronoun for the programme named just before (fourth round).
            "Das Modellvorhaben begleitete 13 Labore von 2019 bis 2021. Es ist abgeschlossen; die Ergebnisse sind online.",
            // The second participle of a sentence has its own subject.
            "Die letzte Förderwelle endete 2018; das Programm ist ausgelaufen.",
            "Die Förderrichtlinie ist beendet, die Mittel sind gebunden.",
            // Sixth round: the funding as the subject, money bound in full.
            "Die Förderung wurde beendet; Restmittel werden nicht mehr vergeben.",
            "Die Landesmittel sind vollständig gebunden.",
            "Die Programmmittel sind vollständig verausgabt.",
            "Alle verfügbaren Mittel sind bewilligt.",
            "Die Fördermittel sind komplett vergeben.",
            "Neue Bewilligungen sind nicht mehr möglich.",
            "Das Förderfenster hat sich geschlossen.",
            // Seventh round: the deadlines as plural subject, calls that no longer take place.
            "Die Antragsfristen für beide Angebote sind abgelaufen.",
            "Die Gesellschaft wurde aufgelöst, neue Förderaufrufe finden nicht mehr statt.",
            // Ninth round: a programme not continued, new rounds no longer opened.
            "Die Landesregierung hat beschlossen, das Förderprogramm nicht fortzuführen.",
            "Das Programm wird nicht fortgesetzt.",
            "Die Förderrichtlinie wird nicht weitergeführt; laufende Vorhaben werden abgewickelt.",
            "Neue Förderverfahren werden nicht mehr eröffnet.",
            "Das Programm wurde 2023 gestoppt. Mit dem Haushalt 2024 hat das Land entschieden, es nicht fortzuführen.",
            // Tenth round: a lapsed directive, a programme winding down, no next round, an
            // empty pot, a stop of applications, an EU session closed without a next cut-off.
            "Die Richtlinie ist mit Ablauf des 31. Dezember 2025 außer Kraft getreten.",
            "Die Förderrichtlinie wurde zum 1. Juli 2024 außer Kraft gesetzt.",
            "Das Programm befindet sich in der Auslaufphase: Es werden nur noch bewilligte Projekte begleitet.",
            "Es werden nur noch bewilligte Projekte begleitet, eine vierte Staffel wird es nicht geben.",
            "Es wird keine weitere Förderrunde geben.",
            "Der Fördertopf ist leer.",
            "Die Fördertöpfe sind bereits leer: Anträge werden nicht bewilligt.",
            "Antragsstopp",
            "Vorübergehender Antragsstopp im Kleinprojektefonds.",
            "The submission session is closed and the work programme does not continue the topic.",
            "No further cut-off is planned for this topic.",
            // Twelfth round: a deadline passed, a call over, money gone, applications no longer
            // granted or taken, a programme not extended or not renewed.
            "Die Frist für Anträge ist verstrichen; eine Neuauflage ist derzeit nicht in Sicht.",
            "Der Förderaufruf ist vorbei.",
            "Das Kontingent für den Bonus war innerhalb weniger Wochen vergriffen.",
            "Die bereitgestellten Mittel sind weitgehend verbraucht und gebunden.",
            "Die Bewilligungsstelle nimmt keine weiteren Anträge entgegen.",
            "Das Angebot ist nicht mehr enthalten; Anträge können seitdem nicht mehr bewilligt werden.",
            "Das Förderprogramm ist zum 31. Dezember 2024 ausgelaufen und wird nicht verlängert.",
            "Die Förderung wird nicht neu aufgelegt.",
            "Eine Fortführung des Programms ist nicht vorgesehen.",
            "The support facility has wound down and does not take on further villages.",
            // Thirtieth round: applications not possible for now, a stop of applications and
            // commitments, a competition decided.
            "Im Pakt für den ÖGD bezuschusste der Bund Vorhaben; eine Antragstellung ist derzeit nicht möglich.",
            "Hinweis der KfW: Anträge können aktuell nicht gestellt werden.",
            "Für den Zuschuss gilt seit dem 1. Januar 2025 ein Antrags- und Zusagestopp.",
            "Seit März gilt ein Förderstopp.",
            "Die Preisverleihung fand am 25. Juli in der Akademie der Künste statt.",
            "Den Abschluss fand der Wettbewerb mit der Preisverleihung in Berlin.",
            "Die Preisträger stehen fest.",
            "Die Entscheidung ist gefallen: Die Jury zeichnete das Gesamtkonzept aus.",
            // Thirty-first round: registrations no longer possible, a closing date passed, a
            // status with a note after it.
            "Der Stand der Förderliste war September 2019; neue Anmeldungen sind nicht mehr möglich.",
            "Hinweis: Der Einsendeschluss ist überschritten.",
            "Start 11.04.2024, Dauer neun Monate, Status abgeschlossen (100 %).",
        ] {
            assert!(phrase(t), "{t}: {:?}", text(t));
        }
    }

    #[test]
    fn look_alikes_do_not_close() {
        for t in [
            "Die Antragstellung ist bis 31.03.2027 möglich.",
            "Abgeschlossene Projekte werden nicht gefördert.",
            "Bereits abgeschlossene Vorhaben sind ausgeschlossen.",
            "Anträge können gestellt werden, bis die Mittel ausgeschöpft sind.",
            "Anträge sind möglich, bis alle Mittel vergeben sind.",
            "Bereits bewilligte Vorhaben werden weiter betreut; Anträge bis 30. Juni 2027.",
            "Sobald das Antragsfenster geschlossen ist, wählt die Jury aus.",
            "Das Antragsfenster wird am 1. März 2027 geöffnet.",
            "Nach Ablauf der Frist ist eine Antragstellung nicht mehr möglich.",
            "Die Projekte müssen bis Ende 2027 abgeschlossen sein.",
            "Ein Kooperationsvertrag muss abgeschlossen werden.",
            "Nachdem das Bewerbungsverfahren abgeschlossen ist, wählt die Jury aus.",
            "Das Auswahlverfahren wird im März abgeschlossen.",
            "Der Aufruf ist noch nicht abgeschlossen.",
            "Gefördert werden Maßnahmen, die vor dem Förderbeginn nicht begonnen wurden.",
            "Das Programm ist beendet. Neuer Aufruf: Anträge bis 15. Januar 2027.",
            "Die erste Förderrunde endete 2025; die zweite folgt.",
            "Die Initiative muss abgeschlossen sein.",
            "Wenn die Mittel vorläufig gesperrt sind, wird das Programm vorläufig geschlossen.",
            "Die Straße ist vorübergehend gesperrt.",
            "Projects that have ended before the start date are not eligible.",
            "Bitte sehen Sie von Rückfragen ab.",
            "Die Geschäftsstelle ist vorübergehend geschlossen.",
            "Eine weitere Förderrunde ist für 2027 vorgesehen.",
            "Eine weitere Förderrunde ist vorgesehen.",
            // A pronoun for something else than the call.
            "Das Pilotprojekt in Telgte lief gut. Es ist abgeschlossen.",
            "Der Aufruf läuft. Es ist geplant, dass er 2028 beendet wird.",
            "Das Programm fördert Kitas. Es ist bis 30. Juni 2027 geöffnet, wenn es nicht vorher beendet wird.",
            // The funding as the subject, and bound money, only as statements of the end.
            "Die Förderung ist an Auflagen gebunden.",
            "Die Mittel sind an den Zweck gebunden.",
            "Die Förderung wird nach Abschluss des Vorhabens beendet.",
            "Die Förderung ist nicht beendet.",
            "Die Antragsfristen sind noch nicht abgelaufen.",
            "Die Aufrufe finden nicht mehr im Frühjahr, sondern im Herbst statt.",
            // Ninth round: continuation that is conditional or only in doubt.
            "Wenn die Mittel fehlen, wird das Programm nicht fortgesetzt.",
            "Das Programm wird nach 2028 nicht fortgeführt.",
            "Die Projekte sind nach Ende der Förderung nicht fortzuführen, wenn der Träger sie nicht finanziert.",
            "Das Programm wird fortgesetzt; Anträge bis 31. März 2027.",
            "Der Verein hat entschieden, es nicht fortzuführen.",
            // Tenth round: the same wordings as a condition, a plan or lifted.
            "Die Richtlinie ist bis 2028 befristet und wird danach außer Kraft gesetzt.",
            "Die Richtlinie ist am 1. Januar 2026 in Kraft getreten.",
            "Wenn der Fördertopf leer ist, werden Anträge auf das Folgejahr verschoben.",
            "Der Antragsstopp ist aufgehoben; Anträge sind wieder möglich.",
            "Nach dem Antragsstopp 2024 wurde das Programm neu aufgelegt.",
            "Eine zweite Staffel wird es geben.",
            "The next cut-off is planned for spring.",
            // Twelfth round: the same wordings as a condition, a plan or a negation.
            "Die Antragsfrist ist noch nicht verstrichen.",
            "Anträge werden angenommen, bis das Kontingent vergriffen ist.",
            "Eine Verlängerung der Frist ist nicht vorgesehen.",
            "Eine Fortsetzung des Programms ist geplant.",
            "Das Programm läuft bis 2028 und wird danach nicht verlängert.",
            "Wenn die Mittel verbraucht sind, endet die Förderung.",
            "Der Antragsstopp ist vorbei; Anträge sind wieder möglich.",
            // Thirtieth round: the same wordings announced, conditional or negated.
            "Die Preisverleihung findet im Mai 2027 statt.",
            "Die Preisverleihung findet im Mai statt.",
            "Wenn die Gewinner feststehen, wird die Preisverleihung geplant.",
            "Anträge können derzeit gestellt werden.",
            "Ein Förderstopp ist nicht geplant.",
            "Die Entscheidung ist gefallen: Das Land verlängert den Wettbewerb.",
            "Der Einsendeschluss ist noch nicht überschritten.",
            "Die Obergrenze der Förderung darf nicht überschritten werden.",
            "Anmeldungen sind bis 31. März 2027 möglich.",
        ] {
            assert_eq!(text(t), None, "{t}");
        }
    }

    #[test]
    fn an_old_call_year_closes_unless_a_later_year_is_named() {
        assert_eq!(
            closed_by_wording("Projektaufruf 2021 für Dorfläden", "", "", today()),
            Some(ClosedWording::CallYear { year: 2021 })
        );
        assert_eq!(
            closed_by_wording("Deutscher Städtebaupreis 2025", "", "", today()),
            Some(ClosedWording::CallYear { year: 2025 })
        );
        assert_eq!(closed_by_wording("Deutscher Fahrradpreis 2027", "", "", today()), None);
        assert_eq!(
            closed_by_wording("Aufruf 2026", "", "", today()),
            None,
            "this year's call"
        );
        assert_eq!(
            closed_by_wording("Aufruf 2021", "", "Der nächste Aufruf folgt 2027.", today()),
            None
        );
        assert_eq!(
            closed_by_wording(
                "Aufruf 2021",
                "Nach dem Aufruf 2021 folgt der Aufruf 2026.",
                "",
                today()
            ),
            None,
            "the latest call year counts"
        );
    }

    #[test]
    fn an_ended_runtime_closes() {
        assert_eq!(
            text("Programmlaufzeit 2017–2020. Gefördert wurden Dorfläden."),
            Some(ClosedWording::RuntimeEnded { year: 2020 })
        );
        assert_eq!(
            text("Das Programm läuft bis Ende 2022."),
            Some(ClosedWording::RuntimeEnded { year: 2022 })
        );
        assert_eq!(
            text("Das Programm lief von 2017 bis 2020 und ist beendet."),
            Some(ClosedWording::RuntimeEnded { year: 2020 })
        );
        assert_eq!(
            text("Die Richtlinie galt vom 1. März 2021 bis zum 29. Februar 2024."),
            Some(ClosedWording::RuntimeEnded { year: 2024 })
        );
        assert_eq!(
            text("Die Richtlinie gilt vom 1. März 2025 bis zum 28. Februar 2027."),
            None
        );
        assert_eq!(
            text("The pilot project ran from 2019 to 2022."),
            Some(ClosedWording::RuntimeEnded { year: 2022 })
        );
        assert_eq!(
            text("The scheme ran until 2023."),
            Some(ClosedWording::RuntimeEnded { year: 2023 })
        );
        assert_eq!(text("The programme is running from 2025 to 2028."), None);
        // Thirtieth round: months without a day, a first date without its year, the school
        // year, the last time a competition was held.
        assert_eq!(
            text("Der Wettbewerb lief von November 2016 bis Juni 2017."),
            Some(ClosedWording::RuntimeEnded { year: 2017 })
        );
        assert_eq!(
            text("Die Bewerbungsfrist lief vom 8. Februar bis 31. Mai 2017."),
            Some(ClosedWording::RuntimeEnded { year: 2017 })
        );
        assert_eq!(
            text("Die Angebote stehen nur bis zum Ende des Schuljahres 2022/2023 zur Verfügung."),
            Some(ClosedWording::RuntimeEnded { year: 2023 })
        );
        assert_eq!(
            text("Die Angebote laufen bis zum Ende des Schuljahres 2022/23."),
            Some(ClosedWording::RuntimeEnded { year: 2023 })
        );
        assert_eq!(
            text("Der Wettbewerb wurde 2020 zum letzten Mal ausgetragen."),
            Some(ClosedWording::RuntimeEnded { year: 2020 })
        );
        assert_eq!(
            text("Die Angebote laufen bis zum Ende des Schuljahres 2026/2027."),
            None
        );
        assert_eq!(text("Der Wettbewerb wird 2027 zum letzten Mal ausgetragen."), None);
        assert_eq!(text("Der Wettbewerb lief von November 2025 bis Juni 2027."), None);
        // A goal's year names no later round; a later year as such does.
        assert_eq!(
            text("Der Preis würdigte Engagement für die Agenda 2030. Er wurde 2020 zum letzten Mal vergeben."),
            Some(ClosedWording::RuntimeEnded { year: 2020 })
        );
        assert_eq!(
            text("Er wurde 2020 zum letzten Mal vergeben; 2027 folgt ein neuer Preis."),
            None
        );
        assert_eq!(text("Förderperiode 2021–2027"), None);
        assert_eq!(text("Programmlaufzeit 2017–2020, verlängert bis 31.12.2027."), None);
    }

    #[test]
    fn the_reason_reads_in_german() {
        assert_eq!(
            ClosedWording::CallYear { year: 2021 }.to_string(),
            "Aufruf 2021, keine spätere Runde genannt"
        );
        let long = "Der Förderaufruf für die Modellvorhaben der ländlichen Entwicklung im Land ist inzwischen endgültig abgeschlossen.";
        let Some(ClosedWording::Phrase { quote }) = text(long) else {
            panic!("closes")
        };
        assert!(quote.ends_with('…') && quote.chars().count() <= 82, "{quote}");
    }
}
