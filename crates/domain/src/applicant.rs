//! Who applied: extracted from the form data where the form carries it. Forms name their
//! fields differently; we know the AFM conventions (`pers_vorname`, `sh_strasse`, …) and the
//! common plain names, and prefer fields inside a group that names the applicant.

use crate::antrag::ServiceKonto;
use crate::formdata::FormItem;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Antragsteller {
    pub vorname: Option<String>,
    pub nachname: Option<String>,
    pub firma: Option<String>,
    pub strasse: Option<String>,
    pub hausnummer: Option<String>,
    pub plz: Option<String>,
    pub ort: Option<String>,
    pub email: Option<String>,
    pub telefon: Option<String>,
    pub postfach_id: Option<String>,
}

const VORNAME: &[&str] = &["pers_vorname", "vorname", "antragsteller_vorname", "firstname"];
const NACHNAME: &[&str] = &["pers_nachname", "nachname", "familienname", "antragsteller_nachname", "lastname"];
const FIRMA: &[&str] = &["firmenname", "firma", "unternehmen", "betriebsname", "name_der_firma"];
const STRASSE: &[&str] = &["sh_strasse", "strasse", "straße", "pers_strasse"];
const HAUSNUMMER: &[&str] = &["sh_hausnummer", "hausnummer", "hausnr", "pers_hausnummer"];
const PLZ: &[&str] = &["sh_plz", "plz", "postleitzahl", "pers_plz"];
const ORT: &[&str] = &["ort", "sh_ort", "wohnort", "pers_ort", "stadt"];
const EMAIL: &[&str] = &["kont_email", "email", "e_mail", "e-mail", "mail"];
const TELEFON: &[&str] = &["kont_telefonnummer", "telefon", "telefonnummer", "tel", "kont_telefon"];

impl Antragsteller {
    pub fn extract(form_data: &[FormItem], service_konto: Option<&ServiceKonto>) -> Self {
        // Two passes: first only inside an applicant group, then anywhere.
        let find = |names: &[&str]| find_in(form_data, names, true).or_else(|| find_in(form_data, names, false));
        Antragsteller {
            vorname: find(VORNAME),
            nachname: find(NACHNAME),
            firma: find(FIRMA),
            strasse: find(STRASSE),
            hausnummer: find(HAUSNUMMER),
            plz: find(PLZ),
            ort: find(ORT),
            email: find(EMAIL),
            telefon: find(TELEFON),
            postfach_id: service_konto.and_then(|s| s.postfach_identifier.clone()),
        }
    }

    /// "Muster, Klara" as worklists show names; the company when there is no person.
    pub fn display_name(&self) -> Option<String> {
        match (&self.nachname, &self.vorname) {
            (Some(n), Some(v)) => Some(format!("{n}, {v}")),
            (Some(n), None) => Some(n.clone()),
            (None, Some(v)) => Some(v.clone()),
            (None, None) => self.firma.clone(),
        }
    }

    pub fn address_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let street =
            [self.strasse.as_deref(), self.hausnummer.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if !street.is_empty() {
            lines.push(street);
        }
        let town = [self.plz.as_deref(), self.ort.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if !town.is_empty() {
            lines.push(town);
        }
        lines
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn is_applicant_group(item: &FormItem) -> bool {
    let n = item.name.to_lowercase();
    n.contains("antragsteller") || n.contains("applicant") || n.contains("person")
}

fn find_in(items: &[FormItem], names: &[&str], only_in_applicant_group: bool) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    FormItem::walk(items, &mut |ancestors, item| {
        if only_in_applicant_group && !ancestors.iter().any(|a| is_applicant_group(a)) {
            return;
        }
        let name = item.name.to_lowercase();
        let Some(rank) = names.iter().position(|n| *n == name) else {
            return;
        };
        let Some(text) = item.value.as_ref().map(|v| v.display()).filter(|t| !t.trim().is_empty()) else {
            return;
        };
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((rank, text.trim().to_owned()));
        }
    });
    best.map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formdata::FormValue;

    fn s(name: &str, v: &str) -> FormItem {
        FormItem::field(name, name, FormValue::String(v.into()))
    }

    #[test]
    fn extracts_afm_fields_preferring_the_applicant_group() {
        let data = vec![
            FormItem::group("betrieb", "Betrieb", vec![s("ort", "Betriebsort")]),
            FormItem::group(
                "antragsteller",
                "Antragsteller",
                vec![
                    s("pers_vorname", "Klara"),
                    s("pers_nachname", "Muster"),
                    s("sh_strasse", "Hauptstraße"),
                    s("sh_hausnummer", "1"),
                    s("sh_plz", "24103"),
                    s("ort", "Kiel"),
                    s("kont_email", "klara@example.org"),
                ],
            ),
        ];
        let a = Antragsteller::extract(&data, None);
        assert_eq!(a.display_name().as_deref(), Some("Muster, Klara"));
        assert_eq!(a.ort.as_deref(), Some("Kiel"));
        assert_eq!(a.address_lines(), vec!["Hauptstraße 1", "24103 Kiel"]);
    }

    #[test]
    fn falls_back_to_fields_anywhere() {
        let a = Antragsteller::extract(&[s("Vorname", "Max"), s("nachname", "Mustermann")], None);
        assert_eq!(a.display_name().as_deref(), Some("Mustermann, Max"));
    }
}
