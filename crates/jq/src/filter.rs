//! Compiling a filter, and running it within a deadline and a stack budget.

use std::{
    cell::Cell,
    collections::HashMap,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::Arc,
    time::{Duration, Instant},
};

use jaq_core::{
    Compiler, Ctx, DataT, Exn, Vars,
    box_iter::box_once,
    data::HasLut,
    load::{Arena, File, Loader},
    native::{Fun, run, v},
};
use jaq_json::Val;

use crate::{Error, error::Kind, json};

/// How far one run of a filter may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for one run (default 1 s). A record's transform
    /// takes microseconds; a second is a filter that does not end.
    pub time: Duration,
    /// Stack one run may use below where it started (default 8 MiB): a
    /// recursion that does not end fails here, not by overflowing the
    /// thread's stack. Run filters on threads with more stack than this.
    pub stack: usize,
    /// Values one run may yield (default 100,000): `repeat(.)` stops here.
    pub outputs: usize,
    /// Steps of the interpreter one run may take (default 1,000,000, some
    /// 100 ms; a record's transform takes tens). This, not the time, bounds
    /// how deep a value a filter can build (`reduce range(1e9) as $i (null;
    /// [.])`, a level per two or three steps), and such a value is printed,
    /// compared and freed by recursion.
    pub steps: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            time: Duration::from_secs(1),
            stack: 8 << 20,
            outputs: 100_000,
            steps: 1_000_000,
        }
    }
}

/// A compiled jq filter: compile once, run on any thread.
///
/// # Example: a transform and its failure
///
/// ```
/// use pacer_jq::{Filter, Limits};
///
/// let transform = Filter::compile("{sku, price: .amount}")?;
/// let record = pacer_jq::parse(br#"{"sku": "A", "amount": 12.50}"#)?;
/// let body = transform.run(&record, &Limits::default())?;
/// assert_eq!(body[0].to_string(), r#"{"sku":"A","price":12.50}"#);
///
/// let err = Filter::compile(".a.b")?.run(&pacer_jq::Value::from(1usize), &Limits::default());
/// assert!(err.unwrap_err().to_string().contains("cannot index"));
/// # Ok::<(), pacer_jq::Error>(())
/// ```
#[derive(Clone)]
pub struct Filter {
    filter: Arc<jaq_core::Filter<Bounded>>,
    text: Arc<str>,
    /// The fields of a filter that is only a path, `.sku` or `.item.id`:
    /// [`first`](Filter::first) walks them without running jq. Keys and
    /// cursors are read so, once or twice for every record pulled.
    path: Option<Arc<[Val]>>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Filter").field(&self.text).finish()
    }
}

impl Filter {
    /// Compiles `text` with jq's standard library, less what reads the
    /// process's environment or ends the process.
    ///
    /// # Errors
    ///
    /// A syntax error or an undefined name, with the byte offset in `text`
    /// where it is ([`Error::offset`]).
    pub fn compile(text: &str) -> Result<Filter, Error> {
        // A compiled filter carries jq's whole standard library, tens of
        // kilobytes: thousands of jobs with the same default `.key` would
        // each hold one. The same text compiles to the same filter, so
        // one is shared while anything holds it.
        type Compiled = std::sync::Weak<jaq_core::Filter<Bounded>>;
        static COMPILED: std::sync::Mutex<Option<HashMap<String, Compiled>>> =
            std::sync::Mutex::new(None);
        let shared = |compiled: &mut HashMap<String, Compiled>| {
            let filter = compiled.get(text)?.upgrade()?;
            Some(Filter::new(filter, text))
        };
        if let Some(filter) = shared(
            COMPILED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get_or_insert_with(HashMap::new),
        ) {
            return Ok(filter);
        }
        let filter = Filter::compile_alone(text)?;
        let mut compiled = COMPILED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let compiled = compiled.get_or_insert_with(HashMap::new);
        // Forget the filters nothing holds any more (a reloaded config's).
        if compiled.len() >= 1_024 {
            compiled.retain(|_, filter| filter.strong_count() > 0);
        }
        compiled.insert(text.to_string(), Arc::downgrade(&filter.filter));
        Ok(filter)
    }

