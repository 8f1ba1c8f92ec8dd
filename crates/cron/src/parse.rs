//! From text to bit sets: the parser for five-field expressions, macros,
//! names, the Quartz extensions and `H`.

use std::ops::Range;

use crate::{Error, Field, Schedule, days::Days, error::ErrorKind, hash};

/// Expansions of the `@` macros.
const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

pub(crate) fn parse(expr: &str, key: Option<&str>) -> Result<Schedule, Error> {
    let tokens = tokens(expr);
    let Some(&(first_start, first)) = tokens.first() else {
        return Err(Error::new(ErrorKind::Empty));
    };
    if first.starts_with('@') {
        let span = first_start..first_start + first.len();
        let Some((_, expansion)) = MACROS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(first))
        else {
            let name = first.to_string();
            return Err(Error::new(ErrorKind::UnknownMacro { name }).at(None, expr, span));
        };
        if let Some(&(start, extra)) = tokens.get(1) {
            return Err(Error::new(ErrorKind::Unexpected {
                found: format!("{extra:?} after the macro"),
                expected: "nothing: a macro stands alone",
            })
            .at(None, expr, start..start + extra.len()));
        }
        let mut schedule = parse(expansion, None)?;
        schedule.source = expr.to_string();
        return Ok(schedule);
    }
    if tokens.len() != 5 {
        let span = match tokens.get(5) {
            Some(&(start, extra)) => start..start + extra.len(),
            None => expr.len()..expr.len(),
        };
        let found = tokens.len();
        return Err(Error::new(ErrorKind::FieldCount { found }).at(None, expr, span));
    }

    let mut parsed = Vec::with_capacity(5);
    for (field, &(start, text)) in Field::ALL.into_iter().zip(&tokens) {
        let mut parser = FieldParser {
            expr,
            field,
            text,
            start,
            key,
            out: ParsedField::default(),
        };
        parser.parse()?;
        parsed.push(parser.out);
    }
    let [minute, hour, dom, month, dow]: [ParsedField; 5] =
        parsed.try_into().expect("five fields were parsed");

    let days = Days {
        dom: dom.bits as u32,
        last_day: dom.last_day,
        last_weekday: dom.last_weekday,
        nearest_weekday: dom.nearest_weekday,
        // Sunday is both 0 and 7.
        dow: ((dow.bits | dow.bits >> 7) & 0x7F) as u8,
        nth: dow.nth,
        last_dow: dow.last_dow,
        dom_star: dom.star,
        dow_star: dow.star,
    };
    let months = month.bits as u16;
    if !days.fires_in_any(months) {
        let (start, text) = tokens[2];
        return Err(Error::new(ErrorKind::NeverFires).at(
            Some(Field::DayOfMonth),
            expr,
            start..start + text.len(),
        ));
    }
    let fixed_time = !minute.wildcard && !hour.wildcard;
    let hashed = [&minute, &hour, &dom, &month, &dow]
        .iter()
        .any(|f| f.hashed);
    let resolved = [&minute, &hour, &dom, &month, &dow]
        .iter()
        .map(|f| f.resolved.join(","))
        .collect::<Vec<_>>()
        .join(" ");
    let warnings = [&minute, &hour, &dom, &month, &dow]
        .iter()
        .flat_map(|f| f.warnings.iter().cloned())
        .collect();
    Ok(Schedule {
        source: expr.to_string(),
        resolved,
        warnings,
        minutes: minute.bits,
        hours: hour.bits as u32,
        months,
        days,
        fixed_time,
        hashed,
    })
}

/// The whitespace-separated tokens of `expr`, with their byte offsets.
fn tokens(expr: &str) -> Vec<(usize, &str)> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in expr.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                tokens.push((s, &expr[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push((s, &expr[s..]));
    }
    tokens
}

/// One field, parsed.
#[derive(Debug, Default)]
struct ParsedField {
    /// Values selected, bit `v` for value `v`.
    bits: u64,
    /// The field begins with `*` or is `?`.
    star: bool,
    /// The field contains `*` or a step: it follows the wall clock through DST.
    wildcard: bool,
    hashed: bool,
    last_day: bool,
    last_weekday: bool,
    nearest_weekday: u32,
    nth: [u8; 7],
    last_dow: u8,
    /// The items of the field with `H` replaced by what it resolved to.
    resolved: Vec<String>,
    /// What cronie accepts but the author likely did not mean.
    warnings: Vec<String>,
}

struct FieldParser<'a> {
    expr: &'a str,
    field: Field,
    text: &'a str,
    /// Byte offset of `text` in `expr`.
    start: usize,
    key: Option<&'a str>,
    out: ParsedField,
}

