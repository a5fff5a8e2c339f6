//! The versioned JSON API. Each handler is registered once with utoipa-axum, which yields
//! both the route and its OpenAPI description (served at `/api/v1/openapi.json`).

mod documents;
pub mod dto;
mod intake;

use crate::auth::{AdminUser, ApiCaller};
use crate::error::AppError;
use crate::tenancy::ClientIp;
use crate::worklist_params::WorklistParams;
use crate::AppState;
use app::commands;
use axum::extract::{Extension, Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::Json;
use domain::Permission;
use dto::*;
use serde::Deserialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "ozgcloud API", version = "1", description = "Eingang, Vorgänge und Befehle der ozgcloud. Fehler als application/problem+json (RFC 9457) mit `detail` auf Deutsch und, wo es eines gibt, dem betroffenen `field`."),
    modifiers(&BearerAuth),
    tags(
        (name = "Eingang", description = "Anträge von Formulardiensten"),
        (name = "Vorgänge", description = "Lesen und Bearbeiten von Vorgängen"),
        (name = "Sitzung", description = "Anmeldung"),
        (name = "Administration", description = "Quarantäne")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(intake::antrag_multipart))
        .routes(routes!(intake::antrag_json))
        .routes(routes!(login))
        .routes(routes!(worklist))
        .routes(routes!(claim_next))
        .routes(routes!(vorgang, documents::delete_finally))
        .routes(routes!(documents::clerk_documents, documents::attach))
        .routes(routes!(history))
        .routes(routes!(change_status))
        .routes(routes!(assign))
        .routes(routes!(set_aktenzeichen))
        .routes(routes!(set_unit))
        .routes(routes!(kommentare, add_kommentar))
        .routes(routes!(wiedervorlagen_of, add_wiedervorlage))
        .routes(routes!(wiedervorlagen))
        .routes(routes!(change_wiedervorlage))
        .routes(routes!(document, documents::remove))
        .routes(routes!(events))
        .routes(routes!(quarantine))
        .routes(routes!(reprocess))
}

/// What each API route requires; the OpenAPI router registers the routes, this names their
/// rule. A route missing here fails the server's start and the authorization-matrix test.
pub fn permission(method: &Method, path: &str) -> Option<Permission> {
    use Permission::*;
    let p = match (method.as_str(), path) {
        ("POST", "/antrag" | "/api/v1/antraege") => Intake,
        ("POST", "/api/v1/login") => Public,
        ("GET", "/api/v1/vorgaenge" | "/api/v1/vorgaenge/{id}" | "/api/v1/vorgaenge/{id}/historie") => ReadVorgaenge,
        ("GET", "/api/v1/dokumente/{id}") => ReadVorgaenge,
        ("GET", "/api/v1/events") => Integration,
        ("POST", "/api/v1/vorgaenge/naechster" | "/api/v1/vorgaenge/{id}/status") => WorkVorgaenge,
        ("PUT", "/api/v1/vorgaenge/{id}/aktenzeichen") => WorkVorgaenge,
        ("PUT", "/api/v1/vorgaenge/{id}/zuweisung" | "/api/v1/vorgaenge/{id}/einheit") => Distribute,
        ("GET", "/api/v1/vorgaenge/{id}/kommentare" | "/api/v1/vorgaenge/{id}/wiedervorlagen") => ReadVorgaenge,
        ("GET", "/api/v1/wiedervorlagen") => ReadVorgaenge,
        ("POST", "/api/v1/vorgaenge/{id}/kommentare" | "/api/v1/vorgaenge/{id}/wiedervorlagen") => WorkVorgaenge,
        ("PUT", "/api/v1/wiedervorlagen/{id}") => WorkVorgaenge,
        ("GET", "/api/v1/vorgaenge/{id}/dokumente") => ReadVorgaenge,
        ("POST", "/api/v1/vorgaenge/{id}/dokumente") => WorkVorgaenge,
        ("DELETE", "/api/v1/vorgaenge/{id}") => Loeschen,
        ("DELETE", "/api/v1/dokumente/{id}") => WorkVorgaenge,
        ("GET", "/api/v1/quarantaene") | ("POST", "/api/v1/quarantaene/{id}/verarbeiten") => TenantAdmin,
        _ => return None,
    };
    Some(p)
}