    fn compile_alone(text: &str) -> Result<Filter, Error> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let code = format!("{LOOKUP}{text}");
        // Offsets point into what the author wrote, not into the prelude.
        let text = &code[LOOKUP.len()..];
        let program = File {
            code: code.as_str(),
            path: (),
        };
        let offset_of = |found: &str| {
            let start = text.as_ptr() as usize;
            let at = found.as_ptr() as usize;
            (start..=start + text.len())
                .contains(&at)
                .then(|| at - start)
        };
        let modules = loader.load(&arena, program).map_err(|errors| {
            use jaq_core::load::Error as LoadError;
            let mut parts = Vec::new();
            let mut offset = None;
            for (_, error) in &errors {
                let found: Vec<(&str, &str)> = match error {
                    LoadError::Io(io) => {
                        parts.extend(io.iter().map(|(_, e)| e.clone()));
                        Vec::new()
                    }
                    LoadError::Lex(lex) => lex.iter().map(|(e, f)| (e.as_str(), *f)).collect(),
                    LoadError::Parse(parse) => {
                        parse.iter().map(|(e, f)| (e.as_str(), *f)).collect()
                    }
                };
                for (expected, found) in found {
                    offset = offset.or_else(|| offset_of(found));
                    parts.push(match head(found) {
                        "" => format!("expected {expected} at the end"),
                        found => format!("expected {expected} at {found:?}"),
                    });
                }
            }
            Error::new(Kind::Syntax(parts.join("; ")), offset)
        })?;
        let filter = Compiler::default()
            .with_global_vars(["$lookup"])
            .with_funs(natives())
            .compile(modules)
            .map_err(|errors| {
                let mut offset = None;
                let names = errors
                    .iter()
                    .flat_map(|(_, errs)| errs.iter())
                    .map(|(name, _)| {
                        offset = offset.or_else(|| offset_of(name));
                        format!("`{name}`")
                    })
                    .collect();
                Error::new(Kind::Undefined(names), offset)
            })?;
        Ok(Filter::new(Arc::new(filter), text))
    }

    fn new(filter: Arc<jaq_core::Filter<Bounded>>, text: &str) -> Filter {
        Filter {
            filter,
            text: text.into(),
            path: fields(text).map(|names| names.into_iter().map(Val::from).collect()),
        }
    }

    /// The filter as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this is `.`, which gives its input unchanged.
    pub fn is_identity(&self) -> bool {
        self.text.trim() == "."
    }

    /// Every value the filter yields for `input`, up to `limits.outputs`.
    ///
    /// # Errors
    ///
    /// The filter's own error (`error(…)`, indexing a number), `halt`, a
    /// bound of `limits` it hit, or an output nested deeper than
    /// [`MAX_DEPTH`](crate::MAX_DEPTH) (printing it would recurse as deep).
    pub fn run(&self, input: &Val, limits: &Limits) -> Result<Vec<Val>, Error> {
        self.run_with(input, &Val::Null, limits)
    }

    /// As [`run`](Filter::run), with `lookups` as `$lookup`: an object of
    /// maps by name, which `lookup("name"; key)` reads.
    ///
    /// # Errors
    ///
    /// As [`run`](Filter::run); a key `lookup` does not find is
    /// [`Error::missing_lookup`].
    pub fn run_with(&self, input: &Val, lookups: &Val, limits: &Limits) -> Result<Vec<Val>, Error> {
        let budget = Budget::new(limits);
        let data = Guarded {
            lut: &self.filter.lut,
            budget: &budget,
        };
        let run = || {
            let ctx = Ctx::<Bounded>::new(data, Vars::new([lookups.clone()]));
            let mut out = Vec::new();
            for value in self
                .filter
                .id
                .run((ctx, input.clone()))
                .take(limits.outputs)
            {
                let value = value.map_err(failure)?;
                if json::too_deep(&value) {
                    return Err(Error::new(Kind::TooDeep, None));
                }
                out.push(value);
            }
            Ok(out)
        };
        match catch_unwind(AssertUnwindSafe(run)) {
            Ok(result) => result,
            Err(payload) => match payload.downcast::<Exceeded>() {
                Ok(exceeded) => Err(match *exceeded {
                    Exceeded::Time => Error::new(Kind::Timeout(limits.time), None),
                    Exceeded::Steps => Error::new(Kind::Steps(limits.steps), None),
                    Exceeded::Stack => Error::new(Kind::Stack, None),
                }),
                Err(other) => resume_unwind(other),
            },
        }
    }

    /// The first value, `None` for none or null.
    ///
    /// # Errors
    ///
    /// As [`run`](Filter::run).
    pub fn first(&self, input: &Val, limits: &Limits) -> Result<Option<Val>, Error> {
        if let Some(found) = self.walk(input) {
            return Ok(found);
        }
        let one = Limits {
            outputs: 1,
            ..*limits
        };
        Ok(self
            .run(input, &one)?
            .into_iter()
            .next()
            .filter(|v| !matches!(v, Val::Null)))
    }

    /// What a path filter gives for `input`, read field by field as jq
    /// would: null past a missing field or a null. `None` when the filter
    /// is not a path, or the path meets a value that is neither an object
    /// nor null, which jq refuses with its own error.
    fn walk(&self, input: &Val) -> Option<Option<Val>> {
        let mut at = input;
        for field in self.path.as_deref()? {
            at = match at {
                Val::Obj(fields) => fields.get(field).unwrap_or(&Val::Null),
                Val::Null => return Some(None),
                _ => return None,
            };
        }
        Some((!matches!(at, Val::Null)).then(|| at.clone()))
    }
}

