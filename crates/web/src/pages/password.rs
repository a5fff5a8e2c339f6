//! "Passwort ändern": every person with a password changes it here; one who holds a
//! one-time password (set by an admin) is sent here before anything else (see
//! `policy::authorize`).

use super::{render, see_other, Nav};
use crate::auth::{self, Authenticated, CurrentUser};
use crate::error::{AppError, PageError};
use crate::tenancy::{Base, ClientIp};
use crate::AppState;
use app::commands;
use askama::Template;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "passwort.html")]
struct PasswordPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    username: String,
    required: bool,
    error: Option<String>,
}

fn page(auth: &Authenticated, base: &Base, status: StatusCode, error: Option<String>) -> Response {
    let page = PasswordPage {
        base: base.clone(),
        // No navigation while the password must be changed: nothing else is reachable.
        nav: if auth.user.password_change_required { None } else { Nav::new(auth, "") },
        flash: None,
        csrf: auth.csrf.clone(),
        username: auth.user.username.clone(),
        required: auth.user.password_change_required,
        error,
    };
    (status, render(&page)).into_response()
}

pub async fn form(CurrentUser(auth): CurrentUser, base: Base) -> Response {
    page(&auth, &base, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    aktuell: String,
    #[serde(default)]
    neu: String,
    #[serde(default)]
    wiederholung: String,
}

pub async fn change(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    Extension(ip): Extension<ClientIp>,
    base: Base,
    Form(f): Form<ChangeForm>,
) -> Result<Response, PageError> {
    let refuse = |message: &str| Ok(page(&auth, &base, StatusCode::BAD_REQUEST, Some(message.to_owned())));
    let now = time::OffsetDateTime::now_utc();
    // Guessing the current password in a borrowed session counts like failed logins.
    let user = state.store.tenant(&auth.tenant).get_user(auth.user.id).await?;
    if user.locked_until.is_some_and(|until| until > now) {
        return Ok(page(
            &auth,
            &base,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Nach zu vielen Fehlversuchen ist das Konto vorübergehend gesperrt.".to_owned()),
        ));
    }
    if !crate::session::verify_password(&f.aktuell, &user.password_hash).await? {
        state.store.tenant(&auth.tenant).record_login_failure(user.id, now).await?;
        let caller = auth.caller();
        commands::audit(
            &state.app,
            &caller,
            "passwort_aenderung_fehlgeschlagen",
            Some(user.id.to_string()),
            None,
            ip.0,
        )
        .await?;
        return refuse("Das bisherige Passwort stimmt nicht.");
    }
    if f.neu != f.wiederholung {
        return refuse("Die beiden neuen Passwörter stimmen nicht überein.");
    }
    if f.neu == f.aktuell {
        return refuse("Das neue Passwort muss sich vom bisherigen unterscheiden.");
    }
    if let Err(e) = auth::check_password_rules(&f.neu, &auth.user.username) {
        return refuse(&e.to_string());
    }
    let hash = app::provisioning::hash_password_blocking(f.neu).await?;
    // Ends every session of the user, this one included: the new password opens the next.
    state.store.tenant(&auth.tenant).set_password(auth.user.id, &hash).await?;
    let caller = auth.caller();
    commands::audit(&state.app, &caller, "passwort_geaendert", Some(auth.user.id.to_string()), None, ip.0).await?;
    Ok(see_other(&base, "/login?meldung=passwort-geaendert"))
}

/// Where a person with a one-time password is sent instead of the page they asked for.
pub fn required_response(is_api: bool, base: &Base) -> Response {
    if is_api {
        AppError::PasswordChangeRequired.into_response()
    } else {
        see_other(base, "/passwort")
    }
}
