//! The versioned JSON API. Each handler is registered once with utoipa-axum, which yields
//! both the route and its OpenAPI description (served at `/api/v1/openapi.json`).

pub mod contract;
mod documents;
pub mod dto;
mod intake;

use crate::auth::{AdminUser, ApiCaller};
use crate::error::AppError;
use crate::tenancy::ClientIp;
use crate::worklist_params::{WorklistParams, MAX_PER_PAGE};
use crate::AppState;
use app::commands;
use axum::extract::{Extension, Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::Json;
use contract::{iso_date, max_chars, string_enum, within, ApiJson, ApiQuery, Validate};
use domain::Permission;
use dto::*;
use serde::Deserialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "ozgcloud API", version = "1", description = "Eingang, Vorgänge und Befehle der ozgcloud. Fehler als application/problem+json (RFC 9457, Schema `Problem`) mit `detail` auf Deutsch, `instance` (die Request-ID) und, wo es eines gibt, dem betroffenen `field`. Jede Operation nennt alle Status, die sie liefern kann. JSON-Texte höchstens 2 MiB (413), sonst `application/json` (415)."),
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

/// The API's routes and its finished OpenAPI document (every error status documented, see
/// [`contract::complete`]).
pub fn split() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = router().split_for_parts();
    contract::complete(&mut doc);
    (router, doc)
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
    responses((status = 200, body = LoginResponse), (status = 401, description = "Falsche Anmeldedaten"),
              (status = 429, description = "Nach zu vielen Fehlversuchen vorübergehend gesperrt")))]
async fn login(
    State(state): State<AppState>,
    Extension(ctx): Extension<crate::tenancy::TenantContext>,
    Extension(ip): Extension<ClientIp>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<LoginResponse> {
    use crate::session::LoginOutcome;
    let token = match crate::session::login(&state, &ctx, &req.username, &req.password, ip.0).await? {
        LoginOutcome::Success(token) => token,
        LoginOutcome::Failed => return Err(AppError::Unauthenticated),
        // The lock's longest duration, not its end (see the login page).
        LoginOutcome::Locked(_) => {
            let retry_after_seconds = domain::user::LOCK_DURATION.whole_seconds().max(0) as u64;
            return Err(AppError::TooManyRequests { retry_after_seconds });
        }
    };
    Ok(Json(LoginResponse { token, expires_in_seconds: state.config.session_idle.whole_seconds() }))
}

/// The worklist: one page of Vorgänge with counts per status; with `suche` and the filters
/// (`formular`, `einheit`, `bearbeiter`, `von`, `bis`) "Vorgang suchen", with the same
/// parameters as the worklist page.
#[utoipa::path(get, path = "/api/v1/vorgaenge", tag = "Vorgänge", params(ApiWorklistParams),
    security(("bearer" = [])), responses((status = 200, body = Worklist)))]
async fn worklist(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<ApiWorklistParams>,
) -> ApiResult<Worklist> {
    let q = WorklistParams::from(p).to_query(caller.user, caller.visibility());
    let page = state.store.tenant(&caller.tenant).worklist(&q).await?;
    Ok(Json(Worklist {
        counts: counts_json(&page.counts),
        items: page.items.into_iter().map(VorgangListEntry::from).collect(),
        total: page.total,
        page: q.page + 1,
        per_page: q.per_page,
    }))
}

/// "Nächsten Vorgang übernehmen": assigns the oldest unassigned NEU Vorgang to the caller.
/// Only for people: an API token is answered with 400.
#[utoipa::path(post, path = "/api/v1/vorgaenge/naechster", tag = "Vorgänge",
    security(("bearer" = [])), responses((status = 200, body = ClaimResponse), (status = 400, description = "Nur Personen können Vorgänge übernehmen")))]
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
    let events = state.store.tenant(&caller.tenant).history(id).await?;
    Ok(Json(events.into_iter().map(EventDto::from).collect()))
}

/// A status move. Illegal moves are 422, a stale `version` is 409.
#[utoipa::path(post, path = "/api/v1/vorgaenge/{id}/status", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = StatusCommandRequest, security(("bearer" = [])),
    responses((status = 200, body = VorgangRef), (status = 409, description = "Zwischenzeitlich geändert"),
              (status = 422, description = "Im aktuellen Status nicht möglich oder Begründung fehlt")))]
