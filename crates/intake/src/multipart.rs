//! `multipart/form-data` as OZG-Cloud form services send it: part `formData` (JSON),
//! optional parts `representation`, parts `attachment`.

use crate::files::{content_type_or_default, sanitize_filename, IncomingFile};
use crate::service::Limits;
use bytes::{Bytes, BytesMut};
use domain::ValidationError;

pub(crate) struct Parts {
    pub form_data: Bytes,
    pub representations: Vec<IncomingFile>,
    pub attachments: Vec<IncomingFile>,
}

fn mb(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{} MB", n / (1024 * 1024))
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}

pub(crate) async fn parse(content_type: &str, body: Bytes, limits: &Limits) -> Result<Parts, ValidationError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ValidationError::new("Content-Type", "muss multipart/form-data mit einer boundary sein"))?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut form_data: Option<Bytes> = None;
    let mut representations = Vec::new();
    let mut attachments = Vec::new();
    let mut index = 0usize;
    loop {
        let field = mp.next_field().await.map_err(|e| {
            ValidationError::new(format!("Teil {}", index + 1), format!("fehlerhaftes multipart/form-data: {e}"))
        })?;
        let Some(mut field) = field else { break };
        index += 1;
        if index > limits.max_parts {
            return Err(ValidationError::new("multipart", format!("mehr als {} Teile", limits.max_parts)));
        }
        let name = field.name().unwrap_or("").to_owned();
        let (label, limit) = match name.as_str() {
            "formData" => ("formData".to_owned(), limits.max_form_data),
            "representation" => (format!("representation[{}]", representations.len()), limits.max_file),
            "attachment" => (format!("attachment[{}]", attachments.len()), limits.max_file),
            // Unknown parts stay in the raw delivery; we do not guess what they mean.
            other => {
                tracing::debug!(part = other, "intake: ignoring unknown multipart part");
                continue;
            }
        };
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let mut buf = BytesMut::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| ValidationError::new(&label, format!("konnte nicht gelesen werden: {e}")))?
        {
            if buf.len() + chunk.len() > limit {
                return Err(ValidationError::new(&label, format!("ist größer als die erlaubten {}", mb(limit))));
            }
            buf.extend_from_slice(&chunk);
        }
        let bytes = buf.freeze();
        match name.as_str() {
            "formData" if form_data.is_some() => {
                return Err(ValidationError::new("formData", "darf nur einmal vorkommen"))
            }
            "formData" => form_data = Some(bytes),
            "representation" => representations.push(IncomingFile {
                filename: sanitize_filename(filename.as_deref(), &format!("antrag-{}", representations.len() + 1)),
                content_type: content_type_or_default(content_type.as_deref()),
                bytes,
            }),
            _ => attachments.push(IncomingFile {
                filename: sanitize_filename(filename.as_deref(), &format!("anhang-{}", attachments.len() + 1)),
                content_type: content_type_or_default(content_type.as_deref()),
                bytes,
            }),
        }
    }
    let form_data = form_data.ok_or_else(|| ValidationError::new("formData", "Teil fehlt"))?;
    Ok(Parts { form_data, representations, attachments })
}
