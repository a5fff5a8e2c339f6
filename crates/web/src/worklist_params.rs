//! The worklist's URL parameters, shared by the page and the API, so a view can be
//! bookmarked and the API speaks the same words.

use crate::tenancy::Base;
use domain::{UnitId, UserId, Visibility, VorgangStatus};
use serde::Deserialize;
use store::{SortKey, View, WorklistFilter, WorklistQuery};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

pub const PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 500;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorklistParams {
    /// `alle` (default), `meine` or `nicht-zugewiesen`.
    pub ansicht: Option<String>,
    /// A status such as `NEU`; absent for all.
    pub status: Option<String>,
    /// `eingang` (default), `nummer`, `formular`, `status`, `aktenzeichen`.
    pub sort: Option<String>,
    /// `asc` or `desc` (default for `eingang`).
    pub richtung: Option<String>,
    /// One-based page number.
    pub seite: Option<u32>,
    /// Page size (API only; the UI uses 50).
    #[serde(rename = "proSeite")]
    pub pro_seite: Option<u32>,
    /// "Vorgang suchen": words to find in Vorgangsnummer, Aktenzeichen, applicant name, form
    /// name and form data. Case, umlauts and ß do not matter ("muller" finds "Müller",
    /// "strasse" finds "Straße"); each word matches the start of a word ("Müll" finds
    /// "Müller"); all words must match. At most 8 words are used.
    pub suche: Option<String>,
    /// Only Vorgänge of this form (its exact name, as listed in the filter).
    pub formular: Option<String>,
    /// Only those of this Organisationseinheit (its id).
    pub einheit: Option<String>,
    /// Only those assigned to this user (their id).
    pub bearbeiter: Option<String>,
    /// Eingang on or after this day (`YYYY-MM-DD`, German time).
    pub von: Option<String>,
    /// Eingang on or before this day (`YYYY-MM-DD`, German time).
    pub bis: Option<String>,
    /// A message code to show after a redirect (UI only).
    #[param(ignore)]
    pub meldung: Option<String>,
}

impl WorklistParams {
    /// Unknown values fall back to defaults: a mistyped bookmark still shows a worklist.
    pub fn to_query(&self, me: Option<UserId>, visibility: Visibility) -> WorklistQuery {
        let view = match (self.ansicht.as_deref(), me) {
            (Some("meine"), Some(me)) => View::Meine(me),
            (Some("nicht-zugewiesen"), _) => View::NichtZugewiesen,
            _ => View::Alle,
        };
        let sort = self.sort.as_deref().and_then(SortKey::parse).unwrap_or(SortKey::EingangAt);
        let descending = match self.richtung.as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => sort == SortKey::EingangAt,
        };
        WorklistQuery {
            visibility,
            view,
            status: self.status.as_deref().and_then(VorgangStatus::parse),
            sort,
            descending,
            page: self.seite.unwrap_or(1).clamp(1, 10_000_000) - 1,
            per_page: self.pro_seite.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE),
            filter: WorklistFilter {
                terms: domain::search::terms(given(&self.suche).unwrap_or_default()),
                form_name: given(&self.formular).map(str::to_owned),
                unit: given(&self.einheit).and_then(|u| Uuid::parse_str(u).ok()).map(UnitId),
                assignee: given(&self.bearbeiter).and_then(|u| Uuid::parse_str(u).ok()).map(UserId),
                eingang_von: day(&self.von).map(start_of_day),
                eingang_bis: day(&self.bis).and_then(Date::next_day).map(start_of_day),
            },
        }
    }

    /// The search terms of `suche` (for highlighting).
    pub fn terms(&self) -> Vec<String> {
        domain::search::terms(given(&self.suche).unwrap_or_default())
    }

    /// The parameters as the query understood them, for building links.
    pub fn normalized(&self, q: &WorklistQuery) -> Self {
        Self {
            ansicht: Some(
                match q.view {
                    View::Alle => "alle",
                    View::Meine(_) => "meine",
                    View::NichtZugewiesen => "nicht-zugewiesen",
                }
                .to_owned(),
            ),
            status: q.status.map(|s| s.as_str().to_owned()),
            sort: Some(q.sort.as_str().to_owned()),
            richtung: Some(if q.descending { "desc" } else { "asc" }.to_owned()),
            seite: Some(q.page + 1),
            pro_seite: self.pro_seite,
            meldung: None,
            // What was typed stays as typed (the search box shows it again); ids and days
            // only when they were understood.
            suche: (!q.filter.terms.is_empty()).then(|| given(&self.suche).unwrap_or_default().to_owned()),
            formular: q.filter.form_name.clone(),
            einheit: q.filter.unit.map(|u| u.0.to_string()),
            bearbeiter: q.filter.assignee.map(|u| u.0.to_string()),
            von: day(&self.von).map(crate::fmt::iso_day),
            bis: day(&self.bis).map(crate::fmt::iso_day),
        }
    }

    /// Whether a search or filter beyond view and status is active.
    pub fn is_filtered(&self) -> bool {
        [&self.suche, &self.formular, &self.einheit, &self.bearbeiter, &self.von, &self.bis]
            .into_iter()
            .any(|p| given(p).is_some())
    }

    /// View, status and sort kept, search and filters dropped ("Filter zurücksetzen").
    pub fn without_filters(&self) -> Self {
        Self {
            suche: None,
            formular: None,
            einheit: None,
            bearbeiter: None,
            von: None,
            bis: None,
            seite: None,
            ..self.clone()
        }
    }

    pub fn with_view(&self, view: &str) -> Self {
        Self { ansicht: Some(view.to_owned()), seite: None, ..self.clone() }
    }

    pub fn with_status(&self, status: Option<VorgangStatus>) -> Self {
        Self { status: status.map(|s| s.as_str().to_owned()), seite: None, ..self.clone() }
    }

    pub fn with_sort(&self, sort: SortKey, descending: bool) -> Self {
        Self {
            sort: Some(sort.as_str().to_owned()),
            richtung: Some(if descending { "desc" } else { "asc" }.to_owned()),
            seite: None,
            ..self.clone()
        }
    }

    pub fn with_page(&self, zero_based: u32) -> Self {
        Self { seite: Some(zero_based + 1), ..self.clone() }
    }

    /// The worklist's address with these parameters, under `base`.
    pub fn href(&self, base: &Base) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(v) = &self.ansicht {
            pairs.push(("ansicht", v.clone()));
        }
        if let Some(s) = &self.status {
            pairs.push(("status", s.clone()));
        }
        if let Some(s) = &self.sort {
            pairs.push(("sort", s.clone()));
        }
        if let Some(r) = &self.richtung {
            pairs.push(("richtung", r.clone()));
        }
        for (name, value) in [
            ("suche", &self.suche),
            ("formular", &self.formular),
            ("einheit", &self.einheit),
            ("bearbeiter", &self.bearbeiter),
            ("von", &self.von),
            ("bis", &self.bis),
        ] {
            if let Some(v) = given(value) {
                pairs.push((name, v.to_owned()));
            }
        }
        if let Some(p) = self.seite.filter(|p| *p > 1) {
            pairs.push(("seite", p.to_string()));
        }
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        base.link(&format!("/vorgaenge?{qs}"))
    }
}