async fn change_status(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StatusCommandRequest>,
) -> ApiResult<VorgangRef> {
    let id = commands::parse_vorgang_id(&id)?;
    let head = commands::change_status(&state.app, &caller, id, &req.command, req.version, req.reason).await?;
    Ok(Json(VorgangRef::from(&head)))
}

#[utoipa::path(put, path = "/api/v1/vorgaenge/{id}/zuweisung", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = AssignRequest, security(("bearer" = [])),
    responses((status = 200, body = VorgangRef), (status = 409), (status = 422)))]
async fn assign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<VorgangRef> {
    let id = commands::parse_vorgang_id(&id)?;
    let head = commands::assign(&state.app, &caller, id, req.user_id.map(domain::UserId), req.version).await?;
    Ok(Json(VorgangRef::from(&head)))
}

#[utoipa::path(put, path = "/api/v1/vorgaenge/{id}/aktenzeichen", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = AktenzeichenRequest, security(("bearer" = [])),
    responses((status = 200, body = VorgangRef), (status = 409), (status = 422)))]
async fn set_aktenzeichen(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AktenzeichenRequest>,
) -> ApiResult<VorgangRef> {
    let id = commands::parse_vorgang_id(&id)?;
    let az = req.aktenzeichen.unwrap_or_default();
    let head = commands::set_aktenzeichen(&state.app, &caller, id, &az, req.version).await?;
    Ok(Json(VorgangRef::from(&head)))
}

/// Distribution: hands the Vorgang to another Organisationseinheit of the tenant.
#[utoipa::path(put, path = "/api/v1/vorgaenge/{id}/einheit", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = UnitRequest, security(("bearer" = [])),
    responses((status = 200, body = VorgangRef), (status = 400, description = "Unbekannte Einheit"), (status = 409), (status = 422)))]
async fn set_unit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UnitRequest>,
) -> ApiResult<VorgangRef> {
    let id = commands::parse_vorgang_id(&id)?;
    let head = commands::set_unit(&state.app, &caller, id, req.unit_id.map(domain::UnitId), req.version).await?;
    Ok(Json(VorgangRef::from(&head)))
}

/// The bytes of an attachment or representation.
#[utoipa::path(get, path = "/api/v1/dokumente/{id}", tag = "Vorgänge", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, content_type = "*/*", body = FileBody, description = "Die Bytes, mit dem Content-Type des Dokuments"), (status = 404)))]
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
    #[param(minimum = 0)]
    after: Option<i64>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

impl Validate for EventParams {
    fn validate(&self) -> Result<(), AppError> {
        within("after", self.after.unwrap_or(0), 0, i64::MAX)?;
        within("limit", self.limit.unwrap_or(100), 1, 1000)
    }
}

/// The tenant's event log (every change to every Vorgang), for integrations that poll.
#[utoipa::path(get, path = "/api/v1/events", tag = "Vorgänge", params(EventParams),
    security(("bearer" = [])), responses((status = 200, body = Vec<EventDto>)))]
