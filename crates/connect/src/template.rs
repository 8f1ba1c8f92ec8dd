//! `{{ field }}` in request paths and queries.

/// `template` with each `{{ name }}` (any spacing) replaced by `value(name)`.
///
/// # Errors
///
/// The first name `value` has nothing for. pacer-config has checked that
/// every `{{` is closed and names a field, so an unclosed one is kept as
/// text here.
pub(crate) fn render(
    template: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    if !template.contains("{{") {
        return Ok(template.to_string());
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = rest[start + 2..start + end].trim();
        out.push_str(&value(name).ok_or_else(|| name.to_string())?);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_filled_whatever_their_spacing() {
        let fields = |name: &str| (name == "sku").then(|| "A1".to_string());
        assert_eq!(render("/p/{{ sku }}", fields).unwrap(), "/p/A1");
        assert_eq!(render("/p/{{sku}}/x", fields).unwrap(), "/p/A1/x");
        assert_eq!(render("/p/{{ id }}", fields).unwrap_err(), "id");
        assert_eq!(render("/plain", fields).unwrap(), "/plain");
    }
}
