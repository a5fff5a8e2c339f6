use super::{flash_text, render, see_other, Nav};
use crate::auth::AdminUser;
use crate::error::{AppError, PageError};
use crate::fmt;
use crate::tenancy::Base;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use store::{DeliveryId, DeliveryStatus};

const PER_PAGE: u32 = 50;

pub struct QuarantineRow {
    id: String,
    received: String,
    received_iso: String,
    channel: String,
    field: String,
    message: String,
    size: String,
    attempts: u32,
}

#[derive(Template)]
#[template(path = "quarantine.html")]
struct QuarantinePage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    items: Vec<QuarantineRow>,
    total: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
    /// The "nicht zuordenbar" list instead of the faulty deliveries.
    unroutable: bool,
}

#[derive(Deserialize)]
pub struct Params {
    seite: Option<u32>,
    liste: Option<String>,
    meldung: Option<String>,
}

pub fn parse_delivery_id(s: &str) -> Result<DeliveryId, AppError> {
    uuid::Uuid::parse_str(s).map(DeliveryId).map_err(|_| AppError::NotFound)
}

pub async fn page(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    // Bounded, so the offset cannot overflow whatever the URL says.
    let page = p.seite.unwrap_or(1).clamp(1, 100_000);
    let unroutable = p.liste.as_deref() == Some("nicht-zuordenbar");
    let status = if unroutable { DeliveryStatus::Unroutable } else { DeliveryStatus::Quarantined };
    let (items, total) =
        state.store.tenant(&auth.tenant).list_quarantine(status, PER_PAGE, (page - 1) * PER_PAGE).await?;
    let liste = if unroutable { "&liste=nicht-zuordenbar" } else { "" };
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let t = QuarantinePage {
        base: base.clone(),
        nav: Nav::new(&auth, "quarantaene"),
        flash: flash_text(p.meldung.as_deref()),
        csrf: auth.csrf.clone(),
        items: items
            .into_iter()
            .map(|d| QuarantineRow {
                id: d.id.to_string(),
                received: fmt::date_time(d.received_at),
                received_iso: fmt::iso(d.received_at),
                channel: d.channel,
                field: d.error_field.unwrap_or_default(),
                message: d.error_message.unwrap_or_default(),
                size: fmt::size(d.size),
                attempts: d.attempts,
            })
            .collect(),
        total,
        prev_href: (page > 1).then(|| base.link(&format!("/admin/quarantaene?seite={}{liste}", page - 1))),
        next_href: (u64::from(page) < pages)
            .then(|| base.link(&format!("/admin/quarantaene?seite={}{liste}", page + 1))),
        unroutable,
    };
    Ok(render(&t))
}

/// The deliveries the quarantine page lists: faulty ones and those nobody could be found for.
fn on_the_lists(status: DeliveryStatus) -> bool {
    matches!(status, DeliveryStatus::Quarantined | DeliveryStatus::Unroutable)
}

pub async fn raw(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    axum::Extension(ip): axum::Extension<crate::tenancy::ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let d = state.store.tenant(&auth.tenant).get_delivery(parse_delivery_id(&id)?).await?;
    // Only while it is on one of the two lists: once a delivery became a Vorgang (or a
    // duplicate of one), its data is read there, under the Vorgang's visibility and audit.
    if !on_the_lists(d.status) {
        return Err(AppError::NotFound.into());
    }
    let bytes = state.intake.load_raw(&d).await?;
    // A raw delivery is a whole application with its personal data.
    app::commands::audit(&state.app, &auth.caller(), "eingang_gelesen", Some(d.id.to_string()), None, ip.0).await?;
    // Raw payloads may contain anything: always a download, never rendered.
    Ok(crate::download::file_response(&format!("eingang-{}.bin", d.id), "application/octet-stream", bytes, false))
}

pub async fn reprocess(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let receipt = state.intake.reprocess(&auth.tenant, parse_delivery_id(&id)?).await?;
    if receipt.tenant != auth.tenant {
        // Routed from the platform to its tenant: nothing to show here.
        return Ok(see_other(&base, "/admin/quarantaene?liste=nicht-zuordenbar&meldung=zugeordnet"));
    }
    Ok(see_other(&base, &format!("/vorgaenge/{}?meldung=verarbeitet", receipt.vorgang.id)))
}
