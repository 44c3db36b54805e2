//! The link a mail carries: the storefront's `base_url` with the token put in.
//!
//! Mail clients turn any URL-looking text into a link, so the raw `base_url` never reaches a
//! mail: only the serialisation of the parsed, origin-checked URL does. A client's raw string
//! could otherwise carry a second URL after a space (or a `<`, `\`, newline...) that the
//! parser dropped or read differently, and the token would follow it out.

use url::Url;

use super::validation::ValidationError;
use crate::config::AllowedOrigin;

pub const PLACEHOLDER: &str = "{token}";
const MAX_LEN: usize = 2048;

/// Stands in for `{token}` while the URL is parsed and stored. Lowercase letters and digits
/// only, so no part of a URL percent-encodes or case-folds it.
const MARKER: &str = "patron0token0placeholder0d4f9";

/// A `base_url` checked against the allowed origins, kept as its parsed serialisation.
#[derive(Debug, Clone)]
pub struct LinkTemplate {
    /// The URL with [`MARKER`] wherever the client wrote `{token}`.
    url: Url,
    has_placeholder: bool,
}

fn invalid(message: &str) -> ValidationError {
    ValidationError::field("invalid_base_url", "base_url", message)
}

fn malformed() -> ValidationError {
    invalid("The base url must be a valid URL.")
}

/// With no origins configured, only loopback storefronts (a developer's machine) are allowed.
fn loopback_defaults() -> [AllowedOrigin; 2] {
    ["localhost", "127.0.0.1"].map(|host| AllowedOrigin {
        scheme: "http".into(),
        host: host.into(),
        port: None,
    })
}

/// Characters a URL parser skips or reads as a boundary while a mail client may not (or the
/// reverse); none has a place in a storefront URL written by hand.
fn refused_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '\\' | '"')
}

impl LinkTemplate {
    pub fn parse(raw: &str, allowed: &[AllowedOrigin]) -> Result<Self, ValidationError> {
        if raw.trim().is_empty() {
            return Err(invalid("The base url field is required."));
        }
        if raw.len() > MAX_LEN || raw.chars().any(refused_char) {
            return Err(malformed());
        }
        let placeholders = raw.matches(PLACEHOLDER).count();
        let url = Url::parse(&raw.replace(PLACEHOLDER, MARKER)).map_err(|_| malformed())?;
        if url.cannot_be_a_base() || url.username() != "" || url.password().is_some() {
            return Err(malformed());
        }
        if !origin_allowed(&url, allowed) {
            return Err(invalid("The base url is not on an allowed origin."));
        }
        // Each placeholder must come out of the parser as it went in, or the token would land
        // somewhere the client did not ask for (or nowhere).
        if url.as_str().matches(MARKER).count() != placeholders {
            return Err(malformed());
        }
        Ok(LinkTemplate {
            url,
            has_placeholder: placeholders > 0,
        })
    }

