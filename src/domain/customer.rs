//! The customer as the service layer sees it, and the validated inputs that create or change one.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::password::Password;
use super::validation::{text, Collector, ValidationError};
use super::{CustomerId, Email};

pub const MAX_NAME_LEN: usize = 255;
pub const MAX_PHONE_LEN: usize = 64;
pub const MAX_EXTERNAL_ID_LEN: usize = 255;
pub const MAX_META_BYTES: usize = 16 * 1024;

/// Fields only the merchant (secret key) may set. They are the merchant's records about the
/// customer: a shopper who could set `external_id` could claim another shopper's records in
/// the merchant's systems (say, a checkout looking customers up by it).
pub const MERCHANT_ONLY_FIELDS: [&str; 2] = ["external_id", "meta"];

/// What the customer list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    CreatedAt,
    UpdatedAt,
    Email,
    Firstname,
    Lastname,
}

/// The customer list's filters; each one given narrows the list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Substring over email and names, ignoring case (folded by the query, see `fold`; text
    /// lower-cased beforehand folds the same).
    pub query: Option<String>,
    pub email_normalized: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: CustomerId,
    pub email: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub meta: Meta,
    pub has_password: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Free-form merchant data: a JSON object, empty when unset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta(Map<String, Value>);

impl Meta {
    /// Accepts an object, `null` or an empty array (Chec shows empty meta as `[]`, so a client
    /// that sends back what it read must not be refused).
    pub fn parse(value: Value) -> Result<Self, ValidationError> {
        let invalid = |m: &str| ValidationError::field("invalid_meta", "meta", m);
        let map = match value {
            Value::Null => Map::new(),
            Value::Array(a) if a.is_empty() => Map::new(),
            Value::Object(map) => map,
            _ => return Err(invalid("The meta must be an object.")),
        };
        let size = serde_json::to_vec(&map)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > MAX_META_BYTES {
            return Err(invalid(&format!(
                "The meta may not be greater than {MAX_META_BYTES} bytes."
            )));
        }
        Ok(Meta(map))
    }

    /// Stored text, `None` when empty.
    pub fn to_db(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| Value::Object(self.0.clone()).to_string())
    }

    /// Reads stored text; anything unreadable counts as empty rather than failing the read.
    pub fn from_db(raw: Option<&str>) -> Self {
        match raw.map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Object(map))) => Meta(map),
            _ => Meta::default(),
        }
    }

    /// Chec's rendering: `[]` when empty, the object otherwise.
    pub fn to_json(&self) -> Value {
        if self.0.is_empty() {
            Value::Array(Vec::new())
        } else {
            Value::Object(self.0.clone())
        }
    }
}

impl From<Map<String, Value>> for Meta {
    fn from(map: Map<String, Value>) -> Self {
        Meta(map)
    }
}

/// Everything needed to create a customer, already valid.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub email: Email,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub meta: Meta,
    pub password: Option<Password>,
}

/// A partial change: `None` keeps the value, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CustomerPatch {
    pub email: Option<Email>,
    pub firstname: Option<Option<String>>,
    pub lastname: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub meta: Option<Meta>,
    pub password: Option<Password>,
    /// Required when a customer (not the merchant) changes an existing password.
    pub current_password: Option<String>,
}

impl CustomerPatch {
    pub fn is_empty(&self) -> bool {
        self.password.is_none()
            && self.email.is_none()
            && self.firstname.is_none()
            && self.lastname.is_none()
            && self.phone.is_none()
            && self.external_id.is_none()
            && self.meta.is_none()
    }
}

/// Raw profile fields as a client sent them (absent, null or a value).
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub email: Option<Option<String>>,
    pub firstname: Option<Option<String>>,
    pub lastname: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub meta: Option<Option<Value>>,
    pub password: Option<Option<String>>,
    pub current_password: Option<String>,
}

fn optional_text(
    c: &mut Collector,
    field: &str,
    value: Option<Option<String>>,
    max: usize,
) -> Option<Option<String>> {
    match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => c.take(text(field, v, max)).map(Some),
    }
}

impl ProfileInput {
    /// Validates a creation: email required, every other field optional.
    pub fn into_new(self) -> Result<NewCustomer, ValidationError> {
        let mut c = Collector::new();
        let email = match self.email.clone().flatten() {
            None => {
                c.add("email_required", "email", "The email field is required.");
                None
            }
            Some(raw) => c.take(Email::parse(&raw)),
        };
        let password = self
            .password
            .clone()
            .flatten()
            .and_then(|p| c.take(Password::parse("password", &p)));
        let patch = self.common(&mut c);
        c.finish()?;
        let email = email.ok_or_else(|| {
            ValidationError::field("email_required", "email", "The email field is required.")
        })?;
        Ok(NewCustomer {
            email,
            firstname: patch.firstname.flatten(),
            lastname: patch.lastname.flatten(),
            phone: patch.phone.flatten(),
            external_id: patch.external_id.flatten(),
            meta: patch.meta.unwrap_or_default(),
            password,
        })
    }

