//! The `wire_enum!` macro: string enums of the DPS wire format that never fail on a value
//! they do not know.
//!
//! DPS declares its enums as "modelAsString", so the service may add values at any time. Each
//! enum made by this macro has one variant per documented value plus `Other(String)`, which keeps
//! an unknown value verbatim so that a read-modify-write sends back exactly what was read.

/// Defines a `#[non_exhaustive]` string enum with an `Other(String)` catch-all, plus `as_str`,
/// `Display`, `FromStr`, `From<&str>`, `From<String>` and string (de)serialization.
///
/// Known values match exactly (case-sensitive), so an unusual spelling such as `"Assigned"` is
/// kept as `Other("Assigned")` and round-trips unchanged.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept verbatim so that it round-trips.
            /// Build values with `From`/`parse`, which map documented strings to their variants.
            Other(String),
        }

        impl $name {
            /// The exact string sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Other(other) => other.as_str(),
                }
            }

            /// Whether this is one of the documented values (not [`Self::Other`]).
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }

            /// The documented values, as spelled on the wire, in declaration order: what a
            /// service that refuses unknown values lists in its message.
            pub const KNOWN: &'static [&'static str] = &[ $( $wire ),+ ];
        }

        impl $crate::models::WireEnum for $name {
            const KNOWN: &'static [&'static str] = $name::KNOWN;

            fn as_str(&self) -> &str {
                $name::as_str(self)
            }

            fn is_known(&self) -> bool {
                $name::is_known(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $wire => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $( $wire => Self::$variant, )+
                    _ => Self::Other(s),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(s))
            }
        }
    };
}

pub(crate) use wire_enum;

/// What every string enum of the wire format offers, so code can treat them alike: a service
/// that refuses unknown values (the emulator) checks any of them with one function.
///
/// Reading stays lenient: an unknown value deserializes into the enum's `Other` variant and
/// [`WireEnum::is_known`] says so; refusing it is the writer's decision.
///
/// ```
/// use dps_protocol::models::{ProvisioningStatus, WireEnum};
/// let status: ProvisioningStatus = "weird".into();
/// assert!(!WireEnum::is_known(&status));
/// assert_eq!(<ProvisioningStatus as WireEnum>::KNOWN, &["enabled", "disabled"]);
/// ```
pub trait WireEnum: From<String> {
    /// The documented values, as spelled on the wire.
    const KNOWN: &'static [&'static str];
    /// The exact string sent on the wire.
    fn as_str(&self) -> &str;
    /// Whether this is one of [`Self::KNOWN`] (not the `Other` catch-all).
    fn is_known(&self) -> bool;
}