/// The field names of `text` when it is only a path of plain names
/// (`.sku`, `.item.id`), as jq reads them.
fn fields(text: &str) -> Option<Vec<String>> {
    let text = text.trim();
    let names: Vec<&str> = text.strip_prefix('.')?.split('.').collect();
    let plain = |name: &&str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    names
        .iter()
        .all(plain)
        .then(|| names.iter().map(|n| n.to_string()).collect())
}

/// `lookup("name"; key)`: the value `$lookup.name` holds for `key` (as
/// text), or an error [`failure`] reads as a missing lookup.
const LOOKUP: &str = "def lookup($name; key): (key | tostring) as $key \
    | $lookup[$name][$key] as $value \
    | if $value != null or ($lookup[$name] | type == \"object\" and has($key)) then $value \
    else error({pacer_lookup: $name, key: $key}) end;\n";

fn failure(exn: Exn<'_, Val>) -> Error {
    match exn.get_err() {
        Ok(error) => {
            let text = error.to_string();
            let value = error.into_val();
            let field = |name: &str| match &value {
                Val::Obj(fields) => fields.get(&Val::from(name.to_string())).cloned(),
                _ => None,
            };
            match (field("pacer_lookup"), field("key")) {
                (Some(name), Some(key)) => Error::new(
                    Kind::MissingLookup {
                        name: json::text_of(&name),
                        key: json::text_of(&key),
                    },
                    None,
                ),
                _ => Error::new(Kind::Failed(text), None),
            }
        }
        Err(exn) => match exn.get_halt() {
            Ok(code) => Error::new(Kind::Halt(code), None),
            Err(_) => Error::new(Kind::Failed("an unexpected `break`".into()), None),
        },
    }
}

/// The first characters of what the parser found, to quote it.
fn head(text: &str) -> &str {
    let end = text.char_indices().nth(12).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

/// jq's standard natives, but `env` and `halt` fail and the debug printers
/// print nothing: a filter neither reads the environment nor writes to
/// Pacer's own output. `range` pays a step per value, so `[range(1e9)]`
/// stops at the budget instead of filling memory.
fn natives() -> impl Iterator<Item = Fun<Bounded>> {
    const REPLACED: [&str; 5] = ["env", "halt", "stderr_empty", "debug_empty", "range"];
    let standard = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, _, _)| !REPLACED.contains(name));
    let replaced: [Fun<Bounded>; 5] = [
        run(("env", v(0), |_| {
            box_once(Err(Exn::from(jaq_core::Error::str(
                "env is not available: Pacer's environment holds its secrets",
            ))))
        })),
        run(("halt", v(1), |mut cv| {
            let code = cv.0.pop_var();
            let code = match &code {
                Val::Num(n) => n.to_string().parse().unwrap_or(5),
                _ => 5,
            };
            box_once(Err(Exn::halt(code)))
        })),
        run(("stderr_empty", v(0), |_| Box::new(std::iter::empty()))),
        run(("debug_empty", v(0), |_| Box::new(std::iter::empty()))),
        run(("range", v(3), |mut cv| {
            let budget = cv.0.data().budget;
            let by = cv.0.pop_var();
            let to = cv.0.pop_var();
            let from = cv.0.pop_var();
            Box::new(range(from, to, by).inspect(move |_| budget.step()))
        })),
    ];
    standard.chain(replaced)
}

