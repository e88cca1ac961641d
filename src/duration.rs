//! Go duration strings (`72h`, `1h30m`, `1.5h`), the syntax Kubernetes flags use.
//!
//! The spec's durations end up in two places: as certificate validity periods (where the
//! value matters) and verbatim on kube-controller-manager's `--cluster-signing-duration`
//! flag (where Go's `time.ParseDuration` reads the text again). Accepting exactly Go's
//! grammar means every duration the spec accepts is one the flag accepts, and the text the
//! user wrote can be passed through unchanged.

use std::fmt;

/// A duration as the user wrote it, plus its value.
///
/// `text` is kept exactly as written (not re-formatted the way Go's `Duration.String()`
/// would, `72h0m0s`), so flags rendered from it read like the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoDuration {
    pub text: String,
    pub value: time::Duration,
}

impl GoDuration {
    /// Parse Go duration syntax: an optional sign, then one or more decimal numbers, each
    /// with an optional fraction and a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`);
    /// or the bare `0`. Like Go, the total must fit in an i64 of nanoseconds (~2562047h).
    ///
    /// The error is the reason alone (e.g. "unknown unit `d`"); the caller adds the key.
    pub fn parse(text: &str) -> Result<GoDuration, String> {
        let nanos = parse_nanos(text)?;
        Ok(GoDuration {
            text: text.to_string(),
            value: time::Duration::nanoseconds(nanos),
        })
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Nanoseconds per unit, as in Go's `unitMap`.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000), // U+00B5 micro sign
    ("μs", 1_000), // U+03BC Greek small letter mu
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Go keeps at most this many fraction digits' worth of precision (it stops accumulating
/// once the fraction would overflow); digits beyond it cannot change a nanosecond count.
const MAX_FRACTION_DIGITS: u32 = 18;

fn parse_nanos(text: &str) -> Result<i64, String> {
    let (negative, mut rest) = if let Some(r) = text.strip_prefix('-') {
        (true, r)
    } else {
        (false, text.strip_prefix('+').unwrap_or(text))
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err("it is empty".to_string());
    }
    let limit: u128 = if negative {
        1u128 << 63
    } else {
        (1u128 << 63) - 1
    };
    let mut total: u128 = 0;
    while !rest.is_empty() {
        // The number: integer part, optional fraction; at least one digit overall.
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        let (frac_digits, after_num) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let n = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(n)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(if after_int.starts_with('.') {
                "a number needs a digit before or after the \".\"".to_string()
            } else {
                format!("expected a number at \"{rest}\"")
            });
        }
        // The unit: everything up to the next number.
        let unit_len = after_num
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_num.len());
        let (unit, after_unit) = after_num.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!(
                "\"{}{}{}\" has no unit",
                int_digits,
                if frac_digits.is_empty() && !after_int.starts_with('.') {
                    ""
                } else {
                    "."
                },
                frac_digits
            ));
        }
        let Some(&(_, per_unit)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!("unknown unit \"{unit}\""));
        };

        let mut value: u128 = 0;
        for d in int_digits.bytes() {
            value = value * 10 + u128::from(d - b'0');
            if value > limit {
                return Err("it is too long (Go durations end at 2562047h)".to_string());
            }
        }
        value *= per_unit;
        let mut frac: u128 = 0;
        let mut scale: u128 = 1;
        for d in frac_digits.bytes().take(MAX_FRACTION_DIGITS as usize) {
            frac = frac * 10 + u128::from(d - b'0');
            scale *= 10;
        }
        // Truncates like Go's conversion to an integer count of nanoseconds.
        value += frac * per_unit / scale;
        total += value;
        if total > limit {
            return Err("it is too long (Go durations end at 2562047h)".to_string());
        }
        rest = after_unit;
    }
    let magnitude = i128::try_from(total).map_err(|_| "it is too long".to_string())?;
    let signed = if negative { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| "it is too long (Go durations end at 2562047h)".to_string())
}

