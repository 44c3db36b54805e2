//! Request bodies: JSON of any content type, size-limited, with malformed JSON a 400 and
//! well-formed JSON of the wrong shape a 422 that names the field.

use actix_web::error::JsonPayloadError;
use actix_web::{web, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::error::ApiError;
use crate::domain::ValidationError;

/// The JSON extractor's settings: any content type (curl's `-d` sends a form type), our limit,
/// and our error shapes.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(false)
        .content_type(|_| true)
        .error_handler(|err, _req: &HttpRequest| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest {
            code: "malformed_json",
            message: format!(
                "The request body is not valid JSON (line {}, column {}).",
                e.line(),
                e.column()
            ),
        },
        _ => ApiError::BadRequest {
            code: "malformed_json",
            message: "The request body could not be read as JSON.".into(),
        },
    }
}

/// A body as the JSON object of schema `T`: anything but an object is refused (a GET body,
/// such as the `null` Commerce.js sends with every request, is never read); fields `T` does not
/// describe are dropped (`known_fields`); NUL is refused in what is left.
pub fn fields_of<T: ToSchema>(value: Value) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(mut map) = value else {
        return Err(ValidationError::field(
            "invalid_body",
            "body",
            "The request body must be a JSON object.",
        )
        .into());
    };
    super::known_fields::prune_fields(&T::name(), &mut map);
    super::nul::check_fields(&map)?;
    Ok(map)
}

/// Reads a typed body out of parsed JSON (see [`fields_of`]); a wrong type is a 422 naming
/// the field.
pub fn typed<T: DeserializeOwned + ToSchema>(value: Value) -> Result<T, ApiError> {
    let value = Value::Object(fields_of::<T>(value)?);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field.is_empty() || field == "." {
            "body".to_owned()
        } else {
            field
        };
        let inner = e.into_inner().to_string();
        let expected = inner
            .split_once("expected ")
            .map(|(_, rest)| rest.trim_end_matches('.').to_owned())
            .unwrap_or_else(|| "a different value".into());
        ValidationError::field(
            "invalid_type",
            &field,
            format!("The {field} must be {expected}."),
        )
        .into()
    })
}

/// Distinguishes a field that is absent (outer `None`) from one sent as `null` (`Some(None)`).
pub fn nullable<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

use serde::Deserialize;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, ToSchema)]
    struct Sample {
        #[serde(default, deserialize_with = "nullable")]
        name: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_are_told_apart() {
        let s: Sample = typed(json!({})).unwrap();
        assert_eq!(s.name, None);
        let s: Sample = typed(json!({"name": null})).unwrap();
        assert_eq!(s.name, Some(None));
        let s: Sample = typed(json!({"name": "x"})).unwrap();
        assert_eq!(s.name, Some(Some("x".into())));
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = typed::<Sample>(json!({"name": 5})).unwrap_err();
        match err {
            ApiError::Invalid(v) => {
                assert_eq!(v.code, "invalid_type");
                assert_eq!(
                    v.errors["name"],
                    vec!["The name must be a string.".to_owned()]
                );
            }
            other => panic!("{other:?}"),
        }
        for not_an_object in [json!([1]), json!(null), json!("x")] {
            assert!(
                matches!(
                    typed::<Sample>(not_an_object.clone()),
                    Err(ApiError::Invalid(_))
                ),
                "{not_an_object}"
            );
        }
    }
}
