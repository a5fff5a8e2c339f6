//! What keeps the API and its OpenAPI document the same: extractors whose rejections are
//! problem+json (axum's own `Query` and `Json` answer in plain text), input checks that
//! enforce exactly the limits the schemas declare, and the pass over the finished document
//! that lists every error status an operation can answer, each with the [`Problem`] schema.

use crate::error::{AppError, Problem};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, ResponseBuilder, Schema};
use utoipa::PartialSchema;

/// The pattern of a UUID in its hyphenated form (what the schemas of ids declare).
pub const UUID_PATTERN: &str = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// The pattern of a day (`YYYY-MM-DD`) besides `format: date`: every string it matches is
/// a valid day (29 February is left out: it is one only in leap years, and accepted then).
pub const DATE_PATTERN: &str = r"^[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))$";

/// Largest JSON body of the API's commands: axum's default body limit, which the `Json`
/// extractor enforces (413). File uploads have their own limit (`POST …/dokumente`).
pub const MAX_JSON_BODY: usize = 2 * 1024 * 1024;

/// Request input that carries limits the schema declares and serde cannot check.
pub trait Validate {
    fn validate(&self) -> Result<(), AppError> {
        Ok(())
    }
}

/// A JSON request body: rejections (syntax, types, missing fields, Content-Type, size) and
/// [`Validate`] failures are problem+json.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await.map_err(json_rejection)?;
        value.validate()?;
        Ok(Self(value))
    }
}

fn json_rejection(e: JsonRejection) -> AppError {
    match e.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::WrongContentType { expected: "application/json" },
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge { limit: MAX_JSON_BODY },
        _ => AppError::BadRequest {
            field: Some("body".to_owned()),
            message: format!("Der Anfragetext ist kein gültiges JSON für diese Operation: {}", e.body_text()),
        },
    }
}

/// Query parameters: rejections and [`Validate`] failures are problem+json (400).
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) =
            Query::<T>::from_request_parts(parts, state).await.map_err(|e: QueryRejection| AppError::BadRequest {
                field: None,
                message: format!("Die Abfrageparameter sind ungültig: {}", e.body_text()),
            })?;
        value.validate()?;
        Ok(Self(value))
    }
}

/// An integer that may arrive as a number with a zero fraction (`3.0`): JSON Schema's
/// `integer` admits it, serde's `i64` would not.
pub fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => Ok(f as i64),
        _ => Err(D::Error::custom(format!("{n} ist keine ganze Zahl im Bereich von i64"))),
    }
}

// --- checks, with the limits the schemas declare ---

/// At most `max` characters (Unicode scalar values, as JSON Schema's `maxLength` counts).
pub fn max_chars(field: &str, value: &str, max: usize) -> Result<(), AppError> {
    if value.chars().count() > max {
        return Err(AppError::bad_request(field, format!("ist länger als {max} Zeichen")));
    }
    Ok(())
}

/// Some character that is not white space (the schemas' `pattern: \S`).
pub fn not_blank(field: &str, value: &str) -> Result<(), AppError> {
    if value.trim().is_empty() {
        return Err(AppError::bad_request(field, "darf nicht leer sein"));
    }
    Ok(())
}

/// A day as `YYYY-MM-DD` (`format: date`).
pub fn iso_date(field: &str, value: &str) -> Result<(), AppError> {
    let shape = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shape || domain::notes::parse_date(value).is_none() {
        return Err(AppError::bad_request(field, "ist kein Datum im Format JJJJ-MM-TT"));
    }
    Ok(())
}

/// One of `allowed` (the schema's `enum`), exactly.
pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), AppError> {
    if !allowed.contains(&value) {
        return Err(AppError::bad_request(field, format!("muss einer dieser Werte sein: {}", allowed.join(", "))));
    }
    Ok(())
}

/// Within `min..=max` (the schema's `minimum`/`maximum`).
pub fn within<T: PartialOrd + std::fmt::Display>(field: &str, value: T, min: T, max: T) -> Result<(), AppError> {
    if value < min || value > max {
        return Err(AppError::bad_request(field, format!("muss zwischen {min} und {max} liegen")));
    }
    Ok(())
}

/// A string schema with these values only.
pub fn string_enum(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied()))
}

// --- the document ---

/// Completes the generated document: each operation lists every error status it can answer,
/// and each error response is `application/problem+json` with the [`Problem`] schema.
///
/// Statuses every operation can answer come from the layers around the handlers:
/// 403 (missing right or token scope, network not allowed, one-time password not yet
/// changed), 500 and 503 (storage busy, with `Retry-After`); 401 for operations with
/// authentication; 404 for those addressing a resource by id; 400 for those with query
/// parameters or a body; 413 and 415 for those with a JSON body. Statuses that depend on the
/// operation (409, 422, 429, 408, …) are declared at the handler.
pub fn complete(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert("Problem".to_owned(), Problem::schema());
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            complete_operation(path, op);
        }
    }
}

