//! Money: exact integer minor units inside, Chec's Price object outside.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An ISO 4217 currency that has minor units (not a fund or metal code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    inner: iso_currency::Currency,
    exponent: u32,
}

impl Currency {
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim().to_ascii_uppercase();
        let inner = iso_currency::Currency::from_code(&code)?;
        let exponent = u32::from(inner.exponent()?);
        Some(Currency { inner, exponent })
    }

    pub fn code(&self) -> &'static str {
        self.inner.code()
    }

    /// The symbol shops show: `$`, `€`, `¥`; the code when the currency has none.
    pub fn symbol(&self) -> String {
        let s = self.inner.symbol().symbol;
        if s.trim().is_empty() || s == "¤" {
            self.code().to_owned()
        } else {
            s
        }
    }

    pub fn exponent(&self) -> u32 {
        self.exponent
    }
}

/// A decimal amount in major units, read exactly (never through a float).
/// `"37.50"` USD → 3750; `1200` JPY → 1200. More decimals than the currency has, a sign or
/// an exponent are refused.
pub fn parse_amount(value: &Value, currency: Currency) -> Result<i64, &'static str> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err("must be a decimal number or string"),
    };
    if text.is_empty() {
        return Err("must be a decimal number or string");
    }
    if text.starts_with('-') {
        return Err("may not be negative");
    }
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("must be a decimal number or string");
    }
    let frac = frac.trim_end_matches('0');
    let exp = currency.exponent() as usize;
    if frac.len() > exp {
        return Err("has more decimal places than the currency allows");
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "is too large")?
    };
    let frac_units: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<exp$}")
            .parse()
            .map_err(|_| "is too large")?
    };
    let scale = 10i64.pow(currency.exponent());
    let minor = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or("is too large")?;
    if minor > MAX_MINOR {
        return Err("is too large");
    }
    Ok(minor)
}

/// Amounts above this (10^13 minor units) are refused, so sums of a few thousand lines can
/// never overflow and every value is exact as a JSON number.
pub const MAX_MINOR: i64 = 10_000_000_000_000;

/// Chec's Price object.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Price {
    /// The amount in major units as a JSON number (37.5 for $37.50, 1200 for ¥1,200).
    #[schema(value_type = f64)]
    pub raw: Value,
    /// `37.50`, `1,200`
    pub formatted: String,
    /// `$37.50`, `¥1,200`
    pub formatted_with_symbol: String,
    /// `37.50 USD`, `1,200 JPY`
    pub formatted_with_code: String,
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Price {
    pub fn new(minor: i64, currency: Currency) -> Self {
        let exp = currency.exponent();
        let scale = 10i64.pow(exp);
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        let whole = abs / scale.unsigned_abs();
        let frac = abs % scale.unsigned_abs();
        let frac_text = if exp == 0 {
            String::new()
        } else {
            format!(".{frac:0width$}", width = exp as usize)
        };
        let formatted = format!("{sign}{}{frac_text}", group_thousands(&whole.to_string()));
        // Exact decimal text first, then a JSON number from it: 3750 cents → 37.5.
        let raw = if frac == 0 {
            Value::from(minor / scale)
        } else {
            format!("{sign}{whole}{frac_text}")
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        };
        Price {
            raw,
            formatted_with_symbol: format!("{}{}", currency.symbol(), formatted),
            formatted_with_code: format!("{formatted} {}", currency.code()),
            formatted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn amounts_are_read_exactly_in_minor_units() {
        assert_eq!(parse_amount(&json!("37.50"), c("USD")), Ok(3750));
        assert_eq!(parse_amount(&json!(37.5), c("USD")), Ok(3750));
        assert_eq!(parse_amount(&json!("19.99"), c("eur")), Ok(1999));
        assert_eq!(parse_amount(&json!(0.1), c("USD")), Ok(10));
        assert_eq!(parse_amount(&json!(1200), c("JPY")), Ok(1200));
        assert_eq!(parse_amount(&json!("1.234"), c("KWD")), Ok(1234));
        assert_eq!(parse_amount(&json!("5"), c("USD")), Ok(500));
        assert_eq!(parse_amount(&json!(".5"), c("USD")), Ok(50));
        assert!(parse_amount(&json!("1200.5"), c("JPY")).is_err());
        assert!(parse_amount(&json!("1.005"), c("USD")).is_err());
        assert!(parse_amount(&json!("-1"), c("USD")).is_err());
        assert!(parse_amount(&json!("1e3"), c("USD")).is_err());
        assert!(parse_amount(&json!("abc"), c("USD")).is_err());
        assert!(parse_amount(&json!(true), c("USD")).is_err());
        assert!(parse_amount(&json!("99999999999999999999"), c("USD")).is_err());
    }

    #[test]
    fn prices_render_like_chec() {
        let p = Price::new(3750, c("USD"));
        assert_eq!(p.raw, json!(37.5));
        assert_eq!(p.formatted, "37.50");
        assert_eq!(p.formatted_with_symbol, "$37.50");
        assert_eq!(p.formatted_with_code, "37.50 USD");
        let y = Price::new(1200, c("JPY"));
        assert_eq!(y.raw, json!(1200));
        assert_eq!(
            (
                y.formatted.as_str(),
                y.formatted_with_symbol.as_str(),
                y.formatted_with_code.as_str()
            ),
            ("1,200", "¥1,200", "1,200 JPY")
        );
        let big = Price::new(123_456_789, c("EUR"));
        assert_eq!(big.formatted_with_symbol, "€1,234,567.89");
        assert_eq!(Price::new(0, c("USD")).raw, json!(0));
        assert_eq!(Price::new(1999, c("USD")).raw, json!(19.99));
        assert_eq!(Price::new(1234, c("KWD")).formatted, "1.234");
    }

    #[test]
    fn unknown_and_unit_less_currencies_are_refused() {
        assert!(Currency::parse("XXX").is_none());
        assert!(Currency::parse("XAU").is_none(), "gold has no minor unit");
        assert!(Currency::parse("DOLLARS").is_none());
        assert_eq!(c("usd").code(), "USD");
    }
}
