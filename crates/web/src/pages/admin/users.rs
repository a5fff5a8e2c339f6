//! Users of the tenant: list, create, edit, reset a password.

use super::{flash, Choice, Fields, Invalid, INVALID};
use crate::auth::{AdminUser, Authenticated};
use crate::error::{AppError, PageError};
use crate::pages::{render, see_other, Nav};
use crate::tenancy::{Base, ClientIp};
use crate::{fmt, AppState};
use app::users::{self, role_labels, unit_names};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use domain::{Role, UnitId, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use store::{UnitRecord, UserRecord};
use time::OffsetDateTime;

pub struct UserRow {
    id: String,
    display_name: String,
    username: String,
    email: String,
    roles: String,
    units: String,
    status: String,
    active: bool,
}

/// The values of the create form, kept when it is shown again (never the password).
#[derive(Default)]
struct NewUserForm {
    username: String,
    display_name: String,
    email: String,
    roles: Vec<String>,
    units: Vec<String>,
}

/// A just-created account whose one-time password is shown once.
pub struct Issued {
    username: String,
    password: String,
}

#[derive(Template)]
#[template(path = "admin_benutzer.html")]
struct UsersPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    users: Vec<UserRow>,
    username: String,
    display_name: String,
    email: String,
    roles: Vec<Choice>,
    units: Vec<Choice>,
    error: Invalid,
    issued: Option<Issued>,
}

#[derive(Template)]
#[template(path = "admin_benutzer_bearbeiten.html")]
struct EditPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    id: String,
    username: String,
    status: String,
    display_name: String,
    email: String,
    roles: Vec<Choice>,
    /// Roles a tenant admin neither grants nor takes away (platform operation).
    kept_roles: String,
    units: Vec<Choice>,
    disabled: bool,
    is_self: bool,
    oidc_linked: bool,
    error: Invalid,
    new_password: Option<String>,
}

#[derive(Deserialize)]
pub struct Params {
    meldung: Option<String>,
}

fn status(u: &UserRecord, now: OffsetDateTime) -> String {
    if u.disabled {
        return "deaktiviert".to_owned();
    }
    match u.locked_until.filter(|t| *t > now) {
        Some(t) => format!("gesperrt bis {} Uhr", fmt::date_time(t)),
        None => "aktiv".to_owned(),
    }
}

fn role_choices(selected: &[String]) -> Vec<Choice> {
    Role::TENANT_ROLES
        .into_iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: r.label().to_owned(),
            checked: selected.iter().any(|s| s == r.as_str()),
        })
        .collect()
}

fn unit_choices(units: &[UnitRecord], selected: &[String]) -> Vec<Choice> {
    units
        .iter()
        .map(|u| {
            let value = u.id.to_string();
            let checked = selected.contains(&value);
            Choice { value, label: format!("{} ({})", u.name, u.kennung), checked }
        })
        .collect()
}

async fn users_page(
    state: &AppState,
    auth: &Authenticated,
    base: &Base,
    form: NewUserForm,
    error: Invalid,
    issued: Option<Issued>,
    flash_text: Option<String>,
) -> Result<UsersPage, AppError> {
    let users = state.store.tenant(&auth.tenant).list_users().await?;
    let units = state.store.tenant(&auth.tenant).list_units().await?;
    let names: HashMap<UnitId, String> = units.iter().map(|u| (u.id, u.name.clone())).collect();
    let now = OffsetDateTime::now_utc();
    Ok(UsersPage {
        base: base.clone(),
        nav: Nav::new(auth, "benutzer"),
        flash: flash_text,
        csrf: auth.csrf.clone(),
        users: users
            .iter()
            .map(|u| UserRow {
                id: u.id.to_string(),
                display_name: u.display_name.clone(),
                username: u.username.clone(),
                email: u.email.clone().unwrap_or_default(),
                roles: role_labels(&u.roles),
                units: unit_names(&u.units, &names),
                status: status(u, now),
                active: !u.disabled && u.locked_until.is_none_or(|t| t <= now),
            })
            .collect(),
        username: form.username,
        display_name: form.display_name,
        email: form.email,
        roles: role_choices(&form.roles),
        units: unit_choices(&units, &form.units),
        error,
        issued,
    })
}

pub async fn list(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let page =
        users_page(&state, &auth, &base, NewUserForm::default(), Invalid::default(), None, flash(p.meldung.as_deref()))
            .await?;
    Ok(render(&page))
}

pub async fn create(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields::new(pairs);
    let created =
        users::create_user(&state.app, &auth.caller(), f.get("username"), f.get("password"), &user_input(&f), ip.0)
            .await;
    match created {
        Ok((_, None)) => Ok(see_other(&base, "/admin/benutzer?meldung=benutzer-angelegt")),
        Ok((username, Some(password))) => {
            let issued = Some(Issued { username, password });
            let text = Some("Der Benutzer wurde angelegt.".to_owned());
            let page =
                users_page(&state, &auth, &base, NewUserForm::default(), Invalid::default(), issued, text).await?;
            Ok(render(&page))
        }
        Err(e) => {
            let error = Invalid::from_app("", e)?;
            let form = NewUserForm {
                username: f.get("username").to_owned(),
                display_name: f.get("display_name").to_owned(),
                email: f.get("email").to_owned(),
                roles: f.all("roles").map(str::to_owned).collect(),
                units: f.all("units").map(str::to_owned).collect(),
            };
            let page = users_page(&state, &auth, &base, form, error, None, None).await?;
            Ok((INVALID, render(&page)).into_response())
        }
    }
}

