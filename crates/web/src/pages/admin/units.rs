//! Organisationseinheiten: their Kennung is the `zustaendigeStelle` form services send, by
//! which intake routes an Antrag to its tenant and unit.

use super::{flash, Fields, Invalid, INVALID};
use crate::auth::{AdminUser, Authenticated};
use crate::error::{AppError, PageError};
use crate::pages::{render, see_other, Nav};
use crate::tenancy::{Base, ClientIp};
use crate::AppState;
use app::commands::audit;
use app::provisioning::parse_name;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use domain::tenant::parse_kennung;
use domain::UnitId;
use serde::Deserialize;
use store::{NewUnit, StorageError};

pub struct UnitRow {
    id: String,
    name: String,
    kennung: String,
}

#[derive(Template)]
#[template(path = "admin_einheiten.html")]
struct UnitsPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    units: Vec<UnitRow>,
    name: String,
    kennung: String,
    error: Invalid,
}

#[derive(Deserialize)]
pub struct Params {
    meldung: Option<String>,
}

/// `form` is the form that failed (`""` = the create form) and what was entered in it.
async fn units_page(
    state: &AppState,
    auth: &Authenticated,
    base: &Base,
    failed: Option<(&str, &Fields)>,
    error: Invalid,
    flash_text: Option<String>,
) -> Result<UnitsPage, AppError> {
    let units = state.store.tenant(&auth.tenant).list_units().await?;
    let entered = |form: &str| failed.filter(|(f, _)| *f == form).map(|(_, fields)| fields);
    let rows = units
        .into_iter()
        .map(|u| {
            let id = u.id.to_string();
            match entered(&id) {
                Some(f) => UnitRow { name: f.get("name").to_owned(), kennung: f.get("kennung").to_owned(), id },
                None => UnitRow { id, name: u.name, kennung: u.kennung },
            }
        })
        .collect();
    let (name, kennung) =
        entered("").map_or((String::new(), String::new()), |f| (f.get("name").to_owned(), f.get("kennung").to_owned()));
    Ok(UnitsPage {
        base: base.clone(),
        nav: Nav::new(auth, "einheiten"),
        flash: flash_text,
        csrf: auth.csrf.clone(),
        units: rows,
        name,
        kennung,
        error,
    })
}

pub async fn list(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let page = units_page(&state, &auth, &base, None, Invalid::default(), flash(p.meldung.as_deref())).await?;
    Ok(render(&page))
}

fn parse_unit(f: &Fields) -> Result<(String, String), AppError> {
    let name = parse_name(f.get("name"), "name", "Name der Organisationseinheit")?;
    let kennung = parse_kennung(f.get("kennung")).ok_or_else(|| {
        AppError::bad_request("kennung", "Kennung: Bitte angeben, höchstens 100 Zeichen, ohne Leerzeichen.")
    })?;
    Ok((name, kennung))
}

fn storage_to_form(e: StorageError, kennung: &str) -> AppError {
    match e {
        StorageError::Duplicate(_) => AppError::bad_request(
            "kennung",
            format!(
                "Kennung: „{kennung}“ ist bereits vergeben. Kennungen sind in der ganzen Installation eindeutig, \
                 damit jeder Antrag genau eine zuständige Stelle findet."
            ),
        ),
        other => other.into(),
    }
}

async fn show_error(
    state: &AppState,
    auth: &Authenticated,
    base: &Base,
    form: &str,
    f: &Fields,
    e: AppError,
) -> Result<Response, PageError> {
    let error = Invalid::from_app(form, e)?;
    let page = units_page(state, auth, base, Some((form, f)), error, None).await?;
    Ok((INVALID, render(&page)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields::new(pairs);
    let result = async {
        let (name, kennung) = parse_unit(&f)?;
        let unit = state
            .store
            .tenant(&auth.tenant)
            .create_unit(NewUnit { id: UnitId::new(), name: name.clone(), kennung: kennung.clone() })
            .await
            .map_err(|e| storage_to_form(e, &kennung))?;
        let detail = format!("{name}; Kennung: {kennung}");
        audit(&state.app, &auth.caller(), "einheit_angelegt", Some(unit.id.to_string()), Some(detail), ip.0)
            .await
            .map_err(AppError::from)
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&base, "/admin/einheiten?meldung=einheit-angelegt")),
        Err(e) => show_error(&state, &auth, &base, "", &f, e).await,
    }
}

pub async fn update(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = UnitId::parse(&id).ok_or(AppError::NotFound)?;
    let f = Fields::new(pairs);
    let result = async {
        let (name, kennung) = parse_unit(&f)?;
        let before = state
            .store
            .tenant(&auth.tenant)
            .list_units()
            .await?
            .into_iter()
            .find(|u| u.id == id)
            .ok_or(AppError::NotFound)?;
        state
            .store
            .tenant(&auth.tenant)
            .update_unit(id, &name, &kennung)
            .await
            .map_err(|e| storage_to_form(e, &kennung))?;
        let detail = format!("{} ({}) → {name} ({kennung})", before.name, before.kennung);
        audit(&state.app, &auth.caller(), "einheit_geaendert", Some(id.to_string()), Some(detail), ip.0)
            .await
            .map_err(AppError::from)
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&base, "/admin/einheiten?meldung=einheit-gespeichert")),
        Err(e) => show_error(&state, &auth, &base, &id.to_string(), &f, e).await,
    }
}