    /// Validates a partial update: absent fields stay as they are; email may not be cleared.
    pub fn into_patch(self) -> Result<CustomerPatch, ValidationError> {
        let mut c = Collector::new();
        let email = match self.email.clone() {
            None => None,
            Some(None) => {
                c.add("email_required", "email", "The email field is required.");
                None
            }
            Some(Some(raw)) => c.take(Email::parse(&raw)),
        };
        let password = match self.password.clone() {
            None => None,
            // Only a new password replaces one; there is no removing it.
            Some(None) => {
                c.add(
                    "password_required",
                    "password",
                    "The password cannot be removed: leave it out to keep it.",
                );
                None
            }
            Some(Some(p)) => c.take(Password::parse("password", &p)),
        };
        let current_password = self.current_password.clone();
        let mut patch = self.common(&mut c);
        c.finish()?;
        patch.email = email;
        patch.password = password;
        patch.current_password = current_password;
        Ok(patch)
    }

    fn common(self, c: &mut Collector) -> CustomerPatch {
        let blank_to_none =
            |v: Option<Option<String>>| v.map(|inner| inner.filter(|s| !s.trim().is_empty()));
        CustomerPatch {
            email: None,
            firstname: optional_text(c, "firstname", self.firstname, MAX_NAME_LEN),
            lastname: optional_text(c, "lastname", self.lastname, MAX_NAME_LEN),
            phone: optional_text(c, "phone", blank_to_none(self.phone), MAX_PHONE_LEN),
            external_id: optional_text(
                c,
                "external_id",
                blank_to_none(self.external_id),
                MAX_EXTERNAL_ID_LEN,
            ),
            // `null` is an empty meta: stored as none, which clears it.
            meta: self
                .meta
                .and_then(|m| c.take(Meta::parse(m.unwrap_or(Value::Null)))),
            password: None,
            current_password: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_round_trips_and_renders_empty_as_array() {
        let m = Meta::parse(json!({"a": 1, "nested": {"b": [1, 2]}})).unwrap();
        assert_eq!(Meta::from_db(m.to_db().as_deref()), m);
        assert_eq!(Meta::parse(json!([])).unwrap().to_json(), json!([]));
        assert_eq!(Meta::parse(Value::Null).unwrap().to_db(), None);
        assert!(Meta::parse(json!("text")).is_err());
        assert!(Meta::parse(json!([1])).is_err());
        let big = json!({"k": "x".repeat(MAX_META_BYTES)});
        assert!(Meta::parse(big).is_err());
    }

    #[test]
    fn creation_reports_every_bad_field() {
        let input = ProfileInput {
            email: Some(Some("nope".into())),
            firstname: Some(Some("x".repeat(MAX_NAME_LEN + 1))),
            meta: Some(Some(json!(3))),
            ..Default::default()
        };
        let err = input.into_new().unwrap_err();
        let fields: Vec<_> = err.errors.keys().cloned().collect();
        assert_eq!(fields, ["email", "firstname", "meta"]);
    }

    #[test]
    fn patch_keeps_absent_and_clears_null() {
        let input = ProfileInput {
            phone: Some(None),
            firstname: Some(Some("Ann".into())),
            ..Default::default()
        };
        let patch = input.into_patch().unwrap();
        assert_eq!(patch.phone, Some(None));
        assert_eq!(patch.firstname, Some(Some("Ann".into())));
        assert_eq!(patch.lastname, None);
        assert!(ProfileInput {
            email: Some(None),
            ..Default::default()
        }
        .into_patch()
        .is_err());
    }

    #[test]
    fn patch_clears_meta_on_null_and_refuses_to_remove_the_password() {
        let clear = ProfileInput {
            meta: Some(None),
            ..Default::default()
        };
        assert_eq!(clear.into_patch().unwrap().meta, Some(Meta::default()));
        let keep = ProfileInput::default().into_patch().unwrap();
        assert_eq!(keep.meta, None);
        let err = ProfileInput {
            password: Some(None),
            ..Default::default()
        }
        .into_patch()
        .unwrap_err();
        assert_eq!(err.code, "password_required");
    }
}
