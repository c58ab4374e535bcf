//! Turning what a person types into ids: companies by id or by name, durations, dates.

use chrono::{Datelike, NaiveDate};
use pax8_api::partner::types::Company;
use pax8_ext::Pax8Client;
use uuid::Uuid;

use crate::fail::Failure;

/// A company by id, exact name (ignoring case), or unique partial name; otherwise the
/// candidates are listed. The matching is pax8-ext's `Companies::find_by_name`, shared with the
/// agent tools.
pub async fn company(client: &Pax8Client, input: &str) -> Result<Company, Failure> {
    let input = input.trim();
    if input.is_empty() {
        return Err(Failure::usage("the company is empty: give an id or a name"));
    }
    if let Ok(id) = Uuid::parse_str(input) {
        return Ok(client.companies().get(id).await?);
    }
    pick(client.companies().find_by_name(input).await?, input)
}

/// One match, or a usage error naming the candidates.
pub fn pick(matches: Vec<Company>, input: &str) -> Result<Company, Failure> {
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Failure::usage(format!("no company matches `{input}`; `pax8 companies list --all` shows them all"))),
        many => {
            let mut names: Vec<String> = many
                .iter()
                .map(|c| format!("  {} ({})", c.name, c.id.map(|i| i.to_string()).unwrap_or_default()))
                .collect();
            names.sort();
            Err(Failure::usage(format!(
                "`{input}` matches {} companies; use one of these names or ids:\n{}",
                many.len(),
                names.join("\n")
            )))
        }
    }
}

/// An id argument.
pub fn id(what: &str, input: &str) -> Result<Uuid, Failure> {
    pax8_ext::resources::parse_id(what, input).map_err(Failure::from)
}

/// `30d`, `8w`, `3m` (30-day months), or a bare number of days.
pub fn days(input: &str, today: NaiveDate) -> Result<i64, Failure> {
    let bad = || Failure::usage(format!("`{input}` is not a duration like 30d, 8w, 3mo or 1y"));
    let text = input.trim();
    // A bare number is days.
    let text =
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) { format!("{text}d") } else { text.into() };
    let span: jiff::Span = text.parse().map_err(|_| bad())?;
    if span.get_hours() != 0 || span.get_minutes() != 0 || span.get_seconds() != 0 || span.get_milliseconds() != 0 {
        // `3m` is minutes to jiff: months are `3mo`.
        return Err(bad());
    }
    let start = jiff::civil::Date::new(
        i16::try_from(today.year()).map_err(|_| bad())?,
        i8::try_from(today.month()).map_err(|_| bad())?,
        i8::try_from(today.day()).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    // Calendar arithmetic: 3mo from 30 November is 28 February, not 90 days.
    let end = start.checked_add(span).map_err(|_| Failure::usage(format!("`{input}` reaches past the calendar")))?;
    let days = i64::from(start.until((jiff::Unit::Day, end)).map_err(|_| bad())?.get_days());
    if days <= 0 {
        return Err(Failure::usage("the window must be at least one day"));
    }
    Ok(days)
}

/// An interval like `6h`, `30m`, `90s` or `1d` (jiff's friendly format): at least a second.
pub fn interval(input: &str) -> Result<std::time::Duration, Failure> {
    let bad = || Failure::usage(format!("`{input}` is not an interval like 6h, 30m or 1d"));
    let span: jiff::Span = input.trim().parse().map_err(|_| bad())?;
    let seconds = span.total((jiff::Unit::Second, jiff::civil::date(2026, 1, 1))).map_err(|_| bad())?;
    if !(1.0..=366.0 * 86400.0).contains(&seconds) {
        return Err(Failure::usage(format!("`{input}`: give an interval from 1s to 366d")));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// A `YYYY-MM-DD` date.
pub fn date(input: &str) -> Result<NaiveDate, Failure> {
    NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d")
        .map_err(|_| Failure::usage(format!("`{input}` is not a date (YYYY-MM-DD)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(names: &[&str]) -> Vec<Company> {
        names.iter().map(|n| serde_json::from_value(serde_json::json!({"name": n, "address": {}})).unwrap()).collect()
    }

    #[test]
    fn one_match_or_the_candidates() {
        assert_eq!(pick(named(&["Initech"]), "init").unwrap().name, "Initech");
        let err = pick(named(&["Globex Corporation", "Globex Dental"]), "globex").unwrap_err();
        assert!(
            err.message.contains("matches 2 companies") && err.message.contains("Globex Dental"),
            "{}",
            err.message
        );
        assert_eq!(err.code, crate::fail::code::USAGE);
        assert!(pick(vec![], "umbrella").unwrap_err().message.contains("no company matches"));
    }

    #[test]
    fn durations_and_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(days("30d", today).unwrap(), 30);
        assert_eq!(days("2w", today).unwrap(), 14);
        assert_eq!(days("45", today).unwrap(), 45);
        // Calendar months and years from today.
        assert_eq!(days("3mo", today).unwrap(), 90, "30 Nov to 28 Feb");
        assert_eq!(days("1mo", NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()).unwrap(), 28);
        assert_eq!(days("1y", today).unwrap(), 365);
        for bad in ["soon", "0d", "3m", "2h", "", "-5d", "99999999999999999999d"] {
            assert!(days(bad, today).is_err(), "{bad}");
        }
        assert!(date("2026-02-30").is_err());
        assert_eq!(date("2026-12-01").unwrap().to_string(), "2026-12-01");
    }
}
