//! Small serde helpers shared by the wire types.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Serde glue for `Option<Option<T>>` fields where absent (`None`: leave unchanged) and `null`
/// (`Some(None)`: turn off) mean different things, as in `session.update`.
pub(crate) mod nullable {
    use super::*;

    pub(crate) fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// Merges `extra` into `target`, descending into objects present on both sides. Used to put the
/// fields a type does not model back where they came from when it is encoded again.
pub(crate) fn merge_into(target: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (key, value) in extra {
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => merge_into(existing, more),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Removes `key` from `map` and decodes it, or `None` when absent. `null` counts as absent, as
/// the API treats it (clients such as LiveKit's send `"instructions": null`). A value of the
/// wrong shape is a decoding error naming the key.
pub(crate) fn take<T: serde::de::DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<T>, serde_json::Error> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("field `{key}`: {e}"))),
    }
}

/// Like [`take`], but keeps an explicit `null` apart from an absent key.
pub(crate) fn take_nullable<T: serde::de::DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<Option<T>>, serde_json::Error> {
    match map.remove(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => serde_json::from_value(value)
            .map(|v| Some(Some(v)))
            .map_err(|e| serde::de::Error::custom(format!("field `{key}`: {e}"))),
    }
}

/// Removes the object at `key` from `map`, or an empty one when absent (or `null`).
pub(crate) fn take_object(map: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match map.remove(key) {
        Some(Value::Object(inner)) => inner,
        Some(Value::Null) | None => Map::new(),
        Some(other) => {
            // Not an object: leave it where it was so that nothing is lost.
            map.insert(key.to_owned(), other);
            Map::new()
        }
    }
}

/// Puts `inner` back under `key` when it still holds fields nobody modelled.
pub(crate) fn restore_object(map: &mut Map<String, Value>, key: &str, inner: Map<String, Value>) {
    if !inner.is_empty() {
        map.insert(key.to_owned(), Value::Object(inner));
    }
}

/// For a field with a default that is not an `Option`: `null` gives the default, as absence
/// does (`#[serde(default, deserialize_with = "null_as_default")]`).
pub(crate) fn null_as_default<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Deserialize<'de> + Default,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Inserts `value` under `key` when it is `Some`.
pub(crate) fn put<T: Serialize>(map: &mut Map<String, Value>, key: &str, value: Option<&T>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), to_value(value));
    }
}

/// Serializes a value known to be representable as JSON.
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Value {
    // Our own types only hold strings, numbers, maps and vectors, which always serialize.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Defines a wire struct: derives, an optional `event_id`, and an `extra` map that keeps the
/// fields this crate does not model so that nothing a newer server sends is lost.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// The event's id (`event_…` from the server; client events get one when sent).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub event_id: Option<String>,
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Fields this crate does not model, kept as they arrived.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }
    };
}

pub(crate) use wire_struct;

/// The `type` and `event_id` of a frame, read without decoding the rest: a cheap first look.
#[derive(Debug, Default, serde::Deserialize)]
// Only the fake server reads the id (to answer a bad frame with it).
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) struct Peek<'a> {
    #[serde(rename = "type", borrow, default)]
    pub(crate) kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) event_id: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Peek<'a> {
    /// Peeks at `text`; `None` when it is not a JSON object.
    pub(crate) fn of(text: &'a str) -> Option<Peek<'a>> {
        serde_json::from_str(text).ok()
    }
}