type ApiResult<T> = Result<Json<T>, AppError>;

/// Opens a session for API use; the token is a bearer token.
#[utoipa::path(post, path = "/api/v1/login", tag = "Sitzung", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "Falsche Anmeldedaten")))]
async fn login(
    State(state): State<AppState>,
    Extension(ctx): Extension<crate::tenancy::TenantContext>,
    Extension(ip): Extension<ClientIp>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<LoginResponse> {
    let token = crate::session::login(&state, &ctx, &req.username, &req.password, ip.0)
        .await?
        .into_token()
        .ok_or(AppError::Unauthenticated)?;
    Ok(Json(LoginResponse { token, expires_in_seconds: state.config.session_idle.whole_seconds() }))
}

/// The worklist: one page of Vorgänge with counts per status; with `suche` and the filters
/// (`formular`, `einheit`, `bearbeiter`, `von`, `bis`) "Vorgang suchen", with the same
/// parameters as the worklist page.
#[utoipa::path(get, path = "/api/v1/vorgaenge", tag = "Vorgänge", params(WorklistParams),
    security(("bearer" = [])), responses((status = 200, body = Worklist)))]
async fn worklist(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(p): Query<WorklistParams>,
) -> ApiResult<Worklist> {
    let q = p.to_query(caller.user, caller.visibility());
    let page = state.store.worklist(&caller.tenant, &q).await?;
    Ok(Json(Worklist {
        counts: counts_json(&page.counts),
        items: page.items.into_iter().map(VorgangListEntry::from).collect(),
        total: page.total,
        page: q.page + 1,
        per_page: q.per_page,
    }))
}

/// "Nächsten Vorgang übernehmen": assigns the oldest unassigned NEU Vorgang to the caller.
#[utoipa::path(post, path = "/api/v1/vorgaenge/naechster", tag = "Vorgänge",
    security(("bearer" = [])), responses((status = 200, body = ClaimResponse)))]
async fn claim_next(State(state): State<AppState>, ApiCaller(caller): ApiCaller) -> ApiResult<ClaimResponse> {
    let head = commands::claim_next(&state.app, &caller).await?;
    Ok(Json(ClaimResponse { vorgang: head.as_ref().map(VorgangRef::from) }))
}

#[utoipa::path(get, path = "/api/v1/vorgaenge/{id}", tag = "Vorgänge", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = VorgangDetail), (status = 404)))]
async fn vorgang(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> ApiResult<VorgangDetail> {
    let id = commands::parse_vorgang_id(&id)?;
    let v = commands::read_vorgang(&state.app, &caller, id, ip.0).await?;
    Ok(Json(VorgangDetail::from(v.into_record())))
}

#[utoipa::path(get, path = "/api/v1/vorgaenge/{id}/historie", tag = "Vorgänge", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<EventDto>), (status = 404)))]
async fn history(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Vec<EventDto>> {
    let id = commands::parse_vorgang_id(&id)?;
    commands::load_visible(&state.app, &caller, id).await?;
    let events = state.store.history(&caller.tenant, id).await?;
    Ok(Json(events.into_iter().map(EventDto::from).collect()))
}

/// A status move. Illegal moves are 422, a stale `version` is 409.
#[utoipa::path(post, path = "/api/v1/vorgaenge/{id}/status", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = StatusCommandRequest, security(("bearer" = [])),
    responses((status = 200, body = VorgangRef), (status = 409, description = "Zwischenzeitlich geändert"),
              (status = 422, description = "Im aktuellen Status nicht möglich")))]
async fn change_status(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(req): Json<StatusCommandRequest>,
) -> ApiResult<VorgangRef> {
    let id = commands::parse_vorgang_id(&id)?;
    let head = commands::change_status(&state.app, &caller, id, &req.command, req.version, req.reason).await?;
    Ok(Json(VorgangRef::from(&head)))
}

#[utoipa::path(put, path = "/api/v1/vorgaenge/{id}/zuweisung", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = AssignRequest, security(("bearer" = [])),
    responses((status = 200, body = VorgangRef), (status = 409)))]
async fn assign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(req): Json<AssignRequest>,
) -> ApiResult<VorgangRef> {
    let id = commands::parse_vorgang_id(&id)?;
    let head = commands::assign(&state.app, &caller, id, req.user_id.map(domain::UserId), req.version).await?;
    Ok(Json(VorgangRef::from(&head)))
}

