//! Presentation helpers: German dates in German local time, sizes.

use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

fn last_sunday(year: i32, month: Month) -> Date {
    let mut d = Date::from_calendar_date(year, month, month.length(year)).unwrap_or(Date::MIN);
    while d.weekday() != Weekday::Sunday {
        d = d.previous_day().unwrap_or(d);
    }
    d
}

/// Central European time: CEST from the last Sunday of March to the last Sunday of October
/// (switching at 01:00 UTC), CET otherwise. Municipal clerks all work in this zone.
pub fn german_time(t: OffsetDateTime) -> OffsetDateTime {
    let utc = t.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let start = last_sunday(year, Month::March).with_hms(1, 0, 0).map(|d| d.assume_utc());
    let end = last_sunday(year, Month::October).with_hms(1, 0, 0).map(|d| d.assume_utc());
    let summer = matches!((start, end), (Ok(s), Ok(e)) if utc >= s && utc < e);
    let offset = UtcOffset::from_hms(if summer { 2 } else { 1 }, 0, 0).unwrap_or(UtcOffset::UTC);
    utc.to_offset(offset)
}

pub fn date_time(t: OffsetDateTime) -> String {
    let l = german_time(t);
    format!("{:02}.{:02}.{} {:02}:{:02}", l.day(), u8::from(l.month()), l.year(), l.hour(), l.minute())
}

pub fn date(t: OffsetDateTime) -> String {
    let l = german_time(t);
    format!("{:02}.{:02}.{}", l.day(), u8::from(l.month()), l.year())
}

/// A calendar day: `01.12.2026`.
pub fn day(d: Date) -> String {
    format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year())
}

/// A calendar day for `<time datetime>` and `<input type=date>`: `2026-12-01`.
pub fn iso_day(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Today in the clerks' time zone (Fristen are German calendar days).
pub fn today() -> Date {
    german_time(OffsetDateTime::now_utc()).date()
}

pub fn iso(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)).replace('.', ","),
        b if b >= 1024 => format!("{} KB", b.div_ceil(1024)),
        b => format!("{b} Bytes"),
    }
}

/// Characters a page must not carry raw: NUL (browsers drop or replace it, so a value would
/// show differently from what is stored) and the other C0 control characters except the
/// whitespace ones (tab, line feed, form feed, carriage return).
pub fn is_unshowable(c: char) -> bool {
    c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\x0C' | '\r' | '\x7F')
}

/// How an [`is_unshowable`] character is shown: the replacement character, visibly.
pub const UNSHOWABLE: char = '\u{FFFD}';

/// The escaper of the HTML templates (askama.toml): askama's HTML escaping, and every
/// [`is_unshowable`] character written as [`UNSHOWABLE`].
#[derive(Debug, Clone, Copy)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, string: &str) -> std::fmt::Result {
        let mut rest = string;
        while let Some(i) = rest.find(is_unshowable) {
            askama::filters::Html.write_escaped_str(&mut dest, &rest[..i])?;
            dest.write_char(UNSHOWABLE)?;
            // An ASCII control character is one byte.
            rest = &rest[i + 1..];
        }
        askama::filters::Html.write_escaped_str(dest, rest)
    }

    fn write_escaped_char<W: std::fmt::Write>(&self, mut dest: W, c: char) -> std::fmt::Result {
        if is_unshowable(c) {
            dest.write_char(UNSHOWABLE)
        } else {
            askama::filters::Html.write_escaped_char(dest, c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn german_local_time() {
        assert_eq!(date_time(datetime!(2026-01-15 12:00 UTC)), "15.01.2026 13:00");
        assert_eq!(date_time(datetime!(2026-07-15 12:00 UTC)), "15.07.2026 14:00");
        assert_eq!(date_time(datetime!(2026-03-29 00:59 UTC)), "29.03.2026 01:59");
        assert_eq!(date_time(datetime!(2026-03-29 01:00 UTC)), "29.03.2026 03:00");
        assert_eq!(size(2048), "2 KB");
    }

    #[test]
    fn templates_show_nul_and_control_characters_visibly() {
        use askama::filters::Escaper as _;
        let mut out = String::new();
        Html.write_escaped_str(&mut out, "a\0b<c>\x01\td\u{7}").expect("write");
        assert_eq!(out, "a\u{FFFD}b&#60;c&#62;\u{FFFD}\td\u{FFFD}");
        let mut out = String::new();
        Html.write_escaped_char(&mut out, '\0').expect("write");
        assert_eq!(out, "\u{FFFD}");

        #[derive(askama::Template)]
        #[template(source = "<p>{{ value }}</p>", ext = "html")]
        struct Page<'a> {
            value: &'a str,
        }
        let html = askama::Template::render(&Page { value: "Müller\0<b>" }).expect("render");
        assert_eq!(html, "<p>Müller\u{FFFD}&#60;b&#62;</p>", "the templates use this escaper");
    }
}
