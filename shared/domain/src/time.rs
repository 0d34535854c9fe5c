//! Timestamps as the API shows them: ISO 8601 UTC with milliseconds (`...39.970Z`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `2026-11-25T21:48:39.970Z`
pub fn iso(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Parses an RFC 3339 timestamp into UTC. `None` for anything that is not one, and for
/// instants outside the years 1 to 9999 (which [`iso`] could not write back).
pub fn parse_iso(raw: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .ok()?
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|t| (1..=9999).contains(&t.year()))
}

/// One millisecond: the resolution of stored timestamps.
pub fn millisecond() -> time::Duration {
    time::Duration::milliseconds(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_milliseconds_and_z() {
        let at = parse_iso("2026-11-25T21:48:39.970+02:00").unwrap();
        assert_eq!(iso(at), "2026-11-25T19:48:39.970Z");
        let whole = parse_iso("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(iso(whole), "2026-01-02T03:04:05.000Z");
    }

    #[test]
    fn instants_iso_cannot_write_are_not_timestamps() {
        assert_eq!(parse_iso("9999-12-31T23:59:59-23:59"), None);
        assert_eq!(parse_iso("0000-01-01T00:00:00+23:59"), None);
        assert_eq!(parse_iso("0000-01-01T00:00:00Z"), None);
        assert!(parse_iso("9999-12-31T23:59:59Z").is_some());
    }
}