/// A parameter with content: an empty field of the GET form counts as absent.
fn given(p: &Option<String>) -> Option<&str> {
    p.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A `YYYY-MM-DD` day; anything else counts as absent.
/// A day of the date filter; years outside 1900–9999 are no filter (nothing is that old,
/// and databases refuse some of them).
fn day(p: &Option<String>) -> Option<Date> {
    domain::notes::parse_date(given(p)?).filter(|d| (1900..=9999).contains(&d.year()))
}

/// Midnight of `day` in German time.
fn start_of_day(day: Date) -> OffsetDateTime {
    let midnight = day.midnight();
    // The offset of that day: CET or CEST (the switch is at 01:00 UTC, never at midnight).
    let offset = crate::fmt::german_time(midnight.assume_utc()).offset();
    midnight.assume_offset(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(qs: &str) -> WorklistParams {
        serde_urlencoded::from_str(qs).expect("params")
    }

    #[test]
    fn filters_round_trip_through_the_url() {
        let me = UserId::new();
        let unit = UnitId::new();
        let p = params(&format!(
            "ansicht=meine&status=NEU&suche=M%C3%BCller+Klara&formular=Gewerbeanmeldung&einheit={unit}&bearbeiter={me}&von=2026-01-05&bis=2026-07-31&seite=2"
        ));
        let q = p.to_query(Some(me), Visibility::Tenant);
        assert_eq!(q.filter.terms, vec!["muller", "klara"]);
        assert_eq!(q.filter.form_name.as_deref(), Some("Gewerbeanmeldung"));
        assert_eq!((q.filter.unit, q.filter.assignee), (Some(unit), Some(me)));
        assert_eq!(q.filter.eingang_von, Some(time::macros::datetime!(2026-01-05 00:00 +1)));
        assert_eq!(q.filter.eingang_bis, Some(time::macros::datetime!(2026-08-01 00:00 +2)), "bis includes its day");
        let again = params(p.normalized(&q).href(&Base::root()).split_once('?').expect("query").1)
            .to_query(Some(me), Visibility::Tenant);
        assert_eq!(again, q, "the link of a page reproduces its query");
        assert!(p.is_filtered() && !p.without_filters().is_filtered());
    }

    #[test]
    fn empty_and_invalid_filters_are_absent() {
        let p = params("suche=+&formular=&einheit=kaputt&bearbeiter=&von=gestern&bis=2026-13-01");
        let q = p.to_query(None, Visibility::Tenant);
        assert!(q.filter.is_empty(), "{:?}", q.filter);
        assert!(!p.normalized(&q).href(&Base::root()).contains("suche"));
        let q = params("suche=%22%2A+OR+%27").to_query(None, Visibility::Tenant);
        assert_eq!(q.filter.terms, vec!["or"]);
    }
}
