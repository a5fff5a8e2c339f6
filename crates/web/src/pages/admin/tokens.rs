//! API tokens for form services and Fachverfahren. Only the hash is stored; the token is
//! shown once, in the answer to the form that created it.

use super::{flash, Choice, Fields, Invalid, INVALID};
use crate::auth::{new_token, token_hash, AdminUser, Authenticated, API_TOKEN_PREFIX};
use crate::error::{AppError, PageError};
use crate::pages::{render, see_other, Nav};
use crate::tenancy::{Base, ClientIp};
use crate::{fmt, AppState};
use app::commands::audit;
use app::provisioning::parse_name;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use domain::{ApiTokenId, TokenScope};
use serde::Deserialize;
use store::NewApiToken;
use time::OffsetDateTime;

pub struct TokenRow {
    id: String,
    name: String,
    scopes: String,
    created: String,
    created_iso: String,
    created_by: String,
    last_used: String,
    revoked: Option<String>,
}

pub struct IssuedToken {
    name: String,
    token: String,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    tokens: Vec<TokenRow>,
    name: String,
    scopes: Vec<Choice>,
    error: Invalid,
    issued: Option<IssuedToken>,
}

#[derive(Deserialize)]
pub struct Params {
    meldung: Option<String>,
}

fn scope_labels(scopes: &[TokenScope]) -> String {
    scopes.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")
}

async fn tokens_page(
    state: &AppState,
    auth: &Authenticated,
    base: &Base,
    entered: Option<&Fields>,
    error: Invalid,
    issued: Option<IssuedToken>,
    flash_text: Option<String>,
) -> Result<TokensPage, AppError> {
    let tokens = state.store.tenant(&auth.tenant).list_api_tokens().await?;
    let chosen: Vec<&str> = entered.map(|f| f.all("scopes").collect()).unwrap_or_default();
    Ok(TokensPage {
        base: base.clone(),
        nav: Nav::new(auth, "tokens"),
        flash: flash_text,
        csrf: auth.csrf.clone(),
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                scopes: scope_labels(&t.scopes),
                created: fmt::date_time(t.created_at),
                created_iso: fmt::iso(t.created_at),
                created_by: t.created_by,
                last_used: t.last_used_at.map_or_else(|| "nie".to_owned(), fmt::date_time),
                revoked: t.revoked_at.map(fmt::date_time),
                name: t.name,
            })
            .collect(),
        name: entered.map(|f| f.get("name").to_owned()).unwrap_or_default(),
        scopes: TokenScope::ALL
            .into_iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: s.label().to_owned(),
                checked: chosen.contains(&s.as_str()),
            })
            .collect(),
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
    let page = tokens_page(&state, &auth, &base, None, Invalid::default(), None, flash(p.meldung.as_deref())).await?;
    Ok(render(&page))
}

fn parse_scopes(f: &Fields) -> Result<Vec<TokenScope>, AppError> {
    let mut scopes = Vec::new();
    for value in f.all("scopes") {
        let scope = TokenScope::parse(value)
            .ok_or_else(|| AppError::bad_request("scopes", "Berechtigungen: Diese Berechtigung gibt es nicht."))?;
        scopes.push(scope);
    }
    if scopes.is_empty() {
        return Err(AppError::bad_request("scopes", "Berechtigungen: Bitte wählen Sie mindestens eine aus."));
    }
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
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
        let name = parse_name(f.get("name"), "name", "Name des Tokens")?;
        let scopes = parse_scopes(&f)?;
        let token = format!("{API_TOKEN_PREFIX}{}", new_token());
        let record = state
            .store
            .tenant(&auth.tenant)
            .create_api_token(NewApiToken {
                id: ApiTokenId::new(),
                name: name.clone(),
                scopes: scopes.clone(),
                token_hash: token_hash(&token),
                created_at: OffsetDateTime::now_utc(),
                created_by: auth.user.display_name.clone(),
            })
            .await?;
        let detail = format!("{name}; Berechtigungen: {}", scope_labels(&scopes));
        audit(&state.app, &auth.caller(), "token_erstellt", Some(record.id.to_string()), Some(detail), ip.0).await?;
        Ok::<_, AppError>(IssuedToken { name, token })
    }
    .await;
    match result {
        Ok(issued) => {
            let text = Some("Das API-Token wurde erstellt.".to_owned());
            let page = tokens_page(&state, &auth, &base, None, Invalid::default(), Some(issued), text).await?;
            Ok(render(&page))
        }
        Err(e) => {
            let error = Invalid::from_app("", e)?;
            let page = tokens_page(&state, &auth, &base, Some(&f), error, None, None).await?;
            Ok((INVALID, render(&page)).into_response())
        }
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = ApiTokenId::parse(&id).ok_or(AppError::NotFound)?;
    let token = state
        .store
        .tenant(&auth.tenant)
        .list_api_tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(AppError::NotFound)?;
    if token.revoked_at.is_none() {
        state.store.tenant(&auth.tenant).revoke_api_token(id, OffsetDateTime::now_utc()).await?;
        audit(&state.app, &auth.caller(), "token_widerrufen", Some(id.to_string()), Some(token.name), ip.0).await?;
    }
    Ok(see_other(&base, "/admin/tokens?meldung=token-widerrufen"))
}
