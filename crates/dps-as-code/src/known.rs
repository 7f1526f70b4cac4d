//! [`Known`]: a service enum in a file, where an unknown value is an error.
//!
//! The service's models keep unknown enum values (a newer service may add some); a file a
//! person writes should not: `provisioningStatus: enable` is a typo, refused with the allowed
//! values. The allowed values are the wire enum's own list ([`WireEnum::KNOWN`]), so there is
//! one list per enum.

use dps_protocol::models::WireEnum;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

/// A documented value of the service enum `E`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known<E>(pub E);

impl<E: WireEnum> Known<E> {
    /// The value as the service spells it.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<E: WireEnum> Serialize for Known<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de, E: WireEnum + From<String>> Deserialize<'de> for Known<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let value = E::from(text);
        if value.is_known() {
            return Ok(Self(value));
        }
        Err(serde::de::Error::custom(format!(
            "unknown value {:?}, expected one of {}",
            value.as_str(),
            E::KNOWN.join(", ")
        )))
    }
}

impl<E: WireEnum> JsonSchema for Known<E> {
    fn schema_name() -> Cow<'static, str> {
        let full = std::any::type_name::<E>();
        Cow::Owned(full.rsplit("::").next().unwrap_or(full).to_owned())
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": E::KNOWN })
    }
}