/// A cursor over one comma-separated item of a field.
struct Item<'a> {
    text: &'a str,
    /// Byte offset of `text` in the expression.
    start: usize,
    pos: usize,
}

impl<'a> Item<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn span(&self, from: usize) -> Range<usize> {
        self.start + from..self.start + self.pos
    }

    /// What stands at the cursor, for a message: a quoted character or "the end".
    fn found(&self) -> String {
        match self.text[self.pos..].chars().next() {
            Some(c) => format!("{c:?}"),
            None => "the end of the field".to_string(),
        }
    }

    /// The span of the character at the cursor (empty at the end).
    fn here(&self) -> Range<usize> {
        let len = self.text[self.pos..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        self.start + self.pos..self.start + self.pos + len
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let from = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        let text: &'a str = self.text;
        &text[from..self.pos]
    }
}

/// How an item starts: the range of values it covers before any step.
enum Base {
    /// `*`: the whole field.
    All,
    /// `a` alone; with a step it means `a` through the field's maximum.
    Single(u32),
    Range(u32, u32),
    /// `H`, `H(a-b)` or cronie's `a~b`: a value hashed into the range.
    Hash(u32, u32),
}

impl FieldParser<'_> {
    fn error(&self, kind: ErrorKind, span: Range<usize>) -> Error {
        Error::new(kind).at(Some(self.field), self.expr, span)
    }

    fn unexpected(&self, item: &Item<'_>, expected: &'static str) -> Error {
        let found = item.found();
        self.error(ErrorKind::Unexpected { found, expected }, item.here())
    }

    fn is_day_field(&self) -> bool {
        matches!(self.field, Field::DayOfMonth | Field::DayOfWeek)
    }

    fn parse(&mut self) -> Result<(), Error> {
        if self.text == "?" {
            if !self.is_day_field() {
                let kind = ErrorKind::Unexpected {
                    found: "'?'".to_string(),
                    expected: "a value, range, list or `*` (`?` is only for the day fields)",
                };
                return Err(self.error(kind, self.start..self.start + 1));
            }
            self.out.star = true;
            self.out.wildcard = true;
            self.out.bits = range_bits(self.field.min(), self.field.max(), 1);
            self.out.resolved.push("?".to_string());
            return Ok(());
        }
        self.out.star = self.text.starts_with('*');
        let mut offset = 0;
        for item in self.text.split(',') {
            let mut cursor = Item {
                text: item,
                start: self.start + offset,
                pos: 0,
            };
            if item.is_empty() {
                // The empty item sits just before the next comma, or at the end.
                let at = self.start + offset;
                let (found, span) = match self.text[offset..].starts_with(',') {
                    true => ("','".to_string(), at..at + 1),
                    false => ("the end of the field".to_string(), at..at),
                };
                let expected = "a value between the commas";
                return Err(self.error(ErrorKind::Unexpected { found, expected }, span));
            }
            self.item(&mut cursor)?;
            offset += item.len() + 1;
        }
        Ok(())
    }

    fn item(&mut self, item: &mut Item<'_>) -> Result<(), Error> {
        let (min, max) = (self.field.min(), self.field.max());
        let base = match item.peek() {
            Some(b'*') => {
                item.pos += 1;
                self.out.wildcard = true;
                Base::All
            }
            Some(b'H' | b'h') => self.hash_base(item)?,
            Some(b'~') => {
                let from = item.pos;
                item.pos += 1;
                let last = match item.peek() {
                    Some(b) if b.is_ascii_alphanumeric() => self.value(item)?,
                    _ => max,
                };
                self.random(item, from, min, last)?
            }
            Some(b'L' | b'l') if self.field == Field::DayOfMonth => {
                item.pos += 1;
                if item.eat(b'W') || item.eat(b'w') {
                    self.out.last_weekday = true;
                } else {
                    self.out.last_day = true;
                }
                return self.finish_special(item);
            }
            _ => {
                let from = item.pos;
                let first = self.value(item)?;
                if self.suffix(item, first)? {
                    return Ok(());
                }
                if item.eat(b'~') {
                    let last = match item.peek() {
                        Some(b) if b.is_ascii_alphanumeric() => self.value(item)?,
                        _ => max,
                    };
                    self.random(item, from, first, last)?
                } else if item.eat(b'-') {
                    let mut last = self.value(item)?;
                    // A weekday range ending in Sunday ends in 7: `FRI-SUN`,
                    // `mon-0` and `1-0` are Monday or Friday through Sunday,
                    // as cronie's parser reads them.
                    if self.field == Field::DayOfWeek && last == 0 && first > 0 {
                        last = 7;
                    }
                    if last < first {
                        let kind = ErrorKind::ReversedRange {
                            start: first,
                            end: last,
                        };
                        return Err(self.error(kind, item.span(from)));
                    }
                    Base::Range(first, last)
                } else {
                    Base::Single(first)
                }
            }
        };
        let step = if item.eat(b'/') {
            self.out.wildcard = true;
            let from = item.pos;
            let digits = item.take_while(|b| b.is_ascii_digit());
            if digits.is_empty() {
                return Err(self.unexpected(item, "a step (a whole number) after '/'"));
            }
            let step = saturating_number(digits);
            if step == 0 {
                return Err(self.error(ErrorKind::ZeroStep, item.span(from)));
            }
            match base {
                // cronie reads a step only after `*` or a range: `5/15` is
                // an error there, and a crontab that cronie refuses is not
                // one Pacer should run.
                Base::Single(value) => {
                    let kind = ErrorKind::StepWithoutRange {
                        value,
                        max: if self.field == Field::DayOfWeek {
                            6
                        } else {
                            max
                        },
                        step,
                    };
                    return Err(self.error(kind, item.span(from - 1)));
                }
                Base::Hash(..) if item.text[..from].contains('~') => {
                    let expected = "the end of the field: a random value `a~b` takes no step";
                    let found = "'/'".to_string();
                    return Err(self.error(
                        ErrorKind::Unexpected { found, expected },
                        item.span(from - 1),
                    ));
                }
                _ => {}
            }
            let (first, last) = match base {
                Base::Range(a, b) => (a, b),
                _ => (min, max),
            };
            if step > last - first && first != last && !matches!(base, Base::Hash(..)) {
                // cronie takes it and runs the range's first value alone.
                let column = self.expr[..item.start].chars().count() + 1;
                self.out.warnings.push(format!(
                    "{} field, column {column}: a step of {step} is wider than {first}-{last}, \
                     so {:?} means {first} only (as cronie reads it)",
                    self.field, item.text
                ));
            }
            Some(step)
        } else {
            None
        };
        if item.peek().is_some() {
            return Err(self.unexpected(item, "',', '-', '/' or the end of the field"));
        }
        let (first, last, resolved) = match base {
            Base::All => (min, max, item.text.to_string()),
            Base::Single(v) => (v, v, item.text.to_string()),
            Base::Range(a, b) => (a, b, item.text.to_string()),
            Base::Hash(a, b) => {
                let key = self.key.expect("hash_base checked the key");
                match step {
                    // Jenkins: `H/n` starts at a hashed offset below n.
                    Some(step) => {
                        let start = a + hash::hashed(key, self.field, step.min(b - a + 1));
                        (start, b, format!("{start}-{b}/{step}"))
                    }
                    None => {
                        let value = a + hash::hashed(key, self.field, b - a + 1);
                        (value, value, value.to_string())
                    }
                }
            }
        };
        self.out.bits |= range_bits(first, last, step.unwrap_or(1));
        self.out.resolved.push(resolved);
        Ok(())
    }

    /// cronie's `a~b` (`~b` from the field's first value, `a~` to its
    /// last): one value in the range, chosen once. cronie draws it at
    /// random when it reads the crontab; Pacer hashes the job's name, as
    /// for `H`, so every node and every restart agrees.
    fn random(&mut self, item: &Item<'_>, from: usize, a: u32, b: u32) -> Result<Base, Error> {
        if self.key.is_none() {
            return Err(self.error(ErrorKind::MissingKey { random: true }, item.span(from)));
        }
        if b < a {
            let kind = ErrorKind::ReversedRange { start: a, end: b };
            return Err(self.error(kind, item.span(from)));
        }
        self.out.hashed = true;
        let b = if self.field == Field::DayOfWeek {
            b.min(6)
        } else {
            b
        };
        Ok(Base::Hash(a, b.max(a)))
    }

    /// `H` or `H(a-b)`.
    fn hash_base(&mut self, item: &mut Item<'_>) -> Result<Base, Error> {
        let from = item.pos;
        item.pos += 1;
        if self.key.is_none() {
            return Err(self.error(ErrorKind::MissingKey { random: false }, item.span(from)));
        }
        self.out.hashed = true;
        if !item.eat(b'(') {
            let (a, b) = self.field.hash_range();
            return Ok(Base::Hash(a, b));
        }
        let range_from = item.pos;
        let a = self.value(item)?;
        if !item.eat(b'-') {
            return Err(self.unexpected(item, "'-' in H(a-b)"));
        }
        let b = self.value(item)?;
        if b < a {
            let kind = ErrorKind::ReversedRange { start: a, end: b };
            return Err(self.error(kind, item.span(range_from)));
        }
        if !item.eat(b')') {
            return Err(self.unexpected(item, "')' to close H(a-b)"));
        }
        // `H(0-7)` in the day of the week would make Sunday twice as likely.
        let b = if self.field == Field::DayOfWeek {
            b.min(6)
        } else {
            b
        };
        Ok(Base::Hash(a, b))
    }

    /// A number or a name, checked against the field's range.
    fn value(&self, item: &mut Item<'_>) -> Result<u32, Error> {
        let from = item.pos;
        let digits = item.take_while(|b| b.is_ascii_digit());
        if !digits.is_empty() {
            let value = saturating_number(digits);
            let (min, max) = (self.field.min(), self.field.max());
            if !(min..=max).contains(&value) {
                let kind = ErrorKind::OutOfRange { value, min, max };
                return Err(self.error(kind, item.span(from)));
            }
            return Ok(value);
        }
        let word = item.take_while(|b| b.is_ascii_alphabetic());
        if word.is_empty() {
            return Err(self.unexpected(item, "a number, a name, '*' or 'H'"));
        }
        // `FRIL` is Friday followed by `L`: leave the `L` for `suffix`.
        if word.len() == 4
            && self.field == Field::DayOfWeek
            && word.ends_with(['L', 'l'])
            && self.name(&word[..3]).is_some()
        {
            item.pos -= 1;
            return Ok(self.name(&word[..3]).expect("checked above"));
        }
        self.name(word).ok_or_else(|| {
            let kind = ErrorKind::UnknownName {
                name: word.to_string(),
            };
            self.error(kind, item.span(from))
        })
    }

    fn name(&self, word: &str) -> Option<u32> {
        let index = self
            .field
            .names()
            .iter()
            .position(|name| name.eq_ignore_ascii_case(word))?;
        Some(self.field.min() + index as u32)
    }

    /// The Quartz suffixes after a value: `15W` (day of month), `5L` and
    /// `FRI#2` (day of week). Returns true when the item ended there.
    fn suffix(&mut self, item: &mut Item<'_>, value: u32) -> Result<bool, Error> {
        match (self.field, item.peek()) {
            (Field::DayOfMonth, Some(b'W' | b'w')) => {
                item.pos += 1;
                self.out.nearest_weekday |= 1 << value;
                self.finish_special(item)?;
                Ok(true)
            }
            (Field::DayOfWeek, Some(b'L' | b'l')) => {
                item.pos += 1;
                self.out.last_dow |= 1 << (value % 7);
                self.finish_special(item)?;
                Ok(true)
            }
            (Field::DayOfWeek, Some(b'#')) => {
                item.pos += 1;
                let nth_from = item.pos;
                let digits = item.take_while(|b| b.is_ascii_digit());
                if digits.is_empty() {
                    return Err(self.unexpected(item, "which occurrence (1-5) after '#'"));
                }
                let n = saturating_number(digits);
                if !(1..=5).contains(&n) {
                    let kind = ErrorKind::OutOfRange {
                        value: n,
                        min: 1,
                        max: 5,
                    };
                    return Err(self.error(kind, item.span(nth_from)));
                }
                self.out.nth[(value % 7) as usize] |= 1 << n;
                self.finish_special(item)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// After `L`, `LW`, `15W`, `5L` or `FRI#2`, nothing may follow in the item.
    fn finish_special(&mut self, item: &mut Item<'_>) -> Result<(), Error> {
        if item.peek().is_some() {
            return Err(
                self.unexpected(item, "',' or the end of the field (no range or step here)")
            );
        }
        self.out.resolved.push(item.text.to_string());
        Ok(())
    }
}

fn saturating_number(digits: &str) -> u32 {
    digits.bytes().fold(0u32, |n, d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    })
}

fn range_bits(first: u32, last: u32, step: u32) -> u64 {
    (first..=last)
        .step_by(step as usize)
        .fold(0, |bits, v| bits | 1 << v)
}
