//! The platform operator's pages: all tenants, setting up a new one, and where each is
//! reached (host name). Operators are the platform tenant's people, so their actions go to
//! the platform tenant's audit log.

use super::{flash, Fields, Invalid, INVALID};
use crate::auth::{Authenticated, CurrentUser};
use crate::error::{AppError, PageError};
use crate::pages::{render, see_other, Nav};
use crate::tenancy::{Base, ClientIp, TenantRouting};
use crate::{fmt, AppState, WebConfig};
use app::commands::audit;
use app::provisioning::{parse_host, provision_tenant, Provisioned, TenantRequest, DEFAULT_ADMIN_USERNAME};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use domain::{TenantId, TenantKind};
use serde::Deserialize;
use store::{StorageError, TenantRecord, TenantSettings};

pub struct TenantRow {
    id: String,
    name: String,
    kind: &'static str,
    host: String,
    created: String,
    created_iso: String,
}

pub struct KindOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// The new tenant's first sign-in, shown once.
pub struct Created {
    name: String,
    id: String,
    admin_username: String,
    password: String,
    login_url: Option<String>,
}

#[derive(Template)]
#[template(path = "betrieb_mandanten.html")]
struct TenantsPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    tenants: Vec<TenantRow>,
    host_routing: bool,
    kinds: Vec<KindOption>,
    name: String,
    id: String,
    host: String,
    admin_email: String,
    admin_username: String,
    default_admin_username: &'static str,
    error: Invalid,
    created: Option<Created>,
}

#[derive(Deserialize)]
pub struct Params {
    meldung: Option<String>,
}

/// Where the tenant's people sign in, if it can be reached yet.
fn login_url(config: &WebConfig, tenant: &TenantRecord) -> Option<String> {
    app::links::Links::new(&config.public_url, config.routing).absolute(tenant, "/login")
}

/// `failed` is the form that failed (`""` = the create form, else a tenant id) and its input.
async fn tenants_page(
    state: &AppState,
    auth: &Authenticated,
    base: &Base,
    failed: Option<(&str, &Fields)>,
    error: Invalid,
    created: Option<Created>,
    flash_text: Option<String>,
) -> Result<TenantsPage, AppError> {
    let tenants = state.store.installation().list_tenants().await?;
    let entered = |form: &str| failed.filter(|(f, _)| *f == form).map(|(_, fields)| fields);
    let create = entered("");
    let value = |name: &str| create.map(|f| f.get(name).to_owned()).unwrap_or_default();
    let kind = value("kind");
    Ok(TenantsPage {
        base: base.clone(),
        nav: Nav::new(auth, "mandanten"),
        flash: flash_text,
        csrf: auth.csrf.clone(),
        tenants: tenants
            .into_iter()
            .map(|t| {
                let id = t.id.to_string();
                let host = match entered(&id) {
                    Some(f) => f.get("host").to_owned(),
                    None => t.host.unwrap_or_default(),
                };
                TenantRow {
                    name: t.name,
                    kind: t.kind.label(),
                    host,
                    created: fmt::date(t.created_at),
                    created_iso: fmt::iso(t.created_at),
                    id,
                }
            })
            .collect(),
        host_routing: state.config.routing == TenantRouting::Host,
        kinds: TenantKind::ALL
            .into_iter()
            .filter(|k| *k != TenantKind::Plattform)
            .map(|k| KindOption { value: k.as_str(), label: k.label(), selected: kind == k.as_str() })
            .collect(),
        name: value("name"),
        id: value("id"),
        host: value("host"),
        admin_email: value("admin_email"),
        admin_username: value("admin_username"),
        default_admin_username: DEFAULT_ADMIN_USERNAME,
        error,
        created,
    })
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let page = tenants_page(&state, &auth, &base, None, Invalid::default(), None, flash(p.meldung.as_deref())).await?;
    Ok(render(&page))
}