/// The admin's form as the application layer takes it.
fn user_input(f: &Fields) -> users::UserInput {
    users::UserInput {
        display_name: f.get("display_name").to_owned(),
        email: f.get("email").to_owned(),
        roles: f.all("roles").map(str::to_owned).collect(),
        units: f.all("units").map(str::to_owned).collect(),
    }
}

fn parse_user_id(id: &str) -> Result<UserId, AppError> {
    UserId::parse(id).ok_or(AppError::NotFound)
}

// The page is shown in several states (plain, with its form's errors, with a new password).
#[allow(clippy::too_many_arguments)]
async fn edit_page(
    state: &AppState,
    auth: &Authenticated,
    base: &Base,
    user: &UserRecord,
    form: Option<&Fields>,
    error: Invalid,
    new_password: Option<String>,
    flash_text: Option<String>,
) -> Result<EditPage, AppError> {
    let units = state.store.tenant(&auth.tenant).list_units().await?;
    let (display_name, email, roles, chosen, disabled) = match form {
        Some(f) => (
            f.get("display_name").to_owned(),
            f.get("email").to_owned(),
            f.all("roles").map(str::to_owned).collect(),
            f.all("units").map(str::to_owned).collect(),
            f.has("disabled"),
        ),
        None => (
            user.display_name.clone(),
            user.email.clone().unwrap_or_default(),
            user.roles.iter().map(|r| r.as_str().to_owned()).collect::<Vec<_>>(),
            user.units.iter().map(ToString::to_string).collect::<Vec<_>>(),
            user.disabled,
        ),
    };
    let kept: Vec<Role> = user.roles.iter().copied().filter(|r| !Role::TENANT_ROLES.contains(r)).collect();
    Ok(EditPage {
        base: base.clone(),
        nav: Nav::new(auth, "benutzer"),
        flash: flash_text,
        csrf: auth.csrf.clone(),
        id: user.id.to_string(),
        username: user.username.clone(),
        status: status(user, OffsetDateTime::now_utc()),
        display_name,
        email,
        roles: role_choices(&roles),
        kept_roles: role_labels(&kept),
        units: unit_choices(&units, &chosen),
        disabled,
        is_self: user.id == auth.user.id,
        oidc_linked: user.oidc_subject.is_some(),
        error,
        new_password,
    })
}

pub async fn edit(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let user = state.store.tenant(&auth.tenant).get_user(parse_user_id(&id)?).await?;
    let page =
        edit_page(&state, &auth, &base, &user, None, Invalid::default(), None, flash(p.meldung.as_deref())).await?;
    Ok(render(&page))
}

pub async fn update(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields::new(pairs);
    let user = state.store.tenant(&auth.tenant).get_user(parse_user_id(&id)?).await?;
    let updated =
        users::update_user(&state.app, &auth.caller(), &auth.user, &user, &user_input(&f), f.has("disabled"), ip.0)
            .await;
    match updated {
        Ok(()) => Ok(see_other(&base, &format!("/admin/benutzer/{}?meldung=benutzer-gespeichert", user.id))),
        Err(e) => {
            let error = Invalid::from_app("", e)?;
            let page = edit_page(&state, &auth, &base, &user, Some(&f), error, None, None).await?;
            Ok((INVALID, render(&page)).into_response())
        }
    }
}

pub async fn reset_password(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let user = state.store.tenant(&auth.tenant).get_user(parse_user_id(&id)?).await?;
    let password = users::reset_password(&state.app, &auth.caller(), &auth.user, &user, ip.0).await?;
    // The lock ended with the new password; show the state as it is now.
    let user = state.store.tenant(&auth.tenant).get_user(user.id).await?;
    let text = Some("Das Passwort wurde zurückgesetzt. Alle Sitzungen des Benutzers wurden beendet.".to_owned());
    // Shown in the response to the POST itself: a redirect would need to keep the password
    // somewhere until the next request.
    let page = edit_page(&state, &auth, &base, &user, None, Invalid::default(), Some(password), text).await?;
    Ok((StatusCode::OK, render(&page)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::TenantId;

    #[test]
    fn lock_shows_in_status() {
        let now = OffsetDateTime::now_utc();
        let mut u = UserRecord {
            id: UserId::new(),
            tenant: TenantId::default_tenant(),
            username: "erika".into(),
            display_name: "Erika Muster".into(),
            email: None,
            roles: vec![Role::Sachbearbeitung],
            units: Vec::new(),
            password_hash: String::new(),
            disabled: false,
            oidc_subject: None,
            failed_logins: 0,
            locked_until: None,
            password_change_required: false,
        };
        assert_eq!(status(&u, now), "aktiv");
        u.locked_until = Some(now + time::Duration::minutes(5));
        assert!(status(&u, now).starts_with("gesperrt bis "));
        u.disabled = true;
        assert_eq!(status(&u, now), "deaktiviert");
    }
}