/// `range($from; $to; $by)` as jaq has it: up while below `$to` for a
/// positive step, down while above it for a negative one, until equal for 0.
fn range<'a>(from: Val, to: Val, by: Val) -> impl Iterator<Item = jaq_core::ValX<'a, Val>> + 'a {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let direction = by.partial_cmp(&Val::from(0usize)).unwrap_or(Equal);
    let mut next = Some(from);
    std::iter::from_fn(move || {
        let x = next.take()?;
        let more = match direction {
            Greater => x < to,
            Less => x > to,
            Equal => x != to,
        };
        if !more {
            return None;
        }
        match x.clone() + by.clone() {
            Ok(after) => next = Some(after),
            Err(e) => return Some(Err(Exn::from(e))),
        }
        Some(Ok(x))
    })
}

/// The data a run carries: the program, and the budget every step pays into.
struct Bounded;

impl DataT for Bounded {
    type V<'a> = Val;
    type Data<'a> = Guarded<'a>;
}

#[derive(Clone, Copy)]
struct Guarded<'a> {
    lut: &'a jaq_core::Lut<Bounded>,
    budget: &'a Budget,
}

/// The interpreter looks up the program at every step of every filter, so
/// that is where the budget is checked: a loop without output (`def f: f;
/// f`) still steps.
impl<'a> HasLut<'a, Bounded> for Guarded<'a> {
    fn lut(&self) -> &'a jaq_core::Lut<Bounded> {
        self.budget.step();
        self.lut
    }
}

/// Why a run was unwound; carried by `resume_unwind`, which skips the panic
/// hook, so nothing is printed, and caught in [`Filter::run`].
enum Exceeded {
    Time,
    Steps,
    Stack,
}

struct Budget {
    deadline: Instant,
    steps_left: Cell<u64>,
    /// The lowest stack address a step may be at (stacks grow down on the
    /// platforms Pacer runs on; were one to grow up, this never trips).
    stack_floor: usize,
}

impl Budget {
    fn new(limits: &Limits) -> Budget {
        Budget {
            deadline: Instant::now() + limits.time,
            steps_left: Cell::new(limits.steps),
            stack_floor: stack_address().saturating_sub(limits.stack),
        }
    }

    fn step(&self) {
        if stack_address() < self.stack_floor {
            resume_unwind(Box::new(Exceeded::Stack));
        }
        let left = self.steps_left.get();
        if left == 0 {
            resume_unwind(Box::new(Exceeded::Steps));
        }
        self.steps_left.set(left - 1);
        // Reading the clock costs more than a step; every 1,024th will do.
        if left.is_multiple_of(1_024) && Instant::now() > self.deadline {
            resume_unwind(Box::new(Exceeded::Time));
        }
    }
}