#[utoipa::path(put, path = "/api/v1/vorgaenge/{id}/aktenzeichen", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = AktenzeichenRequest, security(("bearer" = [])),
    responses((status = 200, body = VorgangRef), (status = 409)))]
async fn set_aktenzeichen(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(req): Json<AktenzeichenRequest>,
) -> ApiResult<VorgangRef> {
    let id = commands::parse_vorgang_id(&id)?;
    let az = req.aktenzeichen.unwrap_or_default();
    let head = commands::set_aktenzeichen(&state.app, &caller, id, &az, req.version).await?;
    Ok(Json(VorgangRef::from(&head)))
}

/// Distribution: hands the Vorgang to another Organisationseinheit of the tenant.
#[utoipa::path(put, path = "/api/v1/vorgaenge/{id}/einheit", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = UnitRequest, security(("bearer" = [])),
    responses((status = 200, body = VorgangRef), (status = 400, description = "Unbekannte Einheit"), (status = 409)))]
async fn set_unit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(req): Json<UnitRequest>,
) -> ApiResult<VorgangRef> {
    let id = commands::parse_vorgang_id(&id)?;
    let head = commands::set_unit(&state.app, &caller, id, req.unit_id.map(domain::UnitId), req.version).await?;
    Ok(Json(VorgangRef::from(&head)))
}

/// The bytes of an attachment or representation.
#[utoipa::path(get, path = "/api/v1/dokumente/{id}", tag = "Vorgänge", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404)))]
async fn document(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = domain::DocumentId::parse(&id).ok_or(AppError::NotFound)?;
    let doc = commands::read_document(&state.app, &caller, id, ip.0).await?;
    let bytes = state.blobs.get(&doc.blob_key).await?;
    Ok(crate::download::file_response(&doc.filename, &doc.content_type, bytes, false))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventParams {
    /// Return events with a sequence number greater than this (0 for the start).
    after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
}

/// The tenant's event log (every change to every Vorgang), for integrations that poll.
#[utoipa::path(get, path = "/api/v1/events", tag = "Vorgänge", params(EventParams),
    security(("bearer" = [])), responses((status = 200, body = Vec<EventDto>)))]
