//! URLs as they may be shown: in logs, error messages and `Debug` output, without the
//! credentials they carry.

/// Which part of a URL's user info [`redacted_url`] hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redact {
    /// The password; the user name stays, it helps reading a log.
    Password,
    /// User and password: some mail services take an API token as the user name.
    UserAndPassword,
}

/// Query parameters libpq reads as credentials (names compared in any case: a log line is no
/// place to find out which spellings libpq accepts).
const SECRET_QUERY_PARAMS: &[&str] = &["password", "sslpassword"];

/// The credentials in a URL as written and percent-decoded, read by hand so that a URL the
/// `url` crate refuses is covered too: the user info's password and the values of
/// [`SECRET_QUERY_PARAMS`].
pub(super) fn url_credentials(raw: &str) -> Vec<String> {
    let decoded = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let mut found = Vec::new();
    let rest = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if let Some((_, password)) = userinfo.split_once(':') {
            found.push(password.to_owned());
            found.push(decoded(password));
        }
    }
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if SECRET_QUERY_PARAMS
            .iter()
            .any(|s| decoded(key).eq_ignore_ascii_case(s))
        {
            found.push(value.to_owned());
            found.push(decoded(value));
        }
    }
    found
}

/// `raw` with its credentials replaced by `***`: the password of the user info (and the user,
/// as asked), and the value of every `password`/`sslpassword` query parameter. A URL that does
/// not parse is shown as its scheme only.
pub fn redacted_url(raw: &str, redact: Redact) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        let scheme = raw
            .split_once("://")
            .map_or("url", |(scheme, _)| scheme)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>();
        return format!("{scheme}://<unparseable>");
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if redact == Redact::UserAndPassword && !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    let secret = |k: &str| {
        SECRET_QUERY_PARAMS
            .iter()
            .any(|s| k.eq_ignore_ascii_case(s))
    };
    if url.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}
