//! A store: one shop of a deployment, with the settings that are about one shop. Every key,
//! customer and order belongs to one (see `db::scope`).

use chrono::NaiveDateTime;

use super::email::Email;
use super::ids::StoreId;
use super::money::Currency;
use super::validation::{text, Collector, ValidationError};
use crate::config::{AllowedOrigin, Config};

pub const MAX_NAME_LEN: usize = 255;
pub const MAX_SUBJECT_LEN: usize = 255;
pub const MAX_LINK_ORIGINS: usize = 50;

/// A store's own settings. `None` everywhere means "the deployment's value" (the `PATRON_*`
/// variable), so a store follows a change of the deployment until it sets its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreSettings {
    pub support_email: Option<String>,
    pub currency: Option<Currency>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    pub link_origins: Option<Vec<AllowedOrigin>>,
    pub mail_from: Option<String>,
    pub mail_subject: Option<String>,
    pub order_reference_prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    pub id: StoreId,
    pub name: String,
    pub settings: StoreSettings,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

impl Store {
    pub fn is_default(&self) -> bool {
        self.id.is_default()
    }

    /// Origins a magic link of this store may point at.
    pub fn link_origins<'a>(&'a self, config: &'a Config) -> &'a [AllowedOrigin] {
        self.settings
            .link_origins
            .as_deref()
            .unwrap_or(&config.link_origins)
    }

    /// The `From` of this store's mail; `None`: the deployment's `PATRON_MAIL_FROM`.
    pub fn mail_from(&self) -> Option<&str> {
        self.settings.mail_from.as_deref()
    }

    pub fn mail_subject<'a>(&'a self, config: &'a Config) -> &'a str {
        self.settings
            .mail_subject
            .as_deref()
            .unwrap_or(&config.mail_subject)
    }

    pub fn order_reference_prefix<'a>(&'a self, config: &'a Config) -> &'a str {
        self.settings
            .order_reference_prefix
            .as_deref()
            .unwrap_or(&config.order_reference_prefix)
    }
}

/// A new store, valid.
#[derive(Debug, Clone)]
pub struct NewStore {
    pub name: String,
    pub settings: StoreSettings,
}

/// A change: `None` keeps a value, `Some(None)` gives the setting back to the deployment.
#[derive(Debug, Clone, Default)]
pub struct StorePatch {
    pub name: Option<String>,
    pub support_email: Option<Option<String>>,
    pub currency: Option<Option<Currency>>,
    pub country: Option<Option<String>>,
    pub link_origins: Option<Option<Vec<AllowedOrigin>>>,
    pub mail_from: Option<Option<String>>,
    pub mail_subject: Option<Option<String>>,
    pub order_reference_prefix: Option<Option<String>>,
}

impl StorePatch {
    pub fn apply(self, store: &mut Store) {
        if let Some(name) = self.name.clone() {
            store.name = name;
        }
        self.apply_settings(&mut store.settings);
    }

    /// The settings part of the change (all of it but the name).
    fn apply_settings(self, s: &mut StoreSettings) {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = self.$field {
                    s.$field = v;
                }
            )*};
        }
        set!(
            support_email,
            currency,
            country,
            link_origins,
            mail_from,
            mail_subject,
            order_reference_prefix
        );
    }
}

/// Store fields as a client sent them: absent (`None`), `null` (`Some(None)`) or a value.
#[derive(Debug, Clone, Default)]
pub struct StoreInput {
    pub name: Option<Option<String>>,
    pub support_email: Option<Option<String>>,
    pub currency: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub link_origins: Option<Option<Vec<String>>>,
    pub mail_from: Option<Option<String>>,
    pub mail_subject: Option<Option<String>>,
    pub order_reference_prefix: Option<Option<String>>,
}

/// Text is checked as sent (the length the document states is the length checked), then
/// kept without surrounding white space; a blank one counts as missing.
fn name(c: &mut Collector, raw: Option<String>) -> Option<String> {
    match raw.filter(|n| !n.trim().is_empty()) {
        None => {
            c.add("name_required", "name", "The name field is required.");
            None
        }
        Some(n) => c
            .take(text("name", n, MAX_NAME_LEN))
            .map(|n| n.trim().to_owned()),
    }
}

/// Each setting's parser, given the value as sent (each checks the length the document
/// states on that); blank text counts as `null`.
fn setting<T>(
    c: &mut Collector,
    raw: Option<Option<String>>,
    parse: impl FnOnce(&str) -> Result<T, ValidationError>,
) -> Option<Option<T>> {
    match raw?.as_deref().filter(|v| !v.trim().is_empty()) {
        None => Some(None),
        Some(v) => c.take(parse(v)).map(Some),
    }
}

