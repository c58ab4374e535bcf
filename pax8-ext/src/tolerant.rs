//! Pages decoded item by item for callers that must not lose a whole page to one odd item (a
//! mirror): an item whose values its type cannot hold is left out and reported, and a string
//! holding half of a UTF-16 surrogate pair (which no Rust string can hold) is repaired to U+FFFD
//! and reported, so the rest of the page is kept. Turned on per call with
//! [`crate::CallOptions::tolerate_odd_items`]; everything else decodes strictly.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::Error;

/// What was done to an odd item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OddKind {
    /// It did not decode: left out of the page.
    Skipped,
    /// A lone surrogate in one of its strings was replaced by U+FFFD: kept.
    Repaired,
}

impl OddKind {
    /// `skipped` or `repaired`.
    pub fn as_str(self) -> &'static str {
        match self {
            OddKind::Skipped => "skipped",
            OddKind::Repaired => "repaired",
        }
    }
}

/// An item of a page that its type could not take as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OddItem {
    /// The listing's operation id (`findSubscriptions`, ...).
    pub operation: &'static str,
    /// Skipped or repaired.
    pub kind: OddKind,
    /// Its place in the page as sent (none for a repair, which is found in the raw text).
    pub index: Option<usize>,
    /// Its `id`, when it has a readable one.
    pub id: Option<String>,
    /// What was wrong, with the serde path.
    pub reason: String,
}

/// Where odd items are reported: shared by the calls it is given to (clones share it).
#[derive(Debug, Clone, Default)]
pub struct OddItems(Arc<Mutex<Vec<OddItem>>>);

impl OddItems {
    /// A new, empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes what was reported so far.
    pub fn take(&self) -> Vec<OddItem> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn push(&self, item: OddItem) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(item);
    }
}

/// The largest number of items one page may lose before the page is refused as a whole (a
/// page where most items fail is a changed format, not an odd item).
const MAX_SKIPPED: usize = 50;

/// Decodes `bytes` as `T`, leaving out array items that do not decode and repairing lone
/// surrogates and numbers out of range, each reported to `sink`; returns the value and how many
/// items were left out. A body that is not JSON, or odd outside an array of items, is an
/// [`Error::Decode`] as in a strict decode.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    operation: &'static str,
    sink: &OddItems,
) -> Result<(T, usize), Error> {
    let fail = |path: String, source: serde_json::Error| Error::Decode {
        operation: operation.to_string(),
        path,
        excerpt: crate::redact::excerpt(bytes, crate::answer::EXCERPT_BYTES),
        source,
    };
    // The common case, an answer with nothing odd, costs what a strict decode costs.
    if let Ok(decoded) = serde_json::from_slice::<T>(bytes) {
        return Ok((decoded, 0));
    }
    let (text, repaired) = repair_surrogates(bytes);
    let repair =
        |reason: String| sink.push(OddItem { operation, kind: OddKind::Repaired, index: None, id: None, reason });
    if repaired > 0 {
        repair(format!("{repaired} lone UTF-16 surrogate(s) replaced by U+FFFD"));
    }
    let mut text = text.into_owned();
    let mut value: Value = loop {
        match serde_json::from_slice(&text) {
            Ok(value) => break value,
            // A number no f64 holds (`1e400`) becomes null: its item then decodes without it,
            // or is left out if the field is required.
            Err(e) if e.to_string().starts_with("number out of range") => match null_the_number(&mut text, &e) {
                Some(number) => repair(format!("the number {number} is out of range: replaced by null")),
                None => return Err(fail(String::new(), e)),
            },
            Err(e) => return Err(fail(String::new(), e)),
        }
    };
    // The original places of the items still in each array that lost some.
    let mut places: HashMap<String, Vec<usize>> = HashMap::new();
    for skipped in 0..=MAX_SKIPPED {
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(decoded) => return Ok((decoded, skipped)),
            Err(e) => e,
        };
        let path = error.path().to_string();
        let mut segments = error.path().iter();
        let item = match (segments.next(), segments.next()) {
            (Some(Segment::Map { key }), Some(Segment::Seq { index })) => Some((key.clone(), *index)),
            _ => None,
        };
        let Some((key, index)) = item else { return Err(fail(path, error.into_inner())) };
        let Some(items) = value.get_mut(key.as_str()).and_then(Value::as_array_mut).filter(|a| index < a.len()) else {
            return Err(fail(path, error.into_inner()));
        };
        let places = places.entry(key).or_insert_with(|| (0..items.len()).collect());
        let removed = items.remove(index);
        let original = places.remove(index);
        let id = removed
            .get("id")
            .and_then(|id| id.as_str().map(str::to_string).or_else(|| id.as_i64().map(|n| n.to_string())));
        sink.push(OddItem {
            operation,
            kind: OddKind::Skipped,
            index: Some(original),
            id,
            reason: format!("{path}: {}", error.into_inner()),
        });
    }
    let many = format!("more than {MAX_SKIPPED} items of one page do not decode");
    Err(fail(String::new(), <serde_json::Error as serde::de::Error>::custom(many)))
}

