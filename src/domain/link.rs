//! The link a mail carries: the storefront's `base_url` with the token put in.

use url::Url;

use super::validation::ValidationError;
use crate::config::AllowedOrigin;

pub const PLACEHOLDER: &str = "{token}";
const MAX_LEN: usize = 2048;

/// A `base_url` checked against the allowed origins.
#[derive(Debug, Clone)]
pub struct LinkTemplate(String);

fn invalid(message: &str) -> ValidationError {
    ValidationError::field("invalid_base_url", "base_url", message)
}

/// With no origins configured, only loopback storefronts (a developer's machine) are allowed.
fn loopback_defaults() -> [AllowedOrigin; 2] {
    ["localhost", "127.0.0.1"].map(|host| AllowedOrigin {
        scheme: "http".into(),
        host: host.into(),
        port: None,
    })
}

impl LinkTemplate {
    pub fn parse(raw: &str, allowed: &[AllowedOrigin]) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(invalid("The base url field is required."));
        }
        if raw.len() > MAX_LEN || raw.chars().any(char::is_control) {
            return Err(invalid("The base url must be a valid URL."));
        }
        // The origin is judged with the placeholder filled by a harmless value, and again after
        // the real token goes in.
        let url = Url::parse(&raw.replace(PLACEHOLDER, "token"))
            .map_err(|_| invalid("The base url must be a valid URL."))?;
        if url.cannot_be_a_base() || url.username() != "" || url.password().is_some() {
            return Err(invalid("The base url must be a valid URL."));
        }
        if !origin_allowed(&url, allowed) {
            return Err(invalid("The base url is not on an allowed origin."));
        }
        Ok(LinkTemplate(raw.to_owned()))
    }

    /// The link for this token: `{token}` replaced, or `token=` added to the query.
    pub fn render(&self, token: &str) -> String {
        if self.0.contains(PLACEHOLDER) {
            return self.0.replace(PLACEHOLDER, token);
        }
        match Url::parse(&self.0) {
            Ok(mut url) => {
                url.query_pairs_mut().append_pair("token", token);
                url.to_string()
            }
            Err(_) => {
                let sep = if self.0.contains('?') { '&' } else { '?' };
                format!("{}{sep}token={token}", self.0)
            }
        }
    }
}

fn origin_allowed(url: &Url, allowed: &[AllowedOrigin]) -> bool {
    if allowed.is_empty() {
        loopback_defaults().iter().any(|o| o.matches(url))
    } else {
        allowed.iter().any(|o| o.matches(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Vec<AllowedOrigin> {
        list.iter()
            .map(|o| AllowedOrigin::parse(o).unwrap())
            .collect()
    }

    #[test]
    fn placeholder_in_path_or_query_is_replaced() {
        let t = LinkTemplate::parse("http://localhost:3000/login/{token}", &[]).unwrap();
        assert_eq!(t.render("ctk_abc"), "http://localhost:3000/login/ctk_abc");
        let t = LinkTemplate::parse("http://127.0.0.1:5173/cb?token={token}&x=1", &[]).unwrap();
        assert_eq!(
            t.render("ctk_abc"),
            "http://127.0.0.1:5173/cb?token=ctk_abc&x=1"
        );
    }

    #[test]
    fn without_placeholder_token_is_appended() {
        let t = LinkTemplate::parse("http://localhost:3000/api/login", &[]).unwrap();
        assert_eq!(
            t.render("ctk_abc"),
            "http://localhost:3000/api/login?token=ctk_abc"
        );
        let t = LinkTemplate::parse("http://localhost:3000/api/login?next=%2Fa", &[]).unwrap();
        assert_eq!(
            t.render("ctk_abc"),
            "http://localhost:3000/api/login?next=%2Fa&token=ctk_abc"
        );
    }

    #[test]
    fn only_allowed_origins_pass() {
        assert!(LinkTemplate::parse("https://evil.example/login/{token}", &[]).is_err());
        assert!(
            LinkTemplate::parse("https://localhost:3000/{token}", &[]).is_err(),
            "https not in defaults"
        );
        assert!(LinkTemplate::parse("http://localhost.evil.example/{token}", &[]).is_err());
        assert!(LinkTemplate::parse("http://user@localhost:3000/{token}", &[]).is_err());
        assert!(LinkTemplate::parse("javascript:alert(1)//{token}", &[]).is_err());
        assert!(LinkTemplate::parse("http://{token}.localhost/", &[]).is_err());
        let shop = origins(&["https://shop.example"]);
        assert!(LinkTemplate::parse("https://shop.example/login?token={token}", &shop).is_ok());
        assert!(
            LinkTemplate::parse("http://localhost:3000/{token}", &shop).is_err(),
            "configured origins replace the defaults"
        );
        assert!(LinkTemplate::parse("https://shop.example.evil.example/{token}", &shop).is_err());
        assert_eq!(
            LinkTemplate::parse("", &shop).unwrap_err().code,
            "invalid_base_url"
        );
    }
}
