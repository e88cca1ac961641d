//! The one way a time becomes text: RFC 3339 in UTC (`2026-11-25T00:00:00Z`), as Kubernetes
//! writes times (a bootstrap token's `expiration`) and as every message and report shows them.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `t` in UTC, with `Z`; sub-seconds only when `t` has them (spec times and certificate times
/// never do).
pub fn format(t: OffsetDateTime) -> String {
    let utc = t.to_offset(UtcOffset::UTC);
    // Only a year outside 0..=9999 cannot be written; no parsed time has one.
    utc.format(&Rfc3339).unwrap_or_else(|_| utc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_with_z_whole_seconds_as_kubernetes_writes_them() {
        let t = OffsetDateTime::parse("2026-11-25T01:30:00+01:00", &Rfc3339).unwrap();
        assert_eq!(format(t), "2026-11-25T00:30:00Z");
        let t = OffsetDateTime::from_unix_timestamp(1_798_761_600).unwrap();
        assert_eq!(format(t), "2027-01-01T00:00:00Z");
    }
}