fn stack_address() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A record of a few plain fields, nested a little, with every kind
    /// of value a path may meet.
    fn record() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("false".to_string()),
            Just("0".to_string()),
            Just("-2.5".to_string()),
            Just(r#""AB-1""#.to_string()),
            Just("[1, {\"a\": 2}]".to_string()),
        ];
        leaf.prop_recursive(3, 24, 3, |inner| {
            prop::collection::vec((prop::sample::select(vec!["a", "b", "_c1"]), inner), 0..3)
                .prop_map(|fields| {
                    let fields: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!("\"{k}\": {v}"))
                        .collect();
                    format!("{{{}}}", fields.join(", "))
                })
        })
    }

    proptest! {
        /// A path filter read without jq gives what jq gives, errors included.
        #[test]
        fn a_path_read_field_by_field_answers_as_jq(
            input in record(),
            path in prop::collection::vec(prop::sample::select(vec!["a", "b", "_c1", "d"]), 1..4),
        ) {
            let text = format!(".{}", path.join("."));
            let filter = Filter::compile(&text).unwrap();
            prop_assert!(filter.path.is_some());
            let input = json::parse(input.as_bytes()).unwrap();
            let by_jq = filter
                .run(&input, &Limits { outputs: 1, ..limits(10_000) })
                .map(|out| out.into_iter().next().filter(|v| !matches!(v, Val::Null)));
            let walked = filter.first(&input, &limits(10_000));
            match (walked, by_jq) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "walked {:?}, jq {:?}", a, b),
            }
        }
    }

    #[test]
    fn only_plain_paths_are_walked() {
        for path in [".sku", " .item.id ", "._x.y2"] {
            assert!(fields(path).is_some(), "{path}");
        }
        for other in [
            ".", "..", ".a..b", ".a[0]", ".\"a b\"", ".a?", ".1a", "a", ".a | .b", ".a-b",
        ] {
            assert!(fields(other).is_none(), "{other}");
        }
    }

    /// Thousands of jobs with the default `.key` hold one compiled filter,
    /// not one each; a filter nothing holds any more is compiled anew.
    #[test]
    fn the_same_text_shares_one_compiled_filter() {
        let text = ".shared_by_jobs | tostring";
        let (a, b) = (
            Filter::compile(text).unwrap(),
            Filter::compile(text).unwrap(),
        );
        assert!(Arc::ptr_eq(&a.filter, &b.filter));
        assert_eq!(b.text(), text);
        let other = Filter::compile(".shared_by_jobs").unwrap();
        assert!(!Arc::ptr_eq(&a.filter, &other.filter));
        let weak = Arc::downgrade(&a.filter);
        drop((a, b));
        assert!(weak.upgrade().is_none(), "nothing holds it now");
        let again = Filter::compile(text).unwrap();
        let out = again.run(
            &json::parse(br#"{"shared_by_jobs": 7}"#).unwrap(),
            &limits(1_000),
        );
        assert_eq!(out.unwrap()[0].to_string(), r#""7""#);
    }

    fn limits(ms: u64) -> Limits {
        Limits {
            time: Duration::from_millis(ms),
            ..Limits::default()
        }
    }

    fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn lookups_find_their_key_or_say_which_is_missing() {
        let lookups =
            crate::parse(br#"{"variants": {"SKU-1": "gid://1", "17": "gid://17"}}"#).unwrap();
        let transform = Filter::compile(r#"{id: lookup("variants"; .sku), price}"#).unwrap();
        let run = |record: &[u8]| {
            transform.run_with(&crate::parse(record).unwrap(), &lookups, &Limits::default())
        };
        let found = run(br#"{"sku": "SKU-1", "price": 2}"#).unwrap();
        assert_eq!(found[0].to_string(), r#"{"id":"gid://1","price":2}"#);
        // Keys are text: a number finds the entry of its digits.
        assert_eq!(
            run(br#"{"sku": 17, "price": 2}"#).unwrap()[0].to_string(),
            r#"{"id":"gid://17","price":2}"#
        );
        let missing = run(br#"{"sku": "SKU-9", "price": 2}"#).unwrap_err();
        assert_eq!(missing.missing_lookup(), Some(("variants", "SKU-9")));
        assert_eq!(
            missing.to_string(),
            r#"the lookup "variants" has no entry for "SKU-9""#
        );
        // A lookup that was never fetched is missing too, and names itself.
        let none = transform
            .run(
                &crate::parse(br#"{"sku": "SKU-1"}"#).unwrap(),
                &Limits::default(),
            )
            .unwrap_err();
        assert_eq!(none.missing_lookup(), Some(("variants", "SKU-1")));
        // An error of the filter's own reads as before: its value as JSON.
        let own = Filter::compile(r#"error("bad price")"#).unwrap();
        let err = own.run(&Val::Null, &Limits::default()).unwrap_err();
        assert_eq!(err.to_string(), r#""bad price""#);
        assert_eq!(err.missing_lookup(), None);
    }

    #[test]
    fn filters_cross_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<Filter>();
    }

    #[test]
    fn filters_that_never_end_stop_at_their_deadline() {
        for text in [
            "def f: f; f",
            "last(repeat(1))",
            "def f: .+1 | f; f",
            "until(false; .)",
        ] {
            let err = Filter::compile(text)
                .unwrap()
                .run(&Val::from(1usize), &limits(100))
                .unwrap_err();
            assert!(err.is_timeout(), "{text}: {err}");
        }
    }

    #[test]
    fn range_counts_as_jq_does_and_pays_for_each_value() {
        let run = |text: &str| {
            Filter::compile(text)
                .unwrap()
                .run(&Val::Null, &Limits::default())
                .map(|out| {
                    out.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
        };
        assert_eq!(run("range(3)").unwrap(), "0 1 2");
        assert_eq!(run("range(5; 0; -2)").unwrap(), "5 3 1");
        assert_eq!(run("range(0; 1; 0.5)").unwrap(), "0 0.5");
        assert_eq!(run("range(1; 1)").unwrap(), "");
        assert!(run(r#"range(0; "a"; "b")"#).is_err());
        let err = run("[range(1e9)] | length").unwrap_err();
        assert!(err.is_timeout(), "{err}");
    }

    #[test]
    fn deep_values_a_filter_builds_stop_at_the_step_budget() {
        let err = on_big_stack(|| {
            Filter::compile("reduce range(1e9) as $i (null; [.]) | tojson")
                .unwrap()
                .run(&Val::Null, &Limits::default())
        })
        .unwrap_err();
        assert!(err.is_timeout(), "{err}");
    }

    #[test]
    fn recursion_without_end_stops_within_its_stack() {
        let err = on_big_stack(|| {
            Filter::compile("def f: [f]; f")
                .unwrap()
                .run(&Val::Null, &Limits::default())
        })
        .unwrap_err();
        assert!(err.is_stack(), "{err}");
    }

    #[test]
    fn halt_and_env_fail_the_filter_not_the_process() {
        let halt = Filter::compile("halt_error(3)")
            .unwrap()
            .run(&Val::Null, &Limits::default())
            .unwrap_err();
        assert_eq!(
            halt.to_string(),
            "called halt(3); a filter cannot stop Pacer, use error(…) to fail a record"
        );
        let env = Filter::compile("env.PATH")
            .unwrap()
            .run(&Val::Null, &Limits::default())
            .unwrap_err();
        assert!(env.to_string().contains("env is not available"), "{env}");
        assert!(Filter::compile("$ENV.PATH").is_err());
        let debug = Filter::compile("debug | stderr | . + 1").unwrap();
        assert_eq!(
            debug.run(&Val::from(1usize), &Limits::default()).unwrap()[0].to_string(),
            "2"
        );
    }

    #[test]
    fn outputs_are_capped_and_too_deep_ones_refused() {
        let many = Filter::compile("repeat(.)")
            .unwrap()
            .run(&Val::from(1usize), &Limits::default())
            .unwrap();
        assert_eq!(many.len(), Limits::default().outputs);
        let deep = Filter::compile("reduce range(200) as $i (null; [.])")
            .unwrap()
            .run(&Val::Null, &Limits::default())
            .unwrap_err();
        assert!(deep.is_too_deep(), "{deep}");
    }

    #[test]
    fn syntax_errors_name_the_offset_and_what_was_expected() {
        let err = Filter::compile(".items[").unwrap_err();
        assert!(err.is_syntax());
        assert_eq!(err.offset(), Some(7));
        assert!(err.to_string().starts_with("expected "), "{err}");
        let err = Filter::compile(". | nosuchfunction(1)").unwrap_err();
        assert_eq!(err.offset(), Some(4));
        assert!(
            err.to_string().contains("undefined `nosuchfunction"),
            "{err}"
        );
    }
}
