//! The Wiedervorlagen view across Vorgänge, editing one, marking it done or open again.

use super::vorgang::WiedervorlageView;
use super::{render, see_other, Nav};
use crate::auth::CurrentUser;
use crate::error::PageError;
use crate::fmt;
use crate::tenancy::Base;
use crate::AppState;
use app::commands;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use store::WiedervorlagenQuery;

const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "wiedervorlagen.html")]
struct ListPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    items: Vec<WiedervorlageView>,
    total: u64,
    due: u64,
    include_done: bool,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Deserialize)]
pub struct ListParams {
    alle: Option<String>,
    seite: Option<u32>,
    meldung: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Query(p): Query<ListParams>,
) -> Result<Response, PageError> {
    let include_done = p.alle.as_deref() == Some("1");
    let page = p.seite.unwrap_or(1).clamp(1, 100_000);
    let visibility = auth.user.principal().visibility();
    let today = fmt::today();
    let query = WiedervorlagenQuery {
        visibility: visibility.clone(),
        include_done,
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
    };
    let (items, total) = state.store.tenant(&auth.tenant).wiedervorlagen(&query).await?;
    let due = state.store.tenant(&auth.tenant).count_due_wiedervorlagen(&visibility, today).await?;
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let alle = if include_done { "&alle=1" } else { "" };
    let t = ListPage {
        base: base.clone(),
        nav: Nav::new(&auth, "wiedervorlagen"),
        flash: super::flash_text(p.meldung.as_deref()),
        csrf: auth.csrf.clone(),
        items: items.iter().map(|w| WiedervorlageView::new(w, today)).collect(),
        total,
        due,
        include_done,
        prev_href: (page > 1).then(|| base.link(&format!("/wiedervorlagen?seite={}{alle}", page - 1))),
        next_href: (u64::from(page) < pages).then(|| base.link(&format!("/wiedervorlagen?seite={}{alle}", page + 1))),
    };
    Ok(render(&t))
}

#[derive(Template)]
#[template(path = "wiedervorlage.html")]
struct EditPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    w: WiedervorlageView,
}

pub async fn edit(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = commands::parse_wiedervorlage_id(&id)?;
    let w = commands::load_wiedervorlage(&state.app, &auth.caller(), id).await?;
    let t = EditPage {
        base,
        nav: Nav::new(&auth, "wiedervorlagen"),
        flash: None,
        csrf: auth.csrf.clone(),
        w: WiedervorlageView::new(&w, fmt::today()),
    };
    Ok(render(&t))
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    betreff: String,
    #[serde(default)]
    beschreibung: String,
    #[serde(default)]
    frist: String,
    version: i64,
}

pub async fn save(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> Result<Response, PageError> {
    let id = commands::parse_wiedervorlage_id(&id)?;
    let content = Some((f.betreff.as_str(), f.beschreibung.as_str(), f.frist.as_str()));
    let w = commands::update_wiedervorlage(&state.app, &auth.caller(), id, f.version, content, None).await?;
    Ok(see_other(&base, &format!("/vorgaenge/{}?meldung=wiedervorlage-gespeichert#wiedervorlagen", w.vorgang_id)))
}

#[derive(Deserialize)]
pub struct DoneForm {
    version: i64,
    /// `1` = erledigt, `0` = wieder öffnen.
    erledigt: String,
    /// Where to go back to: `liste` or the Vorgang.
    #[serde(default)]
    zurueck: String,
}

pub async fn set_done(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<DoneForm>,
) -> Result<Response, PageError> {
    let id = commands::parse_wiedervorlage_id(&id)?;
    let done = f.erledigt == "1";
    let w = commands::update_wiedervorlage(&state.app, &auth.caller(), id, f.version, None, Some(done)).await?;
    let code = if done { "wiedervorlage-erledigt" } else { "wiedervorlage-offen" };
    Ok(if f.zurueck == "liste" {
        see_other(&base, &format!("/wiedervorlagen?meldung={code}"))
    } else {
        see_other(&base, &format!("/vorgaenge/{}?meldung={code}#wiedervorlagen", w.vorgang_id))
    })
}
