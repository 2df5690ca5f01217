//! The Förderdatenbank's controlled vocabularies (facet code ↔ label) and the
//! splitting of its comma lists.
//!
//! Since late 2025 some detail pages intermittently show ASCII labels
//! (`Foerderart:`) and internal codes as values (`zuschuss`,
//! `forschung_innovation_themenspezifisch`); the codes are mapped back to the
//! labels the normal pages show.

use crate::model::ApplicantCategory;
use crate::model::text::fold;

/// Facet code → label, for every facet shown on detail pages.
const CODES: &[(&str, &str)] = &[
    // Fördergebiet
    ("_bundesweit", "bundesweit"),
    ("bundesweit", "bundesweit"),
    ("baden_wuerttemberg", "Baden-Württemberg"),
    ("bayern", "Bayern"),
    ("berlin", "Berlin"),
    ("brandenburg", "Brandenburg"),
    ("bremen", "Bremen"),
    ("de_ni", "Niedersachsen"),
    ("de_st", "Sachsen-Anhalt"),
    ("hamburg", "Hamburg"),
    ("hessen", "Hessen"),
    ("mecklenburg_vorpommern", "Mecklenburg-Vorpommern"),
    ("nordrhein_westfalen", "Nordrhein-Westfalen"),
    ("rheinland_pfalz", "Rheinland-Pfalz"),
    ("saarland", "Saarland"),
    ("sachsen", "Sachsen"),
    ("schleswig_holstein", "Schleswig-Holstein"),
    ("thueringen", "Thüringen"),
    // Förderberechtigte
    ("bildungseinrichtung", "Bildungseinrichtung"),
    ("existenzgruenderin", "Existenzgründer/in"),
    ("forschungseinrichtung", "Forschungseinrichtung"),
    ("hochschule", "Hochschule"),
    ("kommune", "Kommune"),
    ("oeffentliche_einrichtung", "Öffentliche Einrichtung"),
    ("privatperson", "Privatperson"),
    ("unternehmen", "Unternehmen"),
    ("verband_vereinigung", "Verband/Vereinigung"),
    // Förderart
    ("beteiligung", "Beteiligung"),
    ("buergschaft", "Bürgschaft"),
    ("darlehen", "Darlehen"),
    ("garantie", "Garantie"),
    ("sonstige", "Sonstige"),
    ("zuschuss", "Zuschuss"),
    // Förderbereich
    ("arbeit", "Arbeit"),
    ("aus_weiterbildung", "Aus- & Weiterbildung"),
    ("aussenwirtschaft", "Außenwirtschaft"),
    ("beratung", "Beratung"),
    ("corona", "Corona-Hilfe"),
    ("digitalisierung", "Digitalisierung"),
    (
        "energieeffizienz_erneuerbare_energien",
        "Energieeffizienz & Erneuerbare Energien",
    ),
    ("existenzgruendung_festigung", "Existenzgründung & -festigung"),
    (
        "forschung_innovation_themenoffen",
        "Forschung & Innovation (themenoffen)",
    ),
    (
        "forschung_innovation_themenspezifisch",
        "Forschung & Innovation (themenspezifisch)",
    ),
    ("frauenfoerderung", "Frauenförderung"),
    ("gesundheit_soziales", "Gesundheit & Soziales"),
    ("infrastruktur", "Infrastruktur"),
    ("kultur_medien_sport", "Kultur, Medien & Sport"),
    (
        "landwirtschaft_laendliche_entwicklung",
        "Landwirtschaft & Ländliche Entwicklung",
    ),
    ("messen_ausstellungen", "Messen & Ausstellungen"),
    ("mobilitaet", "Mobilität"),
    ("regionalfoerderung", "Regionalförderung"),
    ("smart_cities_regionen", "Smart Cities & Regionen"),
    ("staedtebau_stadterneuerung", "Städtebau & Stadterneuerung"),
    ("umwelt_naturschutz", "Umwelt- & Naturschutz"),
    ("unternehmensfinanzierung", "Unternehmensfinanzierung"),
    ("wohnungsbau_modernisierung", "Wohnungsbau & Modernisierung"),
];

