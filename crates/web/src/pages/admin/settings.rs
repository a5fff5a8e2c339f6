//! The tenant's own settings: display name and the networks its people may work from. The
//! host name belongs to the operator (it decides where the tenant is reached).

use super::{flash, Fields, Invalid, INVALID};
use crate::auth::{AdminUser, Authenticated};
use crate::error::{AppError, PageError};
use crate::pages::{render, see_other, Nav};
use crate::tenancy::{Base, ClientIp};
use crate::AppState;
use app::commands::audit;
use app::provisioning::parse_name;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use domain::IpAllowlist;
use serde::Deserialize;
use std::net::IpAddr;
use store::{TenantRecord, TenantSettings};

#[derive(Template)]
#[template(path = "admin_einstellungen.html")]
struct SettingsPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    tenant_id: String,
    host: String,
    name: String,
    ip_allowlist: String,
    client_ip: String,
    error: Invalid,
}

#[derive(Deserialize)]
pub struct Params {
    meldung: Option<String>,
}

fn settings_page(
    auth: &Authenticated,
    base: &Base,
    tenant: &TenantRecord,
    ip: ClientIp,
    entered: Option<&Fields>,
    error: Invalid,
    flash_text: Option<String>,
) -> SettingsPage {
    let (name, ip_allowlist) = match entered {
        Some(f) => (f.get("name").to_owned(), f.get("ip_allowlist").to_owned()),
        None => (tenant.name.clone(), tenant.ip_allowlist.join("\n")),
    };
    SettingsPage {
        base: base.clone(),
        nav: Nav::new(auth, "einstellungen"),
        flash: flash_text,
        csrf: auth.csrf.clone(),
        tenant_id: tenant.id.to_string(),
        host: tenant.host.clone().unwrap_or_default(),
        name,
        ip_allowlist,
        client_ip: ip.0.map_or_else(|| "unbekannt".to_owned(), |ip| ip.to_string()),
        error,
    }
}

pub async fn form(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let tenant = state.store.tenant(&auth.tenant).get_tenant().await?;
    Ok(render(&settings_page(&auth, &base, &tenant, ip, None, Invalid::default(), flash(p.meldung.as_deref()))))
}

/// Refuses a list the admin saving it could not work under: the next request would be
/// turned away, and only the operator could undo it.
fn check_not_locked_out(list: &IpAllowlist, ip: Option<IpAddr>) -> Result<(), AppError> {
    if list.is_empty() {
        return Ok(());
    }
    match ip {
        Some(ip) if list.allows(ip) => Ok(()),
        Some(ip) => Err(AppError::bad_request(
            "ip_allowlist",
            format!(
                "Freigegebene Netze: Ihre aktuelle IP-Adresse {ip} liegt in keinem der angegebenen Netze. \
                 Mit dieser Liste würden Sie sich selbst aussperren; bitte nehmen Sie Ihr Netz mit auf."
            ),
        )),
        None => Err(AppError::bad_request(
            "ip_allowlist",
            "Freigegebene Netze: Ihre IP-Adresse ist nicht bekannt, daher lässt sich nicht prüfen, ob Sie sich \
             mit dieser Liste aussperren würden. Bitte wenden Sie sich an den Plattformbetrieb.",
        )),
    }
}

fn describe(list: &[String]) -> String {
    if list.is_empty() {
        "keine Beschränkung".to_owned()
    } else {
        list.join(", ")
    }
}

pub async fn save(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields::new(pairs);
    let tenant = state.store.tenant(&auth.tenant).get_tenant().await?;
    let result = async {
        let name = parse_name(f.get("name"), "name", "Name der Verwaltung")?;
        let list = IpAllowlist::parse(f.get("ip_allowlist"))
            .map_err(|m| AppError::bad_request("ip_allowlist", format!("Freigegebene Netze: {m}")))?;
        check_not_locked_out(&list, ip.0)?;
        let entries = list.entries();
        let mut changes = Vec::new();
        if name != tenant.name {
            changes.push(format!("Name: {} → {name}", tenant.name));
        }
        if entries != tenant.ip_allowlist {
            changes.push(format!("Freigegebene Netze: {} → {}", describe(&tenant.ip_allowlist), describe(&entries)));
        }
        let settings = TenantSettings { name, host: tenant.host.clone(), ip_allowlist: entries };
        state.store.tenant(&tenant.id).update_tenant(settings).await?;
        let detail = if changes.is_empty() { "keine Änderung".to_owned() } else { changes.join("; ") };
        audit(&state.app, &auth.caller(), "einstellungen_geaendert", Some(tenant.id.to_string()), Some(detail), ip.0)
            .await
            .map_err(AppError::from)
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&base, "/admin/einstellungen?meldung=einstellungen-gespeichert")),
        Err(e) => {
            let error = Invalid::from_app("", e)?;
            Ok((INVALID, render(&settings_page(&auth, &base, &tenant, ip, Some(&f), error, None))).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_address_must_stay_allowed() {
        let list = IpAllowlist::parse("10.0.0.0/8").expect("valid");
        let inside: IpAddr = "10.1.2.3".parse().expect("ip");
        let outside: IpAddr = "192.0.2.1".parse().expect("ip");
        assert!(check_not_locked_out(&list, Some(inside)).is_ok());
        assert!(check_not_locked_out(&list, Some(outside)).is_err());
        assert!(check_not_locked_out(&list, None).is_err());
        assert!(check_not_locked_out(&IpAllowlist::default(), None).is_ok());
    }
}
