//! Lenient date types used by every generated module for `date-time` and `date` fields.
//!
//! The Pax8 server is looser than its documents: date-time fields carry bare dates
//! (`"2020-11-11"`), offsets without a colon (`"2020-12-01T13:20:13.153-0700"`) or no offset at all.
//! [`Timestamp`] and [`Date`] accept all of these; they serialize in the strict RFC 3339 form.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// A date and time with its UTC offset. Missing offsets are read as UTC, bare dates as midnight UTC.
/// `Default` is the Unix epoch (it only fills a struct built with `..Default::default()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<FixedOffset>);

/// A calendar date. A date-time value is accepted and cut to its date. `Default` is 1970-01-01.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A value that is not a date or date-time in any form the server is known to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDateError {
    value: String,
}

impl fmt::Display for ParseDateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a date or date-time", self.value)
    }
}

impl std::error::Error for ParseDateError {}

impl Timestamp {
    /// The instant in UTC.
    pub fn to_utc(&self) -> DateTime<Utc> {
        self.0.with_timezone(&Utc)
    }

    /// The calendar date in the value's own offset.
    pub fn date(&self) -> Date {
        Date(self.0.date_naive())
    }
}

impl Date {
    /// Midnight UTC of this date.
    pub fn to_timestamp(&self) -> Timestamp {
        Timestamp(Utc.from_utc_datetime(&self.0.and_hms_opt(0, 0, 0).expect("midnight exists")).fixed_offset())
    }
}

impl FromStr for Timestamp {
    type Err = ParseDateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Timestamp(t));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
            if let Ok(t) = DateTime::parse_from_str(s, format) {
                return Ok(Timestamp(t));
            }
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Ok(Timestamp(Utc.from_utc_datetime(&t).fixed_offset()));
            }
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Date(d).to_timestamp())
            .map_err(|_| ParseDateError { value: s.to_string() })
    }
}

impl FromStr for Date {
    type Err = ParseDateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(Date(d));
        }
        Timestamp::from_str(s).map(|t| t.date()).map_err(|_| ParseDateError { value: s.to_string() })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl<Tz: TimeZone> From<DateTime<Tz>> for Timestamp {
    fn from(value: DateTime<Tz>) -> Self {
        Timestamp(value.fixed_offset())
    }
}

impl From<NaiveDate> for Date {
    fn from(value: NaiveDate) -> Self {
        Date(value)
    }
}

macro_rules! serde_via_str {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
serde_via_str!(Timestamp, Date);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_server_sends() {
        for (input, expected) in [
            ("2020-12-01T08:30:00Z", "2020-12-01T08:30:00Z"),
            ("2020-12-01T13:20:13.153-0700", "2020-12-01T13:20:13.153-07:00"),
            ("2023-08-11T11:33:12.314-06:00", "2023-08-11T11:33:12.314-06:00"),
            ("2020-11-11", "2020-11-11T00:00:00Z"),
            ("2021-01-01T08:30:00", "2021-01-01T08:30:00Z"),
        ] {
            let t: Timestamp = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(t.to_string(), expected, "{input}");
        }
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    #[test]
    fn dates_accept_date_times() {
        assert_eq!("2020-11-12".parse::<Date>().unwrap().to_string(), "2020-11-12");
        assert_eq!("2020-11-12T08:30:00Z".parse::<Date>().unwrap().to_string(), "2020-11-12");
        let err = serde_json::from_str::<Date>("\"12/11/2020\"").unwrap_err();
        assert!(err.to_string().contains("12/11/2020"), "{err}");
    }

    #[test]
    fn serde_round_trip() {
        let t: Timestamp = serde_json::from_str("\"2020-12-01T13:20:13.153-0700\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2020-12-01T13:20:13.153-07:00\"");
    }
}