/// `--warn-within`: a Go duration (`720h`, `90m`), or whole days with a `d` suffix, alone or
/// before a Go duration (`30d`, `1d12h`). Never negative.
pub fn parse_window(text: &str) -> Result<time::Duration, String> {
    let (days, rest) = match text.split_once('d') {
        Some((days, rest)) if !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()) => {
            let days: i64 = days
                .parse()
                .map_err(|_| format!("{days} days is too long"))?;
            (days, rest)
        }
        _ => (0, text),
    };
    let rest = if rest.is_empty() && text != rest {
        time::Duration::ZERO
    } else {
        GoDuration::parse(rest)
            .map_err(|e| format!("{e}; use a Go duration (720h) or days (30d)"))?
            .value
    };
    let total = days
        .checked_mul(86_400)
        .map(time::Duration::seconds)
        .and_then(|d| d.checked_add(rest))
        .ok_or_else(|| "it is too long".to_string())?;
    if total.is_negative() || rest.is_negative() {
        return Err("it must not be negative".to_string());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanos(s: &str) -> i64 {
        let d = GoDuration::parse(s).unwrap();
        assert_eq!(d.text, s);
        i64::try_from(d.value.whole_nanoseconds()).unwrap()
    }

    const H: i64 = 3_600_000_000_000;
    const M: i64 = 60_000_000_000;
    const S: i64 = 1_000_000_000;

    #[test]
    fn accepts_go_syntax() {
        assert_eq!(nanos("72h"), 72 * H);
        assert_eq!(nanos("8760h"), 8760 * H);
        assert_eq!(nanos("87600h"), 87600 * H);
        assert_eq!(nanos("90m"), 90 * M);
        assert_eq!(nanos("1h30m"), H + 30 * M);
        assert_eq!(nanos("1.5h"), H + 30 * M);
        assert_eq!(nanos(".5s"), S / 2);
        assert_eq!(nanos("1.s"), S);
        assert_eq!(nanos("+2s"), 2 * S);
        assert_eq!(nanos("-2s"), -2 * S);
        assert_eq!(nanos("0"), 0);
        assert_eq!(nanos("0s"), 0);
        assert_eq!(
            nanos("1h1m1s1ms1us1µs1μs1ns"),
            H + M + S + 1_000_000 + 2_001 + 1_000
        );
        assert_eq!(nanos("0.000000001s"), 1);
        assert_eq!(nanos("0.0000000019s"), 1); // truncated, as in Go
        assert_eq!(nanos("2562047h47m16.854775807s"), i64::MAX);
        assert_eq!(nanos("-2562047h47m16.854775808s"), i64::MIN);
    }

    #[test]
    fn rejects_what_go_rejects() {
        for (text, reason) in [
            ("", "it is empty"),
            ("-", "it is empty"),
            ("72", "\"72\" has no unit"),
            ("1.5", "\"1.5\" has no unit"),
            ("1h30", "\"30\" has no unit"),
            ("3d", "unknown unit \"d\""),
            ("1H", "unknown unit \"H\""),
            ("72 h", "unknown unit \" h\""),
            ("h", "expected a number at \"h\""),
            (".h", "a number needs a digit before or after the \".\""),
            (
                "2562047h47m16.854775808s",
                "it is too long (Go durations end at 2562047h)",
            ),
            (
                "99999999999999999999h",
                "it is too long (Go durations end at 2562047h)",
            ),
        ] {
            assert_eq!(GoDuration::parse(text), Err(reason.to_string()), "{text:?}");
        }
    }

    #[test]
    fn windows_accept_days_and_go_durations() {
        assert_eq!(parse_window("30d"), Ok(time::Duration::days(30)));
        assert_eq!(parse_window("0d"), Ok(time::Duration::ZERO));
        assert_eq!(parse_window("720h"), Ok(time::Duration::days(30)));
        assert_eq!(parse_window("1d12h"), Ok(time::Duration::hours(36)));
        assert_eq!(parse_window("90m"), Ok(time::Duration::minutes(90)));
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-1h",
            "1d-1h",
            "-1d",
            "1.5d",
            "99999999999999999999d",
        ] {
            assert!(parse_window(bad).is_err(), "{bad:?}");
        }
    }
}