/// Replaces the number token at the position `error` names by `null`; returns the number.
fn null_the_number(text: &mut Vec<u8>, error: &serde_json::Error) -> Option<String> {
    let line_start = if error.line() <= 1 {
        0
    } else {
        text.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(error.line() - 2)?.0 + 1
    };
    let at = (line_start + error.column()).min(text.len());
    let in_number = |b: u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E');
    let start = text[..at].iter().rposition(|b| !in_number(*b)).map_or(0, |p| p + 1);
    let end = text[start..].iter().position(|b| !in_number(*b)).map_or(text.len(), |p| start + p);
    if start >= end {
        return None;
    }
    let number = String::from_utf8_lossy(&text[start..end]).into_owned();
    text.splice(start..end, b"null".iter().copied());
    Some(number)
}

/// Replaces each `\uD800`-`\uDFFF` escape that is not half of a valid pair by `\uFFFD`;
/// returns the text and how many were replaced. JSON has no other way to carry one (raw UTF-8
/// cannot encode a surrogate), and backslashes only occur inside strings.
pub(crate) fn repair_surrogates(bytes: &[u8]) -> (Cow<'_, [u8]>, usize) {
    fn unit(bytes: &[u8], at: usize) -> Option<u16> {
        let hex = bytes.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    }
    let escaped = |at: usize| bytes.get(at) == Some(&b'\\') && bytes.get(at + 1) == Some(&b'u');
    let mut out: Vec<u8> = Vec::new();
    let (mut copied, mut repaired, mut i) = (0, 0, 0);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        // An escape of one character (`\\`, `\"`, `\n`, ...) or a `\u` one that is not a surrogate.
        let Some(first) = escaped(i).then(|| unit(bytes, i + 2)).flatten() else {
            i += 2;
            continue;
        };
        let high = (0xD800..=0xDBFF).contains(&first);
        if high && escaped(i + 6) && unit(bytes, i + 8).is_some_and(|u| (0xDC00..=0xDFFF).contains(&u)) {
            i += 12; // a valid pair
        } else if high || (0xDC00..=0xDFFF).contains(&first) {
            out.extend_from_slice(&bytes[copied..i]);
            out.extend_from_slice(b"\\uFFFD");
            repaired += 1;
            i += 6;
            copied = i;
        } else {
            i += 6;
        }
    }
    if repaired == 0 {
        return (Cow::Borrowed(bytes), 0);
    }
    out.extend_from_slice(&bytes[copied..]);
    (Cow::Owned(out), repaired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Item {
        id: String,
        quantity: Option<u32>,
        name: Option<String>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct PageOf {
        content: Vec<Item>,
        total: Option<u64>,
    }

    #[test]
    fn a_valid_pair_and_plain_escapes_are_left_alone() {
        let text = br#"{"a":"\ud83d\ude00 \\ud800 \" \n \u0041"}"#;
        let (out, repaired) = repair_surrogates(text);
        assert_eq!((out.as_ref(), repaired), (&text[..], 0));
    }

    #[test]
    fn a_lone_surrogate_after_other_escapes_is_still_found() {
        // After a valid pair, after a plain `\u` escape, and never in an escape that is not `\u`.
        let (out, n) = repair_surrogates(br#"{"a":"\ud83d\ude00","b":"\u0041","c":"\ud800"}"#);
        assert_eq!((std::str::from_utf8(&out).unwrap(), n), (r#"{"a":"\ud83d\ude00","b":"\u0041","c":"\uFFFD"}"#, 1));
        let untouched = br#"{"a":"\nd800 \td800"}"#;
        assert_eq!(repair_surrogates(untouched), (Cow::Borrowed(&untouched[..]), 0));
    }

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        let (out, repaired) = repair_surrogates(br#"{"a":"x\ud800y","b":"\udc00","c":"\ud800\u0041","d":"\\"}"#);
        assert_eq!(repaired, 3);
        assert_eq!(std::str::from_utf8(&out).unwrap(), r#"{"a":"x\uFFFDy","b":"\uFFFD","c":"\uFFFD\u0041","d":"\\"}"#);
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["a"], "x\u{FFFD}y");
    }

    #[test]
    fn items_that_do_not_decode_are_left_out_and_reported() {
        let sink = OddItems::new();
        let body = br#"{"content":[{"id":"a","quantity":1},{"id":"b","quantity":"lots"},{"id":"c","quantity":3},
            {"id":"d","quantity":-1},{"id":"e","name":"caf\ud800"}],"total":5}"#;
        let (page, left_out): (PageOf, usize) = decode(body, "findThings", &sink).unwrap();
        assert_eq!(left_out, 2);
        let ids: Vec<&str> = page.content.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "e"]);
        assert_eq!(page.content[2].name.as_deref(), Some("caf\u{FFFD}"));
        assert_eq!(page.total, Some(5));
        let odd = sink.take();
        let skipped: Vec<(Option<usize>, Option<&str>)> =
            odd.iter().filter(|o| o.kind == OddKind::Skipped).map(|o| (o.index, o.id.as_deref())).collect();
        assert_eq!(skipped, [(Some(1), Some("b")), (Some(3), Some("d"))], "original places: {odd:?}");
        assert!(odd.iter().any(|o| o.kind == OddKind::Repaired && o.reason.starts_with("1 lone")));
        assert!(odd[1].reason.contains("content[1].quantity"), "{odd:?}");
        assert!(sink.take().is_empty(), "taken once");
    }

    #[test]
    fn a_number_out_of_range_becomes_null() {
        let sink = OddItems::new();
        let body = b"{\"content\":[{\"id\":\"a\",\"quantity\":1e400},\n{\"id\":\"b\",\"quantity\":-2E+999},{\"id\":\"c\",\"quantity\":3}]}";
        let (page, left_out): (PageOf, usize) = decode(body, "findThings", &sink).unwrap();
        assert_eq!(left_out, 0);
        let quantities: Vec<Option<u32>> = page.content.iter().map(|i| i.quantity).collect();
        assert_eq!(quantities, [None, None, Some(3)]);
        let reasons: Vec<String> = sink.take().into_iter().map(|o| o.reason).collect();
        assert_eq!(
            reasons,
            [
                "the number 1e400 is out of range: replaced by null",
                "the number -2E+999 is out of range: replaced by null"
            ]
        );
    }

    #[test]
    fn odd_outside_the_items_or_not_json_fails_the_page() {
        let sink = OddItems::new();
        assert!(decode::<PageOf>(br#"{"content":[],"total":"many"}"#, "findThings", &sink).is_err());
        assert!(decode::<PageOf>(br#"{"content":[{"id":"a"}"#, "findThings", &sink).is_err());
        let many: Vec<String> = (0..60).map(|n| format!(r#"{{"id":"{n}","quantity":"x"}}"#)).collect();
        let body = format!(r#"{{"content":[{}]}}"#, many.join(","));
        assert!(decode::<PageOf>(body.as_bytes(), "findThings", &sink).is_err(), "a changed format, not odd items");
    }
}
