//! Chec-style ids: a prefix, an underscore and 14 letters or digits (`cstmr_cO3J2apam2oDdz`).

use std::fmt;

use super::random;

const ID_BODY_LEN: usize = 14;

fn is_valid(raw: &str, prefix: &str) -> bool {
    raw.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|body| {
            body.len() == ID_BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

macro_rules! prefixed_id {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                $name(format!("{}_{}", $prefix, random::alphanumeric(ID_BODY_LEN)))
            }

            /// The JSON Schema `pattern` of a well-formed id of this kind.
            pub fn pattern() -> String {
                format!("^{}_[A-Za-z0-9]{{{}}}$", $prefix, ID_BODY_LEN)
            }

            /// `None` for anything that is not exactly a well-formed id of this kind.
            pub fn parse(raw: &str) -> Option<Self> {
                is_valid(raw, $prefix).then(|| $name(raw.to_owned()))
            }

            /// For values this service wrote itself (read back from its own database).
            #[allow(dead_code)]
            pub(crate) fn from_trusted(raw: String) -> Self {
                $name(raw)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(CustomerId, "cstmr");
prefixed_id!(OrderId, "ord");
prefixed_id!(LineItemId, "item");
prefixed_id!(StoreId, "store");

impl StoreId {
    /// The store a deployment starts with, made by the migration that introduced stores: all
    /// data from before it, and the keys from the environment, belong to it.
    pub const DEFAULT: &'static str = "store_default0000000";

    pub fn default_store() -> Self {
        StoreId(Self::DEFAULT.to_owned())
    }

    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = CustomerId::generate();
        assert!(id.as_str().starts_with("cstmr_"));
        assert_eq!(id.as_str().len(), 6 + 14);
        assert_eq!(CustomerId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "cstmr_",
            "cstmr_short",
            "ord_cO3J2apam2oDdz",
            "cstmr_cO3J2apam2oDd!",
            "cstmr_cO3J2apam2oDdzz",
            "cstmr-cO3J2apam2oDdz",
        ] {
            assert_eq!(CustomerId::parse(bad), None, "{bad}");
        }
        assert!(CustomerId::parse("cstmr_cO3J2apam2oDdz").is_some());
    }
}

#[cfg(test)]
mod pattern_tests {
    use super::*;

    #[test]
    fn the_pattern_describes_what_parse_takes() {
        assert_eq!(CustomerId::pattern(), "^cstmr_[A-Za-z0-9]{14}$");
        assert!(CustomerId::parse(CustomerId::generate().as_str()).is_some());
        assert_eq!(OrderId::pattern(), "^ord_[A-Za-z0-9]{14}$");
        assert!(StoreId::parse(StoreId::DEFAULT).is_some_and(|s| s.is_default()));
        assert!(!StoreId::generate().is_default());
    }
}
