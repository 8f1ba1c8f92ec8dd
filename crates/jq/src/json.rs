//! JSON in: depth checked first, then read.

use jaq_json::Val;

use crate::{Error, error::Kind};

/// The deepest nesting of arrays and objects Pacer reads or writes.
///
/// JSON's readers and printers recurse once per level; a body of a few
/// kilobytes of `[` would otherwise overflow the stack and abort the
/// process. Real records are rarely nested ten deep; 128 is serde_json's
/// limit too.
pub const MAX_DEPTH: usize = 128;

/// Reads one JSON value.
///
/// Strings, numbers and nesting are as JSON has them; numbers keep the text
/// they were written with (`12.50` stays `12.50`).
///
/// # Errors
///
/// Text that is not one JSON value, a `#` comment (the reader below would
/// take it; JSON has none), or nesting deeper than [`MAX_DEPTH`]: the error
/// says at which byte.
///
/// # Example: depth is checked before anything is read
///
/// ```
/// let deep = "[".repeat(5_000);
/// let err = pacer_jq::parse(deep.as_bytes()).unwrap_err();
/// assert!(err.is_too_deep());
/// assert_eq!(err.offset(), Some(128));
/// assert!(pacer_jq::parse(format!("{}{}", "[".repeat(128), "]".repeat(128)).as_bytes()).is_ok());
/// ```
pub fn parse(bytes: &[u8]) -> Result<Val, Error> {
    scan(bytes)?;
    jaq_json::read::parse_single(bytes).map_err(|e| {
        // jaq's message starts with "byte offset N: "; ours carries N apart.
        let text = e.to_string();
        let (offset, message) = text
            .strip_prefix("byte offset ")
            .and_then(|rest| rest.split_once(": "))
            .and_then(|(n, message)| Some((n.parse().ok()?, message.to_string())))
            .map_or((None, text.clone()), |(n, m)| (Some(n), m));
        Error::new(Kind::Json(message), offset)
    })
}

