//! Login through an OpenID provider (authorization code + PKCE).
//!
//! Accounts are created by the tenant's administration (or the CLI); the provider only proves
//! who someone is. The identity is matched by its linked subject, else linked once to the
//! account with the same login name **and** the same e-mail address — an address the tenant's
//! admin entered — so a provider shared by many tenants cannot hand one tenant's `admin` to
//! someone who merely has that name. A person known to the provider but not to this tenant
//! gets no access here. Clerk roles (Sachbearbeitung, Poststelle, Löschberechtigt) and unit
//! Kennungen in the token's claims replace the local ones when at least one is recognised;
//! Admin and Betrieb are only ever assigned locally.

use super::{error_page, login::signed_in};
use crate::auth::{self, Caller};
use crate::error::PageError;
use crate::oidc::{OidcIdentity, PendingLogin};
use crate::policy::Routes;
use crate::tenancy::{Base, ClientIp, TenantContext};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use domain::{Permission, Role};
use serde::Deserialize;
use store::{UserRecord, UserUpdate};

const PENDING_COOKIE: &str = "ozg_oidc";

pub fn routes(r: Routes) -> Routes {
    r.get("/anmelden/oidc", Permission::Public, start).get("/anmelden/oidc/rueckkehr", Permission::Public, callback)
}

/// Where the provider sends the browser back: the tenant's own address (host or prefix).
fn redirect_uri(state: &AppState, ctx: &TenantContext) -> String {
    let public = &state.config.public_url;
    match (&ctx.tenant.host, state.config.routing) {
        (Some(host), crate::tenancy::TenantRouting::Host) => {
            let scheme = public.split("://").next().unwrap_or("https");
            format!("{scheme}://{host}/anmelden/oidc/rueckkehr")
        }
        _ => format!("{public}{}/anmelden/oidc/rueckkehr", ctx.base),
    }
}