async fn events(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<EventParams>,
) -> ApiResult<Vec<EventDto>> {
    let events = state.store.tenant(&caller.tenant).events_after(p.after.unwrap_or(0), p.limit.unwrap_or(100)).await?;
    Ok(Json(events.into_iter().map(EventDto::from).collect()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageParams {
    /// One-based.
    #[param(minimum = 1, maximum = 100_000)]
    seite: Option<u32>,
}

impl Validate for PageParams {
    fn validate(&self) -> Result<(), AppError> {
        within("seite", self.seite.unwrap_or(1), 1, MAX_SEITE)
    }
}

/// The last page of the 100-per-page lists (bounded, so the offset cannot overflow).
const MAX_SEITE: u32 = 100_000;

/// Deliveries that could not be processed (admins only).
#[utoipa::path(get, path = "/api/v1/quarantaene", tag = "Administration", params(PageParams),
    security(("bearer" = [])), responses((status = 200, body = Quarantine), (status = 403)))]
async fn quarantine(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Quarantine> {
    let page = p.seite.unwrap_or(1);
    let (items, total) = state
        .store
        .tenant(&auth.tenant)
        .list_quarantine(store::DeliveryStatus::Quarantined, 100, (page - 1) * 100)
        .await?;
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
    let list = state.store.tenant(&caller.tenant).list_kommentare(id).await?;
    Ok(Json(list.iter().map(KommentarDto::from).collect()))
}

/// Adds an internal note (never visible to the applicant).
#[utoipa::path(post, path = "/api/v1/vorgaenge/{id}/kommentare", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = KommentarRequest, security(("bearer" = [])), responses((status = 200, body = KommentarDto), (status = 400), (status = 404), (status = 422)))]
async fn add_kommentar(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<KommentarRequest>,
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
    let list = state.store.tenant(&caller.tenant).list_wiedervorlagen(id).await?;
    Ok(Json(list.iter().map(WiedervorlageDto::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/vorgaenge/{id}/wiedervorlagen", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = WiedervorlageRequest, security(("bearer" = [])),
    responses((status = 200, body = WiedervorlageDto), (status = 400), (status = 404), (status = 422)))]
async fn add_wiedervorlage(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WiedervorlageRequest>,
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
    #[param(minimum = 1, maximum = 100_000)]
    seite: Option<u32>,
}

impl Validate for WiedervorlagenParams {
    fn validate(&self) -> Result<(), AppError> {
        within("seite", self.seite.unwrap_or(1), 1, MAX_SEITE)
    }
}

/// The Wiedervorlagen across the caller's Vorgänge, earliest Frist first (100 per page).
#[utoipa::path(get, path = "/api/v1/wiedervorlagen", tag = "Vorgänge", params(WiedervorlagenParams),
    security(("bearer" = [])), responses((status = 200, body = Vec<WiedervorlageDto>)))]
async fn wiedervorlagen(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<WiedervorlagenParams>,
) -> ApiResult<Vec<WiedervorlageDto>> {
    let page = p.seite.unwrap_or(1);
    let query = store::WiedervorlagenQuery {
        visibility: caller.visibility(),
        include_done: p.alle.unwrap_or(false),
        limit: 100,
        offset: (page - 1) * 100,
    };
    let (items, _) = state.store.tenant(&caller.tenant).wiedervorlagen(&query).await?;
    Ok(Json(items.iter().map(WiedervorlageDto::from).collect()))
}

/// Edits a Wiedervorlage or marks it done / open again: each field given is changed, each
/// one absent stays as it is. A stale `version` is 409.
#[utoipa::path(put, path = "/api/v1/wiedervorlagen/{id}", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = WiedervorlageChange, security(("bearer" = [])),
    responses((status = 200, body = WiedervorlageDto), (status = 400), (status = 404), (status = 409), (status = 422)))]
async fn change_wiedervorlage(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WiedervorlageChange>,
) -> ApiResult<WiedervorlageDto> {
    let id = commands::parse_wiedervorlage_id(&id)?;
    let changes_content = req.betreff.is_some() || req.beschreibung.is_some() || req.frist.is_some();
    let current =
        if changes_content { Some(commands::load_wiedervorlage(&state.app, &caller, id).await?) } else { None };
    let frist = current.as_ref().map(|c| crate::fmt::iso_day(c.frist)).unwrap_or_default();
    let content = current.as_ref().map(|c| {
        (
            req.betreff.as_deref().unwrap_or(&c.betreff),
            req.beschreibung.as_deref().unwrap_or(&c.beschreibung),
            req.frist.as_deref().unwrap_or(&frist),
        )
    });
    let w = commands::update_wiedervorlage(&state.app, &caller, id, req.version, content, req.erledigt).await?;
    Ok(Json(WiedervorlageDto::from(&w)))
}