    /// The link for this token: `{token}` replaced, or `token=` added to the query.
    pub fn render(&self, token: &str) -> String {
        // Tokens are base64url, which this leaves as it is; anything else is escaped rather
        // than trusted to be URL-safe.
        let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        if self.has_placeholder {
            return self.url.as_str().replace(MARKER, &token);
        }
        let mut url = self.url.clone();
        url.query_pairs_mut().append_pair("token", &token);
        url.into()
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
        let t = LinkTemplate::parse("http://localhost:3000/#/a/{token}?b={token}", &[]).unwrap();
        assert_eq!(
            t.render("ctk_a-b_C9"),
            "http://localhost:3000/#/a/ctk_a-b_C9?b=ctk_a-b_C9"
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

    #[test]
    fn characters_that_could_start_a_second_url_are_refused() {
        let attacks = [
            "http://localhost:3000/ https://evil.example/{token}",
            "http://localhost:3000/\thttps://evil.example/{token}",
            "http://localhost:3000/\nhttps://evil.example/{token}",
            "http://localhost:3000/\r\nhttps://evil.example/{token}",
            "http://localhost:3000/<https://evil.example/{token}>",
            "http://localhost:3000/>https://evil.example/{token}",
            "http://localhost:3000/\\https://evil.example/{token}",
            "http://localhost:3000/\"https://evil.example/{token}",
            "http://localhost:3000/\u{a0}https://evil.example/{token}",
            "http://localhost:3000/\u{2028}https://evil.example/{token}",
            "http://localhost:3000/\u{0}{token}",
            " http://localhost:3000/{token}",
            "http://localhost:3000/{token}\n",
        ];
        for raw in attacks {
            let err = LinkTemplate::parse(raw, &[]).expect_err(raw);
            assert_eq!(err.code, "invalid_base_url", "{raw:?}");
            assert!(err.errors.contains_key("base_url"), "{raw:?}");
        }
    }

    /// Percent-encoded separators are legal URL text: they stay encoded, so the mail shows
    /// one URL on the allowed origin and nothing a mail client would split on.
    #[test]
    fn percent_encoded_separators_stay_inside_one_url() {
        let raws = [
            "http://localhost:3000/%20https://evil.example/{token}",
            "http://localhost:3000/%09https://evil.example/{token}",
            "http://localhost:3000/%0Ahttps://evil.example/{token}",
            "http://localhost:3000/%0D%0Ahttps://evil.example/{token}",
            "http://localhost:3000/%3Chttps://evil.example/{token}%3E",
            "http://localhost:3000/%5Chttps://evil.example/{token}",
            "http://localhost:3000/%22https://evil.example/{token}",
            "http://localhost:3000/?next=%20https://evil.example/{token}",
            "http://localhost:3000/#%20https://evil.example/{token}",
        ];
        for raw in raws {
            let t = LinkTemplate::parse(raw, &[]).expect(raw);
            let link = t.render("ctk_abc");
            assert!(!link.chars().any(refused_char), "{raw:?} → {link:?}");
            let parsed = Url::parse(&link).expect("the link is a URL");
            assert_eq!(
                parsed.as_str(),
                link,
                "{raw:?}: the link is its own serialisation"
            );
            assert_eq!(parsed.host_str(), Some("localhost"), "{raw:?}");
            assert!(link.starts_with("http://localhost:3000/"), "{raw:?}");
        }
    }

    #[test]
    fn the_stored_form_is_the_serialised_url() {
        // The parser normalises (case of the scheme and host, `.` segments, unsafe bytes);
        // the mail carries what it produced, not what the client wrote.
        let t = LinkTemplate::parse("HTTP://LocalHost:3000/a/../b/{token}?q=a|b", &[]).unwrap();
        assert_eq!(t.render("ctk_x"), "http://localhost:3000/b/ctk_x?q=a|b");
        let t = LinkTemplate::parse("http://localhost:3000/é/{token}", &[]).unwrap();
        assert_eq!(t.render("ctk_x"), "http://localhost:3000/%C3%A9/ctk_x");
    }

    #[test]
    fn a_placeholder_the_parser_would_move_or_drop_is_refused() {
        // In the host the origin check refuses it; a literal marker would give the token a
        // place the client did not mark.
        assert!(LinkTemplate::parse("http://{token}.localhost:3000/", &[]).is_err());
        assert!(LinkTemplate::parse(&format!("http://localhost:3000/{MARKER}"), &[]).is_err());
    }

    #[test]
    fn base_urls_are_at_most_2048_bytes() {
        let at = |len: usize| {
            let head = "http://localhost:3000/?q=";
            format!("{head}{}", "a".repeat(len - head.len()))
        };
        assert!(LinkTemplate::parse(&at(MAX_LEN), &[]).is_ok());
        assert!(LinkTemplate::parse(&at(MAX_LEN + 1), &[]).is_err());
        assert!(LinkTemplate::parse(&at(MAX_LEN * 2), &[]).is_err());
    }

    #[test]
    fn a_token_that_is_not_url_safe_is_escaped() {
        let t = LinkTemplate::parse("http://localhost:3000/{token}", &[]).unwrap();
        assert_eq!(t.render("a b/c"), "http://localhost:3000/a+b%2Fc");
    }
}