async fn start(State(state): State<AppState>, Extension(ctx): Extension<TenantContext>, base: Base) -> Response {
    let Some(client) = &state.oidc else {
        return error_page(
            &base,
            StatusCode::NOT_FOUND,
            "Die Anmeldung über einen Identitätsanbieter ist nicht eingerichtet.",
        );
    };
    let (url, pending) = client.start(&redirect_uri(&state, &ctx));
    let cookie = auth::set_cookie(&base, PENDING_COOKIE, &pending.encode(), 600, state.config.secure_cookies);
    (StatusCode::SEE_OTHER, [(header::LOCATION, url), (header::SET_COOKIE, cookie)]).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn refused(base: &Base, message: &str) -> Response {
    error_page(base, StatusCode::FORBIDDEN, message)
}

async fn callback(
    State(state): State<AppState>,
    Extension(ctx): Extension<TenantContext>,
    Extension(ip): Extension<ClientIp>,
    base: Base,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, PageError> {
    let Some(client) = &state.oidc else {
        return Ok(error_page(
            &base,
            StatusCode::NOT_FOUND,
            "Die Anmeldung über einen Identitätsanbieter ist nicht eingerichtet.",
        ));
    };
    let pending = auth::cookies(&headers, PENDING_COOKIE).iter().find_map(|c| PendingLogin::decode(c));
    let (Some(pending), Some(code), Some(returned_state), None) = (pending, q.code, q.state, q.error) else {
        return Ok(refused(
            &base,
            "Die Anmeldung wurde abgebrochen oder ist abgelaufen. Bitte versuchen Sie es erneut.",
        ));
    };
    let identity = match client.finish(&pending, &redirect_uri(&state, &ctx), &code, &returned_state).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(error = %e, "oidc: login refused");
            return Ok(refused(&base, "Die Anmeldung beim Identitätsanbieter konnte nicht bestätigt werden."));
        }
    };
    let Some(user) = account_for(&state, &ctx, &identity).await? else {
        crate::session::audit_login(
            &state,
            &ctx,
            None,
            "anmeldung_fehlgeschlagen",
            Some("OIDC: kein Konto".into()),
            ip.0,
        )
        .await?;
        return Ok(refused(
            &base,
            "Für Ihr Verwaltungskonto gibt es hier kein Benutzerkonto. Bitte wenden Sie sich an die Administration.",
        ));
    };
    if user.disabled {
        crate::session::audit_login(&state, &ctx, Some(&user), "anmeldung_fehlgeschlagen", None, ip.0).await?;
        return Ok(refused(&base, "Dieses Benutzerkonto ist deaktiviert."));
    }
    if user.locked_until.is_some_and(|until| until > time::OffsetDateTime::now_utc()) {
        crate::session::audit_login(&state, &ctx, Some(&user), "anmeldung_gesperrt", None, ip.0).await?;
        return Ok(refused(&base, "Dieses Benutzerkonto ist nach zu vielen Fehlversuchen vorübergehend gesperrt."));
    }
    let mut user = apply_claims(&state, &ctx, user, &identity).await?;
    if user.password_change_required {
        // Signed in through the identity provider: the one-time password is not needed, and
        // stops working (a random one replaces it) instead of being forced to change.
        let hash = app::provisioning::hash_password_blocking(crate::auth::new_token()).await?;
        state.store.tenant(ctx.id()).set_password(user.id, &hash).await?;
        user = state.store.tenant(ctx.id()).get_user(user.id).await?;
    }
    let token = crate::session::open_session(&state, &ctx, &user).await?;
    let caller = Caller {
        tenant: ctx.id().clone(),
        principal: user.principal(),
        actor: store::Actor { user: Some(user.id), name: user.display_name.clone() },
        user: Some(user.id),
    };
    app::commands::audit(&state.app, &caller, "anmeldung_oidc", Some(user.id.to_string()), None, ip.0).await?;
    let mut res = signed_in(&state, &base, &token);
    let clear = auth::set_cookie(&base, PENDING_COOKIE, "", 0, state.config.secure_cookies);
    if let Ok(v) = clear.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// The tenant's account for this identity, linked on first use.
async fn account_for(
    state: &AppState,
    ctx: &TenantContext,
    id: &OidcIdentity,
) -> Result<Option<UserRecord>, PageError> {
    let tenant = ctx.id();
    let subject = format!("{}|{}", id.issuer, id.subject);
    if let Some(user) = state.store.tenant(tenant).find_user_by_oidc_subject(&subject).await? {
        return Ok(Some(user));
    }
    let by_name = match id.username.as_deref().and_then(domain::Username::parse) {
        Some(name) => state.store.tenant(tenant).find_user_by_username(name.as_str()).await?,
        None => None,
    };
    let same_address = |u: &UserRecord| match (&u.email, &id.email) {
        (Some(local), Some(theirs)) => local.trim().eq_ignore_ascii_case(theirs.trim()),
        _ => false,
    };
    // An account already linked to another identity is not taken over.
    let Some(user) = by_name.filter(|u| u.oidc_subject.is_none() && same_address(u)) else {
        return Ok(None);
    };
    state.store.tenant(tenant).link_oidc_subject(user.id, &subject).await?;
    Ok(Some(user))
}

/// Roles and units from the token's claims, where it names any this system knows.
async fn apply_claims(
    state: &AppState,
    ctx: &TenantContext,
    user: UserRecord,
    id: &OidcIdentity,
) -> Result<UserRecord, PageError> {
    const FROM_CLAIMS: [Role; 3] = [Role::Sachbearbeitung, Role::Poststelle, Role::Loeschberechtigt];
    let claimed: Vec<Role> =
        id.roles.iter().filter_map(|r| FROM_CLAIMS.into_iter().find(|role| role.as_str() == r.trim())).collect();
    let known = state.store.tenant(ctx.id()).list_units().await?;
    let units: Vec<domain::UnitId> =
        id.units.iter().filter_map(|k| known.iter().find(|u| &u.kennung == k).map(|u| u.id)).collect();
    if claimed.is_empty() && units.is_empty() {
        return Ok(user);
    }
    let roles = if claimed.is_empty() {
        user.roles.clone()
    } else {
        let mut roles = claimed;
        roles.extend(user.roles.iter().copied().filter(|r| !FROM_CLAIMS.contains(r)));
        domain::user::normalize_roles(roles)
    };
    let update = UserUpdate {
        display_name: id.name.clone().unwrap_or_else(|| user.display_name.clone()),
        email: user.email.clone(),
        roles,
        units: if units.is_empty() { user.units.clone() } else { units },
        disabled: user.disabled,
    };
    Ok(state.store.tenant(ctx.id()).update_user(user.id, update).await?)
}