/// The worklist's parameters as the API takes them: the same names as the worklist page
/// ([`WorklistParams`]), but checked: a value outside what is declared here is 400, not
/// silently the default.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ApiWorklistParams {
    /// `alle` (default), `meine` or `nicht-zugewiesen`.
    #[param(schema_with = ansicht_schema, required = false)]
    ansicht: Option<String>,
    /// Only Vorgänge in this status; absent for all.
    #[param(schema_with = dto::status_schema, required = false)]
    status: Option<String>,
    /// `eingang` (default), `nummer`, `formular`, `status`, `aktenzeichen`.
    #[param(schema_with = sort_schema, required = false)]
    sort: Option<String>,
    /// `asc` or `desc` (default for `eingang`).
    #[param(schema_with = richtung_schema, required = false)]
    richtung: Option<String>,
    /// One-based page number.
    #[param(minimum = 1, maximum = 10_000_000)]
    seite: Option<u32>,
    /// Page size (default 50).
    #[serde(rename = "proSeite")]
    #[param(rename = "proSeite", minimum = 1, maximum = 500)]
    pro_seite: Option<u32>,
    /// "Vorgang suchen": words to find in Vorgangsnummer, Aktenzeichen, applicant name, form
    /// name and form data. Case, umlauts and ß do not matter ("muller" finds "Müller",
    /// "strasse" finds "Straße"); each word matches the start of a word ("Müll" finds
    /// "Müller"); all words must match. At most 8 words are used.
    #[param(max_length = 200)]
    suche: Option<String>,
    /// Only Vorgänge of this form (its exact name, as listed in the filter).
    #[param(max_length = 200)]
    formular: Option<String>,
    /// Only those of this Organisationseinheit (its id).
    #[param(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    einheit: Option<uuid::Uuid>,
    /// Only those assigned to this user (their id).
    #[param(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    bearbeiter: Option<uuid::Uuid>,
    /// Eingang on or after this day (German time).
    #[param(format = Date, pattern = r"^[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))$")]
    von: Option<String>,
    /// Eingang on or before this day (German time).
    #[param(format = Date, pattern = r"^[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))$")]
    bis: Option<String>,
}

const ANSICHTEN: [&str; 3] = ["alle", "meine", "nicht-zugewiesen"];
const RICHTUNGEN: [&str; 2] = ["asc", "desc"];

fn ansicht_schema() -> utoipa::openapi::schema::Object {
    string_enum(&ANSICHTEN).build()
}

fn sort_schema() -> utoipa::openapi::schema::Object {
    let keys: Vec<&str> = store::SortKey::ALL.iter().map(|k| k.as_str()).collect();
    string_enum(&keys).build()
}

fn richtung_schema() -> utoipa::openapi::schema::Object {
    string_enum(&RICHTUNGEN).build()
}

impl Validate for ApiWorklistParams {
    fn validate(&self) -> Result<(), AppError> {
        use contract::one_of;
        if let Some(a) = &self.ansicht {
            one_of("ansicht", a, &ANSICHTEN)?;
        }
        if let Some(st) = &self.status {
            let names: Vec<&str> = domain::VorgangStatus::ALL.iter().map(|s| s.as_str()).collect();
            one_of("status", st, &names)?;
        }
        if let Some(so) = &self.sort {
            let keys: Vec<&str> = store::SortKey::ALL.iter().map(|k| k.as_str()).collect();
            one_of("sort", so, &keys)?;
        }
        if let Some(r) = &self.richtung {
            one_of("richtung", r, &RICHTUNGEN)?;
        }
        within("seite", self.seite.unwrap_or(1), 1, 10_000_000)?;
        within("proSeite", self.pro_seite.unwrap_or(1), 1, MAX_PER_PAGE)?;
        max_chars("suche", self.suche.as_deref().unwrap_or_default(), 200)?;
        max_chars("formular", self.formular.as_deref().unwrap_or_default(), 200)?;
        for (field, day) in [("von", &self.von), ("bis", &self.bis)] {
            if let Some(d) = day {
                iso_date(field, d)?;
            }
        }
        Ok(())
    }
}

impl From<ApiWorklistParams> for WorklistParams {
    fn from(p: ApiWorklistParams) -> Self {
        Self {
            ansicht: p.ansicht,
            status: p.status,
            sort: p.sort,
            richtung: p.richtung,
            seite: p.seite,
            pro_seite: p.pro_seite,
            suche: p.suche,
            formular: p.formular,
            einheit: p.einheit.map(|u| u.to_string()),
            bearbeiter: p.bearbeiter.map(|u| u.to_string()),
            von: p.von,
            bis: p.bis,
            meldung: None,
        }
    }
}