fn complete_operation(path: &str, op: &mut Operation) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let json_body = op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"));
    if let Some(body) = op.request_body.as_mut() {
        // Every body of this API is required: an empty request is refused.
        body.required = Some(utoipa::openapi::Required::True);
    }
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut statuses = vec![403, 500, 503];
    if authenticated {
        statuses.push(401);
    }
    if path.contains("{id}") {
        statuses.push(404);
    }
    if has_query || op.request_body.is_some() {
        statuses.push(400);
    }
    if json_body {
        statuses.extend([413, 415]);
    }
    for status in statuses {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(ResponseBuilder::new().description("").build()));
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else { continue };
        let RefOr::T(response) = response else { continue };
        if code < 400 {
            continue;
        }
        if response.description.is_empty() {
            response.description = default_description(code).to_owned();
        }
        if response.content.is_empty() {
            let problem =
                ContentBuilder::new().schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))));
            response.content.insert("application/problem+json".to_owned(), problem.build());
        }
        if matches!(code, 429 | 503) {
            let seconds: RefOr<Schema> = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).into();
            let header = HeaderBuilder::new()
                .schema(seconds)
                .description(Some("Sekunden, nach denen ein neuer Versuch sinnvoll ist"))
                .build();
            response.headers.insert("Retry-After".to_owned(), header);
        }
    }
}

fn default_description(status: u16) -> &'static str {
    match status {
        400 => "Ungültige Anfrage: Parameter oder JSON-Text fehlerhaft; `field` nennt die Eingabe",
        401 => "Nicht angemeldet: Bearer-Token fehlt, ist ungültig oder abgelaufen",
        403 => "Keine Berechtigung (Rolle oder Token-Bereich), Netz nicht freigegeben oder Einmalpasswort noch nicht geändert",
        404 => "Nicht gefunden oder für den Aufrufer nicht sichtbar",
        408 => "Die Anfrage kam zu langsam an",
        409 => "Zwischenzeitlich geändert; `currentVersion` nennt die aktuelle Version",
        413 => "Anfrage zu groß (JSON-Text höchstens 2 MiB)",
        415 => "Falscher Content-Type (erwartet application/json)",
        422 => "Fachliche Regel verletzt",
        429 => "Zu viele Versuche",
        500 => "Interner Fehler (Einzelheiten nur im Protokoll, über `instance` zu finden)",
        503 => "Kurz nicht verfügbar; nach `Retry-After` Sekunden erneut versuchen",
        _ => "Fehler",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schemas' literals (utoipa takes no constants) are the limits the checks enforce.
    #[test]
    fn declared_limits_are_the_enforced_ones() {
        use serde_json::json;
        let doc: serde_json::Value = serde_json::from_str(&crate::openapi_json()).expect("openapi");
        let s = &doc["components"]["schemas"];
        let prop = |schema: &str, field: &str| s[schema]["properties"][field].clone();
        assert_eq!(prop("KommentarRequest", "text")["maxLength"], json!(domain::notes::MAX_KOMMENTAR));
        for schema in ["WiedervorlageRequest", "WiedervorlageChange"] {
            assert_eq!(prop(schema, "betreff")["maxLength"], json!(domain::notes::MAX_BETREFF));
            assert_eq!(prop(schema, "beschreibung")["maxLength"], json!(domain::notes::MAX_BESCHREIBUNG));
            assert_eq!(prop(schema, "frist")["pattern"], json!(DATE_PATTERN));
        }
        assert_eq!(
            prop("AktenzeichenRequest", "aktenzeichen")["maxLength"],
            json!(domain::vorgang::Aktenzeichen::MAX_LEN)
        );
        assert_eq!(prop("StatusCommandRequest", "reason")["maxLength"], json!(domain::vorgang::MAX_REASON_LEN));
        assert_eq!(prop("LoginRequest", "password")["maxLength"], json!(domain::user::MAX_PASSWORD_LEN));
        assert_eq!(prop("AssignRequest", "userId")["pattern"], json!(UUID_PATTERN));
        assert_eq!(prop("UnitRequest", "unitId")["pattern"], json!(UUID_PATTERN));
        let base64_of_max_file = crate::upload::MAX_FILE.div_ceil(3) * 4;
        assert_eq!(prop("AttachRequest", "content")["maxLength"], json!(base64_of_max_file));
        let worklist = doc["paths"]["/api/v1/vorgaenge"]["get"]["parameters"].as_array().expect("params").clone();
        let per_page = worklist.iter().find(|p| p["name"] == "proSeite").expect("proSeite");
        assert_eq!(per_page["schema"]["maximum"], json!(crate::worklist_params::MAX_PER_PAGE));
        let von = worklist.iter().find(|p| p["name"] == "von").expect("von");
        assert_eq!(von["schema"]["pattern"], json!(DATE_PATTERN));
    }

    /// Every operation answers errors as problem+json, and documents 403, 500 and 503.
    #[test]
    fn every_error_response_is_a_problem() {
        let doc: serde_json::Value = serde_json::from_str(&crate::openapi_json()).expect("openapi");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("item") {
                let responses = op["responses"].as_object().expect("responses");
                for status in ["403", "500", "503"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
                for (status, r) in responses.iter().filter(|(s, _)| s.as_str() >= "400") {
                    assert_eq!(
                        r["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn dates_are_iso_days_only() {
        assert!(iso_date("frist", "2026-12-01").is_ok());
        for bad in ["01.12.2026", "2026-13-01", "2026-02-30", "2026-1-01", "", "２０２６-12-01"] {
            assert!(iso_date("frist", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_count_characters() {
        assert!(max_chars("t", "ääää", 4).is_ok());
        assert!(max_chars("t", "ääääa", 4).is_err());
        assert!(not_blank("t", " \n ").is_err());
    }
}