/// The label of a facet code; labels and unknown values come back unchanged.
pub fn label_of(value: &str) -> &str {
    CODES
        .iter()
        .find(|(code, _)| *code == value)
        .map_or(value, |(_, label)| label)
}

/// Splits a `dd` comma list into labels. Labels that contain a comma
/// ("Kultur, Medien & Sport") are merged back; codes become labels.
pub fn split_values(dd: &str) -> Vec<String> {
    let parts: Vec<&str> = dd.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    let mut values = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let merged = (i + 1..parts.len()).rev().find_map(|end| {
            let joined = parts[i..=end].join(", ");
            is_label(&joined).then_some((joined, end))
        });
        match merged {
            Some((joined, end)) => {
                values.push(joined);
                i = end + 1;
            }
            None => {
                values.push(label_of(parts[i]).to_string());
                i += 1;
            }
        }
    }
    values
}

fn is_label(text: &str) -> bool {
    CODES.iter().any(|(_, label)| *label == text)
}

/// Applicant category of a Förderberechtigte label (the facet is a closed list).
pub fn applicant_category(label: &str) -> Option<ApplicantCategory> {
    Some(match label {
        "Kommune" => ApplicantCategory::Kommune,
        "Öffentliche Einrichtung" => ApplicantCategory::OeffentlicheEinrichtung,
        "Verband/Vereinigung" => ApplicantCategory::Verein,
        "Unternehmen" | "Existenzgründer/in" => ApplicantCategory::Unternehmen,
        "Privatperson" => ApplicantCategory::Privatperson,
        "Hochschule" => ApplicantCategory::Hochschule,
        "Forschungseinrichtung" => ApplicantCategory::Forschung,
        "Bildungseinrichtung" => ApplicantCategory::Bildung,
        _ => return None,
    })
}

/// Folds a `dt` label for comparison: `" Förderart: "` and `"Foerderart:"` both
/// give `foerderart`; `"Weiterführende Links:"` gives `weiterfuehrendelinks`.
pub fn fold_label(label: &str) -> String {
    fold(label).replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_merges_labels_with_commas() {
        assert_eq!(
            split_values(" Kultur, Medien & Sport, Infrastruktur "),
            vec!["Kultur, Medien & Sport", "Infrastruktur"]
        );
        assert_eq!(
            split_values("Beratung, Kultur, Medien & Sport"),
            vec!["Beratung", "Kultur, Medien & Sport"]
        );
        assert_eq!(split_values("Darlehen, Bürgschaft"), vec!["Darlehen", "Bürgschaft"]);
        assert_eq!(split_values(""), Vec::<String>::new());
    }

    #[test]
    fn maps_codes_to_labels() {
        assert_eq!(split_values("zuschuss"), vec!["Zuschuss"]);
        assert_eq!(
            split_values("kultur_medien_sport, de_ni"),
            vec!["Kultur, Medien & Sport", "Niedersachsen"]
        );
        assert_eq!(split_values("_bundesweit"), vec!["bundesweit"]);
        assert_eq!(label_of("unbekannter_code"), "unbekannter_code");
    }

    #[test]
    fn folds_both_label_spellings() {
        assert_eq!(fold_label(" Förderart: "), "foerderart");
        assert_eq!(fold_label("Foerderart:"), "foerderart");
        assert_eq!(fold_label("Weiterführende Links:"), "weiterfuehrendelinks");
        assert_eq!(fold_label("WeiterfuehrendeLinks:"), "weiterfuehrendelinks");
    }

    #[test]
    fn applicant_labels_map_to_categories() {
        assert_eq!(applicant_category("Kommune"), Some(ApplicantCategory::Kommune));
        assert_eq!(
            applicant_category(label_of("oeffentliche_einrichtung")),
            Some(ApplicantCategory::OeffentlicheEinrichtung)
        );
        assert_eq!(applicant_category("Marsmenschen"), None);
    }
}
