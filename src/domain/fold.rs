//! Case-insensitive search text: Unicode full case folding, computed here in Rust and stored, so
//! SQLite (whose `lower()` folds only ASCII) and PostgreSQL (whose `lower()` depends on the
//! database's locale, and only lower-cases) answer a search alike.
//!
//! Full folding (Unicode's CaseFolding.txt, statuses C and F) rather than `str::to_lowercase`:
//! it is meant for matching where lower-casing is meant for display, so `Straße`, `STRASSE` and
//! `STRAẞE` match each other, as do `Σ`, `σ` and the final `ς` (which `to_lowercase` keeps
//! apart, and even chooses by context: `"ΑΣ".to_lowercase()` ends in `ς`, while the same `Σ`
//! inside a longer word becomes `σ`). Folding maps each character on its own, so the fold of
//! a part of a name is a part of the fold of the name, which substring search relies on.
//!
//! This is search only. An address's identity (its uniqueness, the `email` filter, the login
//! throttle) stays `Email::normalized`, which lower-cases: `strasse@` and `straße@` can be
//! different mailboxes.
//!
//! The folds are stored (`*_folded` columns). A change of what this function returns for text
//! already stored (a new mapping in a newer Unicode version) needs a migration that sets
//! `customers.email_folded` to NULL, so that the next start folds every row again
//! (`db::customers::backfill_folded`).

/// `s` case-folded for matching.
pub fn fold(s: &str) -> String {
    unicase::UniCase::new(s).to_folded_case()
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn spanish_german_greek_and_turkish_fold_together() {
        for same in [
            ["Ñúñez", "ñúñez", "ÑÚÑEZ"],
            ["Straße", "STRASSE", "STRAẞE"],
            ["Σοφία", "ΣΟΦΊΑ", "σοφία"],
            ["Νίκος", "ΝΊΚΟΣ", "νίκοσ"],
        ] {
            let folded: Vec<String> = same.iter().map(|s| fold(s)).collect();
            assert!(
                folded.iter().all(|f| *f == folded[0]),
                "{same:?}: {folded:?}"
            );
        }
        assert_eq!(fold("ÚÑE"), "úñe");
        assert!(fold("ñúñez").contains(&fold("ÚÑE")));
        // İ folds to i with a combining dot, as lower-casing it does; it stays apart from I.
        assert_ne!(fold("İ"), fold("I"));
        assert_eq!(fold("plain@example.com"), "plain@example.com");
    }

    /// The properties search relies on, over every character: folding is idempotent; folding
    /// lower-cased text gives what folding the text gives (the HTTP layer may lower-case a
    /// query first, and the email search column is folded from the address as typed); and it
    /// maps characters one by one, so it keeps substrings substrings.
    #[test]
    fn folding_is_idempotent_and_ignores_prior_lowercasing() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let s = c.to_string();
            let f = fold(&s);
            assert_eq!(fold(&f), f, "{c:?} U+{:04X}", u32::from(c));
            assert_eq!(fold(&s.to_lowercase()), f, "{c:?} U+{:04X}", u32::from(c));
        }
        let word = "ΟΔΟΣ Straße ÑÚÑEZ";
        let whole = fold(word);
        let mut pieces = String::new();
        for c in word.chars() {
            pieces.push_str(&fold(&c.to_string()));
        }
        assert_eq!(whole, pieces);
    }
}
