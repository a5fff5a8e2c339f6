use super::{flash_text, render, Nav};
use crate::auth::CurrentUser;
use crate::error::PageError;
use crate::fmt;
use crate::tenancy::Base;
use crate::worklist_params::{WorklistParams, PER_PAGE};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use domain::search::{highlight, Segment};
use domain::{Role, VorgangStatus};
use store::{SortKey, View};

pub struct Tab {
    label: &'static str,
    href: String,
    active: bool,
}

pub struct StatusFilter {
    label: &'static str,
    count: u64,
    href: String,
    active: bool,
}

pub struct Column {
    label: &'static str,
    href: Option<String>,
    aria_sort: Option<&'static str>,
}

/// One choice of a filter's `<select>`.
pub struct Choice {
    value: String,
    label: String,
    selected: bool,
}

pub struct Row {
    id: String,
    status: &'static str,
    status_code: &'static str,
    // Texts as segments, search hits marked (rendered as <mark>, everything escaped).
    aktenzeichen: Vec<Segment>,
    nummer: Vec<Segment>,
    form_name: Vec<Segment>,
    applicant: Option<Vec<Segment>>,
    /// The snippet of the form data around a hit.
    treffer: Option<Vec<Segment>>,
    eingang: String,
    eingang_iso: String,
    assignee: String,
    frist: Option<(String, String)>,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "worklist.html")]