fn parse_request(f: &Fields) -> Result<TenantRequest, AppError> {
    let kind = TenantKind::parse(f.get("kind").trim())
        .ok_or_else(|| AppError::bad_request("kind", "Art: Bitte wählen Sie die Art des Mandanten."))?;
    let id = match f.get("id").trim() {
        "" => None,
        s => Some(TenantId::parse(s).ok_or_else(|| {
            AppError::bad_request(
                "id",
                "Kennung: nur Kleinbuchstaben, Ziffern und Bindestriche, höchstens 63 Zeichen (z. B. „stadt-kiel“).",
            )
        })?),
    };
    let optional = |name: &str| Some(f.get(name).trim().to_owned()).filter(|s| !s.is_empty());
    Ok(TenantRequest {
        name: f.get("name").to_owned(),
        kind,
        id,
        host: optional("host"),
        admin_email: f.get("admin_email").to_owned(),
        admin_username: optional("admin_username"),
    })
}

pub async fn create(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields::new(pairs);
    let result = async {
        let req = parse_request(&f)?;
        let Provisioned { tenant, admin_username, one_time_password } =
            provision_tenant(state.store.as_ref(), req).await?;
        let detail = format!("{} ({}); Administration: {admin_username}", tenant.name, tenant.kind.label());
        audit(&state.app, &auth.caller(), "mandant_angelegt", Some(tenant.id.to_string()), Some(detail), ip.0).await?;
        Ok::<_, AppError>(Created {
            login_url: login_url(&state.config, &tenant),
            name: tenant.name,
            id: tenant.id.to_string(),
            admin_username,
            password: one_time_password,
        })
    }
    .await;
    match result {
        Ok(created) => {
            let text = Some(format!("Der Mandant „{}“ wurde angelegt.", created.name));
            // Shown in the answer to the POST itself: the password must not outlive this response.
            let page = tenants_page(&state, &auth, &base, None, Invalid::default(), Some(created), text).await?;
            Ok(render(&page))
        }
        Err(e) => {
            let error = Invalid::from_app("", e)?;
            let page = tenants_page(&state, &auth, &base, Some(("", &f)), error, None, None).await?;
            Ok((INVALID, render(&page)).into_response())
        }
    }
}

pub async fn set_host(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = TenantId::parse(&id).ok_or(AppError::NotFound)?;
    let tenant = state.store.tenant(&id).get_tenant().await?;
    let f = Fields::new(pairs);
    let result = async {
        let host = match f.get("host").trim() {
            "" => None,
            h => Some(parse_host(h)?),
        };
        if host == tenant.host {
            return Ok(());
        }
        let settings =
            TenantSettings { name: tenant.name.clone(), host: host.clone(), ip_allowlist: tenant.ip_allowlist.clone() };
        state.store.tenant(&tenant.id).update_tenant(settings).await.map_err(|e| match e {
            StorageError::Duplicate(_) => AppError::bad_request(
                "host",
                format!(
                    "Hostname: „{}“ ist bereits einem anderen Mandanten zugeordnet.",
                    host.as_deref().unwrap_or_default()
                ),
            ),
            other => other.into(),
        })?;
        let show = |h: &Option<String>| h.clone().unwrap_or_else(|| "keiner".to_owned());
        let detail = format!("{}: {} → {}", tenant.name, show(&tenant.host), show(&host));
        audit(&state.app, &auth.caller(), "mandant_host_geaendert", Some(tenant.id.to_string()), Some(detail), ip.0)
            .await
            .map_err(AppError::from)
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&base, "/betrieb/mandanten?meldung=host-gespeichert")),
        Err(e) => {
            let form = tenant.id.to_string();
            let error = Invalid::from_app(&form, e)?;
            let page = tenants_page(&state, &auth, &base, Some((&form, &f)), error, None, None).await?;
            Ok((INVALID, render(&page)).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_to_request() {
        let f = Fields::new(vec![
            ("name".into(), "Stadt Kiel".into()),
            ("kind".into(), "STADT".into()),
            ("id".into(), "".into()),
            ("host".into(), " ".into()),
            ("admin_email".into(), "it@kiel.example".into()),
        ]);
        let req = parse_request(&f).expect("valid");
        assert_eq!((req.kind, req.id, req.host, req.admin_username), (TenantKind::Stadt, None, None, None));
        let bad = Fields::new(vec![("kind".into(), "STADT".into()), ("id".into(), "Kiel Nord".into())]);
        assert!(matches!(parse_request(&bad), Err(AppError::BadRequest { field: Some(f), .. }) if f == "id"));
    }
}