pub fn parse_support_email(raw: &str) -> Result<String, ValidationError> {
    Email::parse(raw)
        .map(|e| e.as_str().to_owned())
        .map_err(|_| {
            ValidationError::field(
                "invalid_support_email",
                "support_email",
                "The support email must be a valid email address.",
            )
        })
}

pub fn parse_currency(raw: &str) -> Result<Currency, ValidationError> {
    Currency::parse(raw).ok_or_else(|| {
        ValidationError::field(
            "invalid_currency",
            "currency",
            "The currency must be an ISO 4217 code with minor units, such as EUR or USD.",
        )
    })
}

pub fn parse_country(raw: &str) -> Result<String, ValidationError> {
    let code = raw.trim().to_ascii_uppercase();
    // The crate's table holds the 249 alpha-2 codes, and "" (blank never gets here).
    match code.parse::<iso_country::Country>() {
        Ok(_) => Ok(code),
        Err(_) => Err(ValidationError::field(
            "invalid_country",
            "country",
            "The country must be an ISO 3166-1 alpha-2 code, such as SE or US.",
        )),
    }
}

pub fn parse_mail_from(raw: &str) -> Result<String, ValidationError> {
    let invalid = || {
        ValidationError::field(
            "invalid_mail_from",
            "mail_from",
            "The mail from must be an address like \"Shop <no-reply@shop.example>\".",
        )
    };
    if raw.chars().any(char::is_control) {
        return Err(invalid());
    }
    let raw = raw.trim();
    raw.parse::<lettre::message::Mailbox>()
        .map(|_| raw.to_owned())
        .map_err(|_| invalid())
}

pub fn parse_subject(raw: &str) -> Result<String, ValidationError> {
    text("mail_subject", raw.to_owned(), MAX_SUBJECT_LEN).map(|s| s.trim().to_owned())
}

pub fn parse_reference_prefix(raw: &str) -> Result<String, ValidationError> {
    if raw.len() <= 16 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(raw.to_owned())
    } else {
        Err(ValidationError::field(
            "invalid_order_reference_prefix",
            "order_reference_prefix",
            "The order reference prefix must be 1 to 16 letters or digits.",
        ))
    }
}

fn link_origins(
    c: &mut Collector,
    raw: Option<Option<Vec<String>>>,
) -> Option<Option<Vec<AllowedOrigin>>> {
    let list = match raw? {
        None => return Some(None),
        Some(list) => list,
    };
    if list.len() > MAX_LINK_ORIGINS {
        c.add(
            "too_many_link_origins",
            "link_origins",
            format!("A store may list at most {MAX_LINK_ORIGINS} link origins."),
        );
        return None;
    }
    let mut origins = Vec::with_capacity(list.len());
    for raw in &list {
        match AllowedOrigin::parse(raw) {
            Ok(o) if !raw.chars().any(char::is_control) => origins.push(o),
            Ok(_) | Err(_) => {
                c.add(
                    "invalid_link_origin",
                    "link_origins",
                    "Each link origin must be an origin like https://shop.example (scheme, host \
                     and optional port).",
                );
                return None;
            }
        }
    }
    Some(Some(origins))
}

impl StoreInput {
    pub fn into_new(self) -> Result<NewStore, ValidationError> {
        let mut c = Collector::new();
        let name = name(&mut c, self.name.clone().flatten());
        let patch = self.settings(&mut c);
        c.finish()?;
        let name = name.ok_or_else(|| {
            ValidationError::field("name_required", "name", "The name field is required.")
        })?;
        let mut settings = StoreSettings::default();
        patch.apply_settings(&mut settings);
        Ok(NewStore { name, settings })
    }

    pub fn into_patch(self) -> Result<StorePatch, ValidationError> {
        let mut c = Collector::new();
        let name = self.name.clone().map(|n| name(&mut c, n));
        let mut patch = self.settings(&mut c);
        c.finish()?;
        patch.name = name.flatten();
        Ok(patch)
    }

    fn settings(self, c: &mut Collector) -> StorePatch {
        StorePatch {
            name: None,
            support_email: setting(c, self.support_email, parse_support_email),
            currency: setting(c, self.currency, parse_currency),
            country: setting(c, self.country, parse_country),
            link_origins: link_origins(c, self.link_origins),
            mail_from: setting(c, self.mail_from, parse_mail_from),
            mail_subject: setting(c, self.mail_subject, parse_subject),
            order_reference_prefix: setting(c, self.order_reference_prefix, parse_reference_prefix),
        }
    }
}