async fn events(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(p): Query<EventParams>,
) -> ApiResult<Vec<EventDto>> {
    let events =
        state.store.events_after(&caller.tenant, p.after.unwrap_or(0), p.limit.unwrap_or(100).clamp(1, 1000)).await?;
    Ok(Json(events.into_iter().map(EventDto::from).collect()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageParams {
    /// One-based.
    seite: Option<u32>,
}

/// Deliveries that could not be processed (admins only).
#[utoipa::path(get, path = "/api/v1/quarantaene", tag = "Administration", params(PageParams),
    security(("bearer" = [])), responses((status = 200, body = Quarantine), (status = 403)))]
async fn quarantine(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    Query(p): Query<PageParams>,
) -> ApiResult<Quarantine> {
    // Bounded, so the offset cannot overflow whatever the URL says.
    let page = p.seite.unwrap_or(1).clamp(1, 100_000);
    let (items, total) =
        state.store.list_quarantine(&auth.tenant, store::DeliveryStatus::Quarantined, 100, (page - 1) * 100).await?;
    Ok(Json(Quarantine { items: items.into_iter().map(QuarantineEntry::from).collect(), total }))
}

/// Runs a quarantined delivery through intake again.
#[utoipa::path(post, path = "/api/v1/quarantaene/{id}/verarbeiten", tag = "Administration", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = IntakeReceipt), (status = 400), (status = 403)))]
async fn reprocess(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    Path(id): Path<String>,
) -> ApiResult<IntakeReceipt> {
    let id = crate::pages::parse_delivery_id(&id)?;
    let r = state.intake.reprocess(&auth.tenant, id).await?;
    Ok(Json(intake::receipt(&r)))
}

/// Internal notes of a Vorgang, oldest first.
#[utoipa::path(get, path = "/api/v1/vorgaenge/{id}/kommentare", tag = "Vorgänge", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<KommentarDto>), (status = 404)))]
async fn kommentare(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Vec<KommentarDto>> {
    let id = commands::parse_vorgang_id(&id)?;
    commands::load_visible(&state.app, &caller, id).await?;
    let list = state.store.list_kommentare(&caller.tenant, id).await?;
    Ok(Json(list.iter().map(KommentarDto::from).collect()))
}

/// Adds an internal note (never visible to the applicant).
#[utoipa::path(post, path = "/api/v1/vorgaenge/{id}/kommentare", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = KommentarRequest, security(("bearer" = [])), responses((status = 200, body = KommentarDto), (status = 400), (status = 404)))]
async fn add_kommentar(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(req): Json<KommentarRequest>,
) -> ApiResult<KommentarDto> {
    let id = commands::parse_vorgang_id(&id)?;
    let k = commands::add_kommentar(&state.app, &caller, id, &req.text).await?;
    Ok(Json(KommentarDto::from(&k)))
}

/// Wiedervorlagen of a Vorgang: open ones by Frist, then done ones.
#[utoipa::path(get, path = "/api/v1/vorgaenge/{id}/wiedervorlagen", tag = "Vorgänge", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<WiedervorlageDto>), (status = 404)))]
async fn wiedervorlagen_of(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Vec<WiedervorlageDto>> {
    let id = commands::parse_vorgang_id(&id)?;
    commands::load_visible(&state.app, &caller, id).await?;
    let list = state.store.list_wiedervorlagen(&caller.tenant, id).await?;
    Ok(Json(list.iter().map(WiedervorlageDto::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/vorgaenge/{id}/wiedervorlagen", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = WiedervorlageRequest, security(("bearer" = [])),
    responses((status = 200, body = WiedervorlageDto), (status = 400), (status = 404)))]
async fn add_wiedervorlage(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(req): Json<WiedervorlageRequest>,
) -> ApiResult<WiedervorlageDto> {
    let id = commands::parse_vorgang_id(&id)?;
    let w = commands::add_wiedervorlage(&state.app, &caller, id, &req.betreff, &req.beschreibung, &req.frist).await?;
    Ok(Json(WiedervorlageDto::from(&w)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct WiedervorlagenParams {
    /// `true`: also those marked done.
    alle: Option<bool>,
    /// One-based.
    seite: Option<u32>,
}

/// The Wiedervorlagen across the caller's Vorgänge, earliest Frist first (100 per page).
#[utoipa::path(get, path = "/api/v1/wiedervorlagen", tag = "Vorgänge", params(WiedervorlagenParams),
    security(("bearer" = [])), responses((status = 200, body = Vec<WiedervorlageDto>)))]
async fn wiedervorlagen(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(p): Query<WiedervorlagenParams>,
) -> ApiResult<Vec<WiedervorlageDto>> {
    let page = p.seite.unwrap_or(1).clamp(1, 100_000);
    let query = store::WiedervorlagenQuery {
        visibility: caller.visibility(),
        include_done: p.alle.unwrap_or(false),
        limit: 100,
        offset: (page - 1) * 100,
    };
    let (items, _) = state.store.wiedervorlagen(&caller.tenant, &query).await?;
    Ok(Json(items.iter().map(WiedervorlageDto::from).collect()))
}

/// Edits a Wiedervorlage or marks it done / open again. A stale `version` is 409.
#[utoipa::path(put, path = "/api/v1/wiedervorlagen/{id}", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = WiedervorlageChange, security(("bearer" = [])),
    responses((status = 200, body = WiedervorlageDto), (status = 400), (status = 404), (status = 409)))]
async fn change_wiedervorlage(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(req): Json<WiedervorlageChange>,
) -> ApiResult<WiedervorlageDto> {
    let id = commands::parse_wiedervorlage_id(&id)?;
    let content = match (&req.betreff, &req.frist) {
        (Some(b), Some(f)) => Some((b.as_str(), req.beschreibung.as_deref().unwrap_or(""), f.as_str())),
        (None, None) => None,
        _ => return Err(AppError::bad_request("frist", "Betreff und Frist nur zusammen ändern")),
    };
    let w = commands::update_wiedervorlage(&state.app, &caller, id, req.version, content, req.erledigt).await?;
    Ok(Json(WiedervorlageDto::from(&w)))
}
