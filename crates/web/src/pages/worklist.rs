use super::{flash_text, render, Nav};
use crate::auth::CurrentUser;
use crate::error::PageError;
use crate::fmt;
use crate::worklist_params::{WorklistParams, PER_PAGE};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use domain::VorgangStatus;
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

pub struct Row {
    id: String,
    status: &'static str,
    status_code: &'static str,
    aktenzeichen: String,
    nummer: String,
    form_name: String,
    applicant: Option<String>,
    eingang: String,
    eingang_iso: String,
    assignee: String,
    frist: Option<(String, String)>,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "worklist.html")]
struct WorklistPage {
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
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    Query(params): Query<WorklistParams>,
) -> Result<Response, PageError> {
    let query = params.to_query(Some(auth.user.id), auth.user.principal().visibility());
    let today = fmt::today();
    let (result, due) = tokio::try_join!(
        state.store.worklist(&auth.tenant, &query),
        state.store.count_due_wiedervorlagen(&auth.tenant, &query.visibility, today),
    )?;
    let current = params.normalized(&query);

    let views = [("Alle", "alle"), ("Meine", "meine"), ("Nicht zugewiesen", "nicht-zugewiesen")]
        .into_iter()
        .map(|(label, code)| Tab {
            label,
            href: current.with_view(code).href(),
            active: current.ansicht.as_deref() == Some(code),
        })
        .collect();

    let mut status_filters = vec![StatusFilter {
        label: "Alle Status",
        count: result.counts.total(),
        href: current.with_status(None).href(),
        active: query.status.is_none(),
    }];
    status_filters.extend(VorgangStatus::WORKLIST.into_iter().map(|s| StatusFilter {
        label: s.label(),
        count: result.counts.get(s),
        href: current.with_status(Some(s)).href(),
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
                href: Some(current.with_sort(k, descending).href()),
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
            aktenzeichen: v.aktenzeichen.unwrap_or_default(),
            nummer: v.nummer.to_string(),
            form_name: v.form_name,
            applicant: v.applicant_name,
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
    let caption = match query.status {
        Some(s) => format!("{view_label} im Status „{}“, sortiert nach {}", s.label(), sort_label(query.sort)),
        None => format!("{view_label}, sortiert nach {}", sort_label(query.sort)),
    };
    let nav = Nav::new(&auth, "vorgaenge");
    let t = WorklistPage {
        flash: flash_text(params.meldung.as_deref()),
        csrf: auth.csrf.clone(),
        nav,
        views,
        status_filters,
        caption,
        columns,
        rows,
        page,
        pages,
        total: result.total,
        prev_href: (page > 1).then(|| current.with_page(query.page - 1).href()),
        next_href: (page < pages).then(|| current.with_page(query.page + 1).href()),
        due,
    };
    Ok(render(&t))
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
