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
        other => other.to_string(),
    }
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

    proptest! {
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