/// Checks nesting and comments without recursing: the reader that follows
/// recurses once per level.
fn scan(bytes: &[u8]) -> Result<(), Error> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, &byte) in bytes.iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Error::new(Kind::TooDeep, Some(at)));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'#' => {
                return Err(Error::new(
                    Kind::Json("a `#` comment; JSON has none".into()),
                    Some(at),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `value` nests arrays and objects deeper than [`MAX_DEPTH`],
/// found without recursing; printing it would recurse once per level.
pub fn too_deep(value: &Val) -> bool {
    let mut pending = vec![(value, 0usize)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Val>> = match value {
            Val::Arr(items) => Box::new(items.iter()),
            Val::Obj(fields) => Box::new(fields.iter().flat_map(|(k, v)| [k, v])),
            _ => continue,
        };
        if depth + 1 > MAX_DEPTH {
            return true;
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    false
}

/// A value as text for a key, cursor or URL: strings bare, the rest as JSON.
pub fn text_of(value: &Val) -> String {
    match value {
        Val::TStr(s) => String::from_utf8_lossy(s).into_owned(),
        other => to_text(other),
    }
}

/// `value` as compact JSON text: what `value.to_string()` gives, byte for
/// byte, without `Display`'s cost.
///
/// jaq prints through `core::fmt`, one formatting call per token; a large
/// simulated day prints millions of pulled records, and the formatting
/// calls were most of the 6% that took. Here strings and structure go
/// straight into the text; numbers, byte strings and invalid UTF-8 still
/// go through jaq's own printing, so what they look like stays jaq's.
pub fn to_text(value: &Val) -> String {
    use std::fmt::Write;
    fn write(out: &mut String, value: &Val) {
        match value {
            Val::Null => out.push_str("null"),
            Val::Bool(true) => out.push_str("true"),
            Val::Bool(false) => out.push_str("false"),
            Val::TStr(bytes) => write_string(out, bytes),
            Val::Arr(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write(out, item);
                }
                out.push(']');
            }
            Val::Obj(fields) => {
                out.push('{');
                for (n, (key, value)) in fields.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write(out, key);
                    out.push(':');
                    write(out, value);
                }
                out.push('}');
            }
            other => {
                let _ = write!(out, "{other}");
            }
        }
    }
    /// As jaq's `write_utf8!` escapes a text string for `Display`.
    fn write_string(out: &mut String, bytes: &[u8]) {
        out.push('"');
        let mut plain = 0;
        for (at, &byte) in bytes.iter().enumerate() {
            let escaped = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0x00..=0x1f | 0x7f => "",
                _ => continue,
            };
            write_plain(out, &bytes[plain..at]);
            if escaped.is_empty() {
                let _ = write!(out, "\\u{byte:04x}");
            } else {
                out.push_str(escaped);
            }
            plain = at + 1;
        }
        write_plain(out, &bytes[plain..]);
        out.push('"');
    }
    fn write_plain(out: &mut String, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(text) => out.push_str(text),
            // Invalid UTF-8 as jaq shows it: replaced.
            Err(_) => {
                let _ = write!(out, "{}", jaq_json::bstr(bytes));
            }
        }
    }
    let mut out = String::new();
    write(&mut out, value);
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn nested(depth: usize, open: &str, close: &str) -> String {
        format!("{}{}", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn depth_counts_arrays_and_objects_not_brackets_in_strings() {
        assert!(parse(nested(MAX_DEPTH, "[", "]").as_bytes()).is_ok());
        assert!(
            parse(nested(MAX_DEPTH + 1, "[", "]").as_bytes())
                .unwrap_err()
                .is_too_deep()
        );
        let objects = nested(MAX_DEPTH + 1, r#"{"a":"#, "}");
        assert!(parse(objects.as_bytes()).unwrap_err().is_too_deep());
        let quoted = format!(r#"["{}", "\"[[", "\\"]"#, "[".repeat(1_000));
        assert!(parse(quoted.as_bytes()).is_ok());
    }

    #[test]
    fn comments_are_refused_so_they_cannot_hide_nesting() {
        let hidden = format!("[# ]]]]\n{}", "[".repeat(200));
        let err = parse(hidden.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not JSON at byte 1: a `#` comment; JSON has none"
        );
    }

    #[test]
    fn errors_say_at_which_byte() {
        let err = parse(br#"{"a": tru}"#).unwrap_err();
        assert!(err.is_json());
        assert_eq!(err.offset(), Some(6), "{err}");
        assert!(err.to_string().starts_with("not JSON at byte 6: "), "{err}");
    }

    #[test]
    fn deep_outputs_are_found_without_recursing() {
        let mut value = Val::Null;
        for _ in 0..100_000 {
            value = Val::Arr(vec![value].into());
        }
        assert!(too_deep(&value));
        let shallow = parse(nested(MAX_DEPTH, "[", "]").as_bytes()).unwrap();
        assert!(!too_deep(&shallow));
        // Unwind by hand: dropping 100,000 levels recurses as deep.
        let mut rest = Some(value);
        while let Some(Val::Arr(items)) = rest.take() {
            rest = std::sync::Arc::try_unwrap(items)
                .ok()
                .and_then(|mut v| v.pop());
        }
    }

    /// Texts with every kind of string jaq escapes, and invalid UTF-8.
    #[test]
    fn text_is_what_jaq_prints() {
        let texts: [&[u8]; 6] = [
            r#"{"a":[1,2.50,-0,1e400,null,true,false],"b\"c":"\u0000\u001f\u007f\b\f\n\r\t\\\/é😀"}"#
                .as_bytes(),
            br#"[]"#,
            br#"{}"#,
            b"\"\xff\xfe ok \xc3\"",
            br#""\ud800 lone""#,
            br#"[{"k":{"k":[{}]}}, 12345678901234567890123, 0.1]"#,
        ];
        for text in texts {
            if let Ok(value) = parse(text) {
                assert_eq!(
                    to_text(&value),
                    value.to_string(),
                    "{}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                proptest::collection::vec((any::<String>(), inner), 0..5)
                    .prop_map(|fields| { serde_json::Value::Object(fields.into_iter().collect()) }),
            ]
        })
    }

    proptest! {
        /// Any value read from JSON prints as jaq prints it.
        #[test]
        fn any_value_is_printed_as_jaq_prints_it(value in json()) {
            let text = serde_json::to_vec(&value).unwrap();
            let value = parse(&text).unwrap();
            prop_assert_eq!(to_text(&value), value.to_string());
        }

        /// Any nesting of any size is read or refused, never a crash; what is
        /// refused for depth is exactly what is nested past the limit.
        #[test]
        fn any_nesting_is_read_or_refused(
            shape in proptest::collection::vec(0u8..4, 0..600),
            pad in 0usize..2_000,
        ) {
            let mut text = String::new();
            let mut open = Vec::new();
            let mut deepest = 0;
            for step in shape {
                match step {
                    0 => { text.push('['); open.push(']'); }
                    1 => { text.push_str(r#"{"k":"#); open.push('}'); }
                    2 => { text.push_str(&format!("\"{}\"", "x".repeat(pad % 7))); if !open.is_empty() { text.push_str(",0"); } }
                    _ => { if let Some(close) = open.pop() { text.push(close); } }
                }
                deepest = deepest.max(open.len());
            }
            while let Some(close) = open.pop() {
                text.push(close);
            }
            text.push_str(&" ".repeat(pad));
            match parse(text.as_bytes()) {
                Ok(_) => prop_assert!(deepest <= MAX_DEPTH),
                Err(e) if e.is_too_deep() => prop_assert!(deepest > MAX_DEPTH),
                Err(_) => {}
            }
        }
    }
}
