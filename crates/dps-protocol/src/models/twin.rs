//! Device-twin fragments carried by enrollments: [`TwinCollection`] and [`InitialTwin`].

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A free-form JSON object of twin properties (tags, desired properties, optional device
/// information).
///
/// DPS stores and echoes it verbatim; besides arbitrary keys it may carry `version`, `count`
/// and `$metadata`-like `metadata`. It is a thin wrapper over a JSON map so that every key
/// survives a round-trip; it dereferences to [`serde_json::Map`] for reading and editing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TwinCollection(pub Map<String, Value>);

impl TwinCollection {
    /// An empty collection (`{}`), as the Azure CLI sends for tags and desired properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces one property and returns the collection, for building literals.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// The collection's `version` property, when present and an integer.
    pub fn version(&self) -> Option<i64> {
        self.0.get("version").and_then(Value::as_i64)
    }

    /// The collection's `count` property, when present and an integer.
    pub fn count(&self) -> Option<i64> {
        self.0.get("count").and_then(Value::as_i64)
    }

    /// Consumes the collection and returns the underlying JSON map.
    pub fn into_inner(self) -> Map<String, Value> {
        self.0
    }
}

impl Deref for TwinCollection {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for TwinCollection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<Map<String, Value>> for TwinCollection {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

impl FromIterator<(String, Value)> for TwinCollection {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// The twin a device starts with in IoT Hub when DPS first assigns it (`initialTwin`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitialTwin {
    /// Twin tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<TwinCollection>,
    /// Twin properties; only `desired` can be set at enrollment time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<InitialTwinProperties>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InitialTwin {
    /// The empty twin the Azure CLI sends on create:
    /// `{"tags":{},"properties":{"desired":{}}}`.
    pub fn empty() -> Self {
        Self {
            tags: Some(TwinCollection::new()),
            properties: Some(InitialTwinProperties {
                desired: Some(TwinCollection::new()),
                extra: Map::new(),
            }),
            extra: Map::new(),
        }
    }
}

/// The `properties` object of an [`InitialTwin`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitialTwinProperties {
    /// Desired properties the device receives from IoT Hub.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<TwinCollection>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
