//! Users of the tenant: list, create, edit, reset a password.

use super::{flash, Choice, Fields, Invalid, INVALID};
use crate::auth::{check_password_rules, AdminUser, Authenticated};
use crate::error::{AppError, PageError};
use crate::pages::{render, see_other, Nav};
use crate::tenancy::ClientIp;
use crate::{fmt, AppState};
use app::commands::audit;
use app::provisioning::{hash_password_blocking, one_time_password, parse_email, parse_name};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use domain::user::normalize_roles;
use domain::{Role, UnitId, UserId, Username};
use serde::Deserialize;
use std::collections::HashMap;
use store::{NewUser, StorageError, UnitRecord, UserRecord, UserUpdate};
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

fn role_labels(roles: &[Role]) -> String {
    roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
}

fn unit_names(ids: &[UnitId], names: &HashMap<UnitId, String>) -> String {
    ids.iter().map(|id| names.get(id).map_or("(unbekannt)", String::as_str)).collect::<Vec<_>>().join(", ")
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
    form: NewUserForm,
    error: Invalid,
    issued: Option<Issued>,
    flash_text: Option<String>,
) -> Result<UsersPage, AppError> {
    let users = state.store.list_users(&auth.tenant).await?;
    let units = state.store.list_units(&auth.tenant).await?;
    let names: HashMap<UnitId, String> = units.iter().map(|u| (u.id, u.name.clone())).collect();
    let now = OffsetDateTime::now_utc();
    Ok(UsersPage {
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
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let page = users_page(&state, &auth, NewUserForm::default(), Invalid::default(), None, flash(p.meldung.as_deref()))
        .await?;
    Ok(render(&page))
}

/// What both forms set on a user.
struct Profile {
    display_name: String,
    email: Option<String>,
    roles: Vec<Role>,
    units: Vec<UnitId>,
}

fn parse_profile(f: &Fields, units: &[UnitRecord]) -> Result<Profile, AppError> {
    let display_name = parse_name(f.get("display_name"), "display_name", "Name")?;
    let email = parse_email(f.get("email"), "email")?;
    let mut roles = Vec::new();
    for value in f.all("roles") {
        match Role::parse(value).filter(|r| Role::TENANT_ROLES.contains(r)) {
            Some(r) => roles.push(r),
            None => return Err(AppError::bad_request("roles", "Rollen: Diese Rolle gibt es nicht.")),
        }
    }
    let mut chosen = Vec::new();
    for value in f.all("units") {
        match UnitId::parse(value).filter(|id| units.iter().any(|u| u.id == *id)) {
            Some(id) => chosen.push(id),
            None => {
                return Err(AppError::bad_request(
                    "units",
                    "Organisationseinheiten: Diese Einheit gibt es nicht (mehr). Bitte laden Sie die Seite neu.",
                ))
            }
        }
    }
    chosen.sort();
    chosen.dedup();
    Ok(Profile { display_name, email, roles: normalize_roles(roles), units: chosen })
}

fn storage_to_form(e: StorageError) -> AppError {
    match e {
        StorageError::Duplicate("username") => {
            AppError::bad_request("username", "Benutzername: Dieser Benutzername ist bereits vergeben.")
        }
        StorageError::InvalidReference(_) => AppError::bad_request(
            "units",
            "Organisationseinheiten: Eine gewählte Einheit gibt es nicht (mehr). Bitte laden Sie die Seite neu.",
        ),
        other => other.into(),
    }
}

pub async fn create(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    Extension(ip): Extension<ClientIp>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields::new(pairs);
    let units = state.store.list_units(&auth.tenant).await?;
    match create_user(&state, &auth, ip, &f, &units).await {
        Ok((_, None)) => Ok(see_other("/admin/benutzer?meldung=benutzer-angelegt")),
        Ok((username, Some(password))) => {
            let issued = Some(Issued { username, password });
            let text = Some("Der Benutzer wurde angelegt.".to_owned());
            let page = users_page(&state, &auth, NewUserForm::default(), Invalid::default(), issued, text).await?;
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
            let page = users_page(&state, &auth, form, error, None, None).await?;
            Ok((INVALID, render(&page)).into_response())
        }
    }
}

/// The new user's name and, if the admin left the password empty, the generated one.
async fn create_user(
    state: &AppState,
    auth: &Authenticated,
    ip: ClientIp,
    f: &Fields,
    units: &[UnitRecord],
) -> Result<(String, Option<String>), AppError> {
    let username = Username::parse(f.get("username")).ok_or_else(|| {
        AppError::bad_request("username", "Benutzername: 2 bis 64 Zeichen aus Buchstaben, Ziffern und . _ - @.")
    })?;
    let username = username.as_str().to_owned();
    let profile = parse_profile(f, units)?;
    let typed = f.get("password");
    let (password, generated) = if typed.is_empty() {
        let pw = one_time_password(&username);
        (pw.clone(), Some(pw))
    } else {
        check_password_rules(typed, &username)?;
        (typed.to_owned(), None)
    };
    let password_hash = hash_password_blocking(password).await?;
    let user = state
        .store
        .create_user(NewUser {
            id: UserId::new(),
            tenant: auth.tenant.clone(),
            username: username.clone(),
            display_name: profile.display_name,
            email: profile.email,
            roles: profile.roles,
            units: profile.units,
            password_hash,
            oidc_subject: None,
        })
        .await
        .map_err(storage_to_form)?;
    // Whatever the admin typed or was given is known to the admin: one-time, changed at the
    // first login.
    state.store.require_password_change(&auth.tenant, user.id).await?;
    let detail = format!("{}; Rollen: {}", user.username, or_none(&role_labels(&user.roles)));
    audit(&state.app, &auth.caller(), "benutzer_angelegt", Some(user.id.to_string()), Some(detail), ip.0).await?;
    Ok((username, generated))
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "keine"
    } else {
        s
    }
}

fn parse_user_id(id: &str) -> Result<UserId, AppError> {
    UserId::parse(id).ok_or(AppError::NotFound)
}

async fn edit_page(
    state: &AppState,
    auth: &Authenticated,
    user: &UserRecord,
    form: Option<&Fields>,
    error: Invalid,
    new_password: Option<String>,
    flash_text: Option<String>,
) -> Result<EditPage, AppError> {
    let units = state.store.list_units(&auth.tenant).await?;
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
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let user = state.store.get_user(&auth.tenant, parse_user_id(&id)?).await?;
    let page = edit_page(&state, &auth, &user, None, Invalid::default(), None, flash(p.meldung.as_deref())).await?;
    Ok(render(&page))
}

pub async fn update(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields::new(pairs);
    let user = state.store.get_user(&auth.tenant, parse_user_id(&id)?).await?;
    outranks(&auth, &user)?;
    match update_user(&state, &auth, ip, &user, &f).await {
        Ok(()) => Ok(see_other(&format!("/admin/benutzer/{}?meldung=benutzer-gespeichert", user.id))),
        Err(e) => {
            let error = Invalid::from_app("", e)?;
            let page = edit_page(&state, &auth, &user, Some(&f), error, None, None).await?;
            Ok((INVALID, render(&page)).into_response())
        }
    }
}

async fn update_user(
    state: &AppState,
    auth: &Authenticated,
    ip: ClientIp,
    user: &UserRecord,
    f: &Fields,
) -> Result<(), AppError> {
    let units = state.store.list_units(&auth.tenant).await?;
    let profile = parse_profile(f, &units)?;
    let disabled = f.has("disabled");
    let roles = keep_foreign_roles(&user.roles, profile.roles);
    if user.id == auth.user.id {
        if !roles.contains(&Role::Admin) {
            return Err(AppError::bad_request(
                "roles",
                "Rollen: Sie können sich die Rolle Mandanten-Admin nicht selbst entziehen. \
                 Bitten Sie eine andere Administratorin oder einen anderen Administrator darum.",
            ));
        }
        if disabled {
            return Err(AppError::bad_request("disabled", "Sie können Ihr eigenes Konto nicht deaktivieren."));
        }
    }
    let update =
        UserUpdate { display_name: profile.display_name, email: profile.email, roles, units: profile.units, disabled };
    let detail = describe_changes(user, &update, &units);
    state.store.update_user(&auth.tenant, user.id, update).await.map_err(storage_to_form)?;
    audit(&state.app, &auth.caller(), "benutzer_geaendert", Some(user.id.to_string()), Some(detail), ip.0)
        .await
        .map_err(AppError::from)
}

/// A tenant admin may not take over an account holding a platform role (Betrieb) they lack:
/// no editing, disabling or password reset of it.
fn outranks(auth: &Authenticated, user: &UserRecord) -> Result<(), AppError> {
    let foreign = user.roles.iter().any(|r| !Role::TENANT_ROLES.contains(r) && !auth.user.has_role(*r));
    if foreign {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// The tenant admin's form shows only the tenant roles; platform roles the user already has
/// (Betrieb) stay as they are.
fn keep_foreign_roles(current: &[Role], chosen: Vec<Role>) -> Vec<Role> {
    let mut roles = chosen;
    roles.extend(current.iter().copied().filter(|r| !Role::TENANT_ROLES.contains(r)));
    normalize_roles(roles)
}

/// What changed, for the audit log.
fn describe_changes(before: &UserRecord, after: &UserUpdate, units: &[UnitRecord]) -> String {
    let mut changes = Vec::new();
    if before.display_name != after.display_name {
        changes.push(format!("Name: {}", after.display_name));
    }
    if before.email != after.email {
        changes.push(format!("E-Mail: {}", after.email.as_deref().unwrap_or("keine")));
    }
    if before.roles != after.roles {
        changes.push(format!("Rollen: {}", or_none(&role_labels(&after.roles))));
    }
    let mut before_units = before.units.clone();
    before_units.sort();
    if before_units != after.units {
        let names: HashMap<UnitId, String> = units.iter().map(|u| (u.id, u.name.clone())).collect();
        changes.push(format!("Einheiten: {}", or_none(&unit_names(&after.units, &names))));
    }
    if before.disabled != after.disabled {
        changes.push(if after.disabled { "deaktiviert" } else { "wieder aktiviert" }.to_owned());
    }
    if changes.is_empty() {
        changes.push("keine Änderung".to_owned());
    }
    format!("{}: {}", before.username, changes.join("; "))
}

pub async fn reset_password(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let user = state.store.get_user(&auth.tenant, parse_user_id(&id)?).await?;
    outranks(&auth, &user)?;
    let password = one_time_password(&user.username);
    let hash = hash_password_blocking(password.clone()).await?;
    state.store.set_password(&auth.tenant, user.id, &hash).await?;
    state.store.require_password_change(&auth.tenant, user.id).await?;
    audit(
        &state.app,
        &auth.caller(),
        "passwort_zurueckgesetzt",
        Some(user.id.to_string()),
        Some(user.username.clone()),
        ip.0,
    )
    .await?;
    // The lock ended with the new password; show the state as it is now.
    let user = state.store.get_user(&auth.tenant, user.id).await?;
    let text = Some("Das Passwort wurde zurückgesetzt. Alle Sitzungen des Benutzers wurden beendet.".to_owned());
    // Shown in the response to the POST itself: a redirect would need to keep the password
    // somewhere until the next request.
    let page = edit_page(&state, &auth, &user, None, Invalid::default(), Some(password), text).await?;
    Ok((StatusCode::OK, render(&page)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::TenantId;

    fn user() -> UserRecord {
        UserRecord {
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
        }
    }

    #[test]
    fn platform_roles_survive_the_tenant_form() {
        assert_eq!(
            keep_foreign_roles(&[Role::Admin, Role::Betrieb], vec![Role::Admin]),
            vec![Role::Admin, Role::Betrieb]
        );
        assert_eq!(keep_foreign_roles(&[Role::Admin], vec![]), Vec::<Role>::new());
    }

    #[test]
    fn changes_are_described() {
        let before = user();
        let after = UserUpdate {
            display_name: "Erika Muster".into(),
            email: None,
            roles: vec![Role::Sachbearbeitung, Role::Poststelle],
            units: Vec::new(),
            disabled: true,
        };
        assert_eq!(describe_changes(&before, &after, &[]), "erika: Rollen: Sachbearbeiter:in, Poststelle; deaktiviert");
        let same = UserUpdate { roles: before.roles.clone(), disabled: false, ..after };
        assert_eq!(describe_changes(&before, &same, &[]), "erika: keine Änderung");
    }

    #[test]
    fn lock_shows_in_status() {
        let now = OffsetDateTime::now_utc();
        let mut u = user();
        assert_eq!(status(&u, now), "aktiv");
        u.locked_until = Some(now + time::Duration::minutes(5));
        assert!(status(&u, now).starts_with("gesperrt bis "));
        u.disabled = true;
        assert_eq!(status(&u, now), "deaktiviert");
    }
}