struct WorklistPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    views: Vec<Tab>,
    status_filters: Vec<StatusFilter>,
    caption: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    page: u64,
    pages: u64,
    total: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
    /// Open Wiedervorlagen due today or earlier, for the status bar.
    due: u64,
    /// The search box and the filter row (GET form: works without JavaScript).
    suche: String,
    forms: Vec<Choice>,
    units: Vec<Choice>,
    assignees: Vec<Choice>,
    von: String,
    bis: String,
    /// The current view, status and sort, carried as hidden fields of the search form.
    hidden: Vec<(&'static str, String)>,
    filtered: bool,
    reset_href: String,
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Query(params): Query<WorklistParams>,
) -> Result<Response, PageError> {
    let query = params.to_query(Some(auth.user.id), auth.user.principal().visibility());
    let today = fmt::today();
    let tenant = state.store.tenant(&auth.tenant);
    let (result, due, forms, units, users) = tokio::try_join!(
        tenant.worklist(&query),
        tenant.count_due_wiedervorlagen(&query.visibility, today),
        tenant.forms(),
        tenant.list_units(),
        tenant.list_users(),
    )?;
    let current = params.normalized(&query);
    let terms = params.terms();
    let mark = |text: &str| highlight(text, &terms);
    let choice = |value: String, label: String, current: &Option<String>| Choice {
        selected: current.as_deref() == Some(value.as_str()),
        value,
        label,
    };
    let forms = forms.into_iter().map(|f| choice(f.clone(), f, &current.formular)).collect();
    let units = units.into_iter().map(|u| choice(u.id.0.to_string(), u.name, &current.einheit)).collect();
    let assignees = users
        .into_iter()
        .filter(|u| !u.disabled && (u.has_role(Role::Sachbearbeitung) || u.has_role(Role::Poststelle)))
        .map(|u| choice(u.id.0.to_string(), u.display_name, &current.bearbeiter))
        .collect();
    let mut hidden = Vec::new();
    for (name, value) in [("ansicht", &current.ansicht), ("status", &current.status), ("sort", &current.sort)] {
        if let Some(v) = value {
            hidden.push((name, v.clone()));
        }
    }
    if let Some(r) = &current.richtung {
        hidden.push(("richtung", r.clone()));
    }

    let views = [("Alle", "alle"), ("Meine", "meine"), ("Nicht zugewiesen", "nicht-zugewiesen")]
        .into_iter()
        .map(|(label, code)| Tab {
            label,
            href: current.with_view(code).href(&base),
            active: current.ansicht.as_deref() == Some(code),
        })
        .collect();

    let mut status_filters = vec![StatusFilter {
        label: "Alle Status",
        count: result.counts.total(),
        href: current.with_status(None).href(&base),
        active: query.status.is_none(),
    }];
    status_filters.extend(VorgangStatus::WORKLIST.into_iter().map(|s| StatusFilter {
        label: s.label(),
        count: result.counts.get(s),
        href: current.with_status(Some(s)).href(&base),
        active: query.status == Some(s),
    }));

    let sortable = |key: Option<SortKey>, label: &'static str| match key {
        None => Column { label, href: None, aria_sort: None },
        Some(k) => {
            let active = query.sort == k;
            // Clicking the sorted column flips it; a new column starts with the natural order.
            let descending = if active { !query.descending } else { k == SortKey::EingangAt };
            Column {
                label,
                href: Some(current.with_sort(k, descending).href(&base)),
                aria_sort: active.then_some(if query.descending { "descending" } else { "ascending" }),
            }
        }
    };
    let columns = vec![
        sortable(Some(SortKey::Status), "Status"),
        sortable(Some(SortKey::Aktenzeichen), "Aktenzeichen"),
        sortable(Some(SortKey::Nummer), "Vorgangsnummer"),
        sortable(Some(SortKey::FormName), "Formularname"),
        sortable(Some(SortKey::EingangAt), "Eingangsdatum"),
        sortable(None, "Sachbearbeiter:in"),
        sortable(None, "Wiedervorlage"),
    ];

    let rows = result
        .items
        .into_iter()
        .map(|v| Row {
            id: v.id.to_string(),
            status: v.status.label(),
            status_code: v.status.as_str(),
            aktenzeichen: mark(v.aktenzeichen.as_deref().unwrap_or_default()),
            nummer: mark(v.nummer.as_str()),
            form_name: mark(&v.form_name),
            applicant: v.applicant_name.as_deref().map(mark),
            treffer: v.treffer.as_deref().map(mark),
            eingang: fmt::date_time(v.eingang_at),
            eingang_iso: fmt::iso(v.eingang_at),
            assignee: v.assignee.map(|a| a.display_name).unwrap_or_else(|| "–".to_owned()),
            overdue: v.naechste_frist.is_some_and(|f| f < today),
            frist: v.naechste_frist.map(|f| (fmt::day(f), fmt::iso_day(f))),
        })
        .collect();

    let pages = result.total.div_ceil(u64::from(PER_PAGE)).max(1);
    let page = u64::from(query.page) + 1;
    let view_label = match query.view {
        View::Alle => "Alle Vorgänge",
        View::Meine(_) => "Meine Vorgänge",
        View::NichtZugewiesen => "Nicht zugewiesene Vorgänge",
    };
    let mut caption = match query.status {
        Some(s) => format!("{view_label} im Status „{}“", s.label()),
        None => view_label.to_owned(),
    };
    if let Some(text) = current.suche.as_deref() {
        caption.push_str(&format!(", Suche nach „{text}“"));
    }
    if filtered_beyond_text(&current) {
        caption.push_str(", gefiltert");
    }
    caption.push_str(&format!(", sortiert nach {}", sort_label(query.sort)));
    let nav = Nav::new(&auth, "vorgaenge");
    // Typed, but nothing searchable in it ("a", "–"): say so instead of silently showing all.
    let typed = params.suche.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let ignored = typed.filter(|_| query.filter.terms.is_empty());
    let t = WorklistPage {
        flash: ignored
            .map(|text| {
                format!(
                    "Nach „{text}“ wurde nicht gesucht: Suchwörter brauchen mindestens zwei Buchstaben oder Ziffern."
                )
            })
            .or_else(|| flash_text(params.meldung.as_deref())),
        csrf: auth.csrf.clone(),
        base: base.clone(),
        nav,
        views,
        status_filters,
        caption,
        columns,
        rows,
        page,
        pages,
        total: result.total,
        prev_href: (page > 1).then(|| current.with_page(query.page - 1).href(&base)),
        next_href: (page < pages).then(|| current.with_page(query.page + 1).href(&base)),
        due,
        suche: current.suche.clone().or(ignored.map(str::to_owned)).unwrap_or_default(),
        forms,
        units,
        assignees,
        von: current.von.clone().unwrap_or_default(),
        bis: current.bis.clone().unwrap_or_default(),
        hidden,
        filtered: current.is_filtered(),
        reset_href: current.without_filters().href(&base),
    };
    Ok(render(&t))
}

/// Whether filters other than the text search are set.
fn filtered_beyond_text(p: &WorklistParams) -> bool {
    WorklistParams { suche: None, ..p.clone() }.is_filtered()
}

fn sort_label(k: SortKey) -> &'static str {
    match k {
        SortKey::EingangAt => "Eingangsdatum",
        SortKey::Nummer => "Vorgangsnummer",
        SortKey::FormName => "Formularname",
        SortKey::Status => "Status",
        SortKey::Aktenzeichen => "Aktenzeichen",
    }
}
