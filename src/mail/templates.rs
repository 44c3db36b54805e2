//! The texts of the mails patron sends: a plain-text and an HTML part each.

/// Subject, text and HTML of a message.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn greeting(firstname: Option<&str>) -> String {
    match firstname.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".into(),
    }
}

fn minutes(ttl_secs: u64) -> String {
    match ttl_secs.div_ceil(60) {
        1 => "1 minute".into(),
        n => format!("{n} minutes"),
    }
}

pub fn login_link(subject: &str, firstname: Option<&str>, link: &str, ttl_secs: u64) -> Rendered {
    let hello = greeting(firstname);
    let valid = minutes(ttl_secs);
    let text = format!(
        "{hello}\n\nUse this link to log in:\n\n{link}\n\n\
         It works once and expires in {valid}. If you did not ask for it, you can ignore this email.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <p>{}</p><p><a href=\"{}\">Log in</a></p>\
         <p>Or paste this link into your browser:<br>{}</p>\
         <p>It works once and expires in {valid}. If you did not ask for it, you can ignore this email.</p>\
         </body></html>",
        escape_html(&hello),
        escape_html(link),
        escape_html(link)
    );
    Rendered {
        subject: subject.to_owned(),
        text,
        html,
    }
}

/// Paragraphs, then optionally a link on its own, then more paragraphs.
fn compose(subject: &str, before: &[String], link: Option<&str>, after: &[String]) -> Rendered {
    let mut text_parts = before.to_vec();
    text_parts.extend(link.map(str::to_owned));
    text_parts.extend_from_slice(after);
    let para = |p: &String| format!("<p>{}</p>", escape_html(p));
    let link_html = link
        .map(|l| format!("<p><a href=\"{0}\">{0}</a></p>", escape_html(l)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">{}{link_html}{}</body></html>",
        before.iter().map(para).collect::<String>(),
        after.iter().map(para).collect::<String>()
    );
    Rendered {
        subject: subject.to_owned(),
        text: text_parts.join("\n\n") + "\n",
        html,
    }
}

/// Confirms the address of a new password account.
pub fn verify_email(firstname: Option<&str>, link: &str, ttl_secs: u64) -> Rendered {
    compose(
        "Confirm your email address",
        &[
            greeting(firstname),
            "Please confirm your email address to finish creating your account:".into(),
        ],
        Some(link),
        &[format!(
            "The link works once and expires in {}. If you did not sign up, you can ignore this email.",
            minutes(ttl_secs)
        )],
    )
}

/// Someone tried to register an address that already has an account.
pub fn already_registered(firstname: Option<&str>, link: &str, ttl_secs: u64) -> Rendered {
    compose(
        "You already have an account",
        &[
            greeting(firstname),
            "Someone (probably you) tried to create an account with this email address, but you already have one. Nothing was changed.".into(),
            "You can log in with this link:".into(),
        ],
        Some(link),
        &[format!(
            "It works once and expires in {}. If this was not you, you can ignore this email.",
            minutes(ttl_secs)
        )],
    )
}

pub fn password_reset(firstname: Option<&str>, link: &str, ttl_secs: u64) -> Rendered {
    compose(
        "Reset your password",
        &[greeting(firstname), "Use this link to choose a new password:".into()],
        Some(link),
        &[format!(
            "It works once and expires in {}. If you did not ask for it, you can ignore this email; your password stays as it is.",
            minutes(ttl_secs)
        )],
    )
}

pub fn password_changed(firstname: Option<&str>) -> Rendered {
    compose(
        "Your password was changed",
        &[
            greeting(firstname),
            "The password of your account was just changed, and every device was logged out."
                .into(),
            "If this was not you, reset your password at once and contact the shop.".into(),
        ],
        None,
        &[],
    )
}

/// How a customer confirms a new address: a link, or (without a `base_url`) a code to enter.
pub enum Confirmation<'a> {
    Link(&'a str),
    Code(&'a str),
}

/// Sent to the new address: the change applies only when this is used.
pub fn email_change_confirm(
    firstname: Option<&str>,
    confirmation: Confirmation<'_>,
    ttl_secs: u64,
) -> Rendered {
    let asked = "Someone (probably you) asked to change the email address of an account to this address. Nothing changes until it is confirmed.".to_owned();
    let expiry = format!(
        "It works once and expires in {}. If this was not you, you can ignore this email.",
        minutes(ttl_secs)
    );
    match confirmation {
        Confirmation::Link(link) => compose(
            "Confirm your new email address",
            &[
                greeting(firstname),
                asked,
                "To confirm, open this link:".into(),
            ],
            Some(link),
            &[expiry],
        ),
        Confirmation::Code(code) => compose(
            "Confirm your new email address",
            &[
                greeting(firstname),
                asked,
                format!("To confirm, enter this code in the shop: {code}"),
                expiry,
            ],
            None,
            &[],
        ),
    }
}

/// Sent to the new address instead, when it already belongs to another account.
pub fn email_change_taken() -> Rendered {
    compose(
        "Email address change not possible",
        &[
            greeting(None),
            "Someone asked to move an account to this email address, but this address already has an account with the shop. Nothing was changed.".into(),
            "If this was you, log in with this address instead. Otherwise you can ignore this email.".into(),
        ],
        None,
        &[],
    )
}

/// Sent to the old address once a change is confirmed.
pub fn email_changed(firstname: Option<&str>, new_email_masked: &str) -> Rendered {
    compose(
        "Your email address was changed",
        &[
            greeting(firstname),
            format!("The email address of your account was just changed to {new_email_masked}. Mail about your account now goes there."),
            "If this was not you, contact the shop at once.".into(),
        ],
        None,
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_mail_has_link_in_both_parts_and_escapes_names() {
        let r = login_link(
            "Your login link",
            Some("<b>Ann</b>"),
            "http://localhost:3000/l?token=ctk_x&a=1",
            900,
        );
        assert!(r.text.contains("http://localhost:3000/l?token=ctk_x&a=1"));
        assert!(r.text.contains("15 minutes"));
        assert!(r
            .html
            .contains("href=\"http://localhost:3000/l?token=ctk_x&amp;a=1\""));
        assert!(r.html.contains("&lt;b&gt;Ann&lt;/b&gt;"));
        assert!(!r.html.contains("<b>Ann"));
    }
}