/// How an origin is written back (in the store's settings and its API rendering).
pub fn origin_text(o: &AllowedOrigin) -> String {
    let default = if o.scheme == "https" { 443 } else { 80 };
    match o.port {
        None => format!("{}://{}:*", o.scheme, o.host),
        Some(p) if p == default => format!("{}://{}", o.scheme, o.host),
        Some(p) => format!("{}://{}:{p}", o.scheme, o.host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> StoreInput {
        StoreInput {
            name: Some(Some("Shop B".into())),
            ..StoreInput::default()
        }
    }

    #[test]
    fn a_new_store_needs_a_name_and_valid_settings() {
        let new = input().into_new().unwrap();
        assert_eq!(new.name, "Shop B");
        assert_eq!(new.settings, StoreSettings::default());
        let padded = StoreInput {
            name: Some(Some(" Shop B ".into())),
            ..input()
        };
        assert_eq!(padded.into_new().unwrap().name, "Shop B");
        let too_long = format!("{} ", "a".repeat(MAX_NAME_LEN));
        for name in [
            None,
            Some(None),
            Some(Some("  ".to_owned())),
            Some(Some(too_long)),
        ] {
            let e = StoreInput { name, ..input() }.into_new().unwrap_err();
            assert!(e.errors.contains_key("name"), "{e:?}");
        }
        let bad = StoreInput {
            currency: Some(Some("XXX".into())),
            country: Some(Some("XX".into())),
            support_email: Some(Some("nope".into())),
            mail_from: Some(Some("a\nb".into())),
            order_reference_prefix: Some(Some("ORD-".into())),
            link_origins: Some(Some(vec!["https://a.example/path".into()])),
            ..input()
        };
        let e = bad.into_new().unwrap_err();
        for field in [
            "currency",
            "country",
            "support_email",
            "mail_from",
            "order_reference_prefix",
            "link_origins",
        ] {
            assert!(e.errors.contains_key(field), "{field}: {e:?}");
        }
    }

    #[test]
    fn settings_are_normalised_and_null_gives_them_back() {
        let new = StoreInput {
            currency: Some(Some("eur".into())),
            country: Some(Some("se".into())),
            link_origins: Some(Some(vec!["HTTPS://Shop.example/".into()])),
            ..input()
        }
        .into_new()
        .unwrap();
        assert_eq!(new.settings.currency.map(|c| c.code()), Some("EUR"));
        assert_eq!(new.settings.country.as_deref(), Some("SE"));
        let origins = new.settings.link_origins.clone().unwrap();
        assert_eq!(origin_text(&origins[0]), "https://shop.example");
        let mut store = Store {
            id: StoreId::generate(),
            name: new.name,
            settings: new.settings,
            created_at: NaiveDateTime::default(),
            updated_at: NaiveDateTime::default(),
            deleted_at: None,
        };
        let patch = StoreInput {
            currency: Some(None),
            country: Some(Some(String::new())),
            ..StoreInput::default()
        }
        .into_patch()
        .unwrap();
        patch.apply(&mut store);
        assert_eq!(store.settings.currency, None);
        assert_eq!(store.settings.country, None);
        assert_eq!(store.name, "Shop B");
        assert!(store.settings.link_origins.is_some());
    }

    #[test]
    fn a_store_lists_at_most_fifty_link_origins() {
        let origins = |n: usize| StoreInput {
            link_origins: Some(Some(
                (0..n).map(|i| format!("https://shop{i}.example")).collect(),
            )),
            ..input()
        };
        let fifty = origins(MAX_LINK_ORIGINS).into_new().unwrap();
        assert_eq!(
            fifty.settings.link_origins.map(|o| o.len()),
            Some(MAX_LINK_ORIGINS)
        );
        let e = origins(MAX_LINK_ORIGINS + 1).into_new().unwrap_err();
        assert!(e.errors.contains_key("link_origins"), "{e:?}");
        // The origin parser takes any host text; a control character in one is refused here.
        let bell = StoreInput {
            link_origins: Some(Some(vec!["https://shop\u{7}b.example".into()])),
            ..input()
        };
        let e = bell.into_new().unwrap_err();
        assert!(e.errors.contains_key("link_origins"), "{e:?}");
    }

    #[test]
    fn origins_are_written_back_as_given() {
        for raw in [
            "https://shop.example",
            "http://localhost:*",
            "http://127.0.0.1:3000",
        ] {
            assert_eq!(origin_text(&AllowedOrigin::parse(raw).unwrap()), raw);
        }
    }
}
