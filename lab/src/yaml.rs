//! The one place that names the YAML crate (serde-saphyr), so the choice can change here.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
pub use serde_saphyr::Location;

use crate::diag::{Diagnostic, InputError};

/// Parse `text` (read from `file`) into `T`; syntax and type errors carry file:line:col.
pub fn parse<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::one(Diagnostic::whole_file(file, "", "the file is empty", "write at least a `name:` and the required sections")));
    }
    let mut options = serde_saphyr::options::Options::default();
    // Duplicate names are reported by our own validation, together with every other problem.
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::PassThrough;
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| {
        let (line, col) = e.location().map(|l| (l.line() as usize, l.column() as usize)).unwrap_or((1, 1));
        InputError::one(Diagnostic::new(file, line, col, "", &first_line(&e.to_string()), ""))
    })
}

/// The crate renders a snippet below its message; keep the message line only.
fn first_line(rendered: &str) -> String {
    let line = rendered.lines().next().unwrap_or(rendered).trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    // The position is printed by us as file:line:col; drop the crate's own copy.
    match line.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest.to_string(),
        _ => line.to_string(),
    }
}

/// Render a value as YAML (for `halab plan`).
pub fn to_string<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_saphyr::to_string(value)?)
}

/// A value with where the user wrote it. serde-saphyr's own `Spanned` with a JSON Schema:
/// the schema of a spanned value is the value's (`halab schema`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    pub value: T,
    pub referenced: Location,
    pub defined: Location,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Spanned { value: s.value, referenced: s.referenced, defined: s.defined })
    }
}

impl<T: serde::Serialize> serde::Serialize for Spanned<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

/// Line and column of a spanned value.
pub fn pos<T>(s: &Spanned<T>) -> (usize, usize) {
    (s.referenced.line() as usize, s.referenced.column() as usize)
}

/// A YAML mapping that keeps its order and its duplicates (with positions), so validation can
/// report a duplicate name with its line instead of the parser stopping at the first one.
#[derive(Debug, Clone)]
pub struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<V> OrderedMap<V> {
    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
    }
}

/// A mapping of names: an object whose every value is a `V`.
impl<V: JsonSchema> JsonSchema for OrderedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["object", "null"], "additionalProperties": g.subschema_for::<V>() })
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Spanned<String>, V>()? {
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap(Vec::new()))
            }
        }
        d.deserialize_map(V2(PhantomData))
    }
}
