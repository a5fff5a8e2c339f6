//! The worklist's URL parameters, shared by the page and the API, so a view can be
//! bookmarked and the API speaks the same words.

use domain::{UserId, Visibility, VorgangStatus};
use serde::Deserialize;
use store::{SortKey, View, WorklistQuery};

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
        }
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

    pub fn href(&self) -> String {
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
        if let Some(p) = self.seite.filter(|p| *p > 1) {
            pairs.push(("seite", p.to_string()));
        }
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        crate::tenancy::link(&format!("/vorgaenge?{qs}"))
    }
}
