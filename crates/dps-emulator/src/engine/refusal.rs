//! [`Refusal`]: why the engine did not authenticate a device, typed, and how every transport
//! renders it (DPS answers 401002 for every authentication failure, 404001 for an unknown ID
//! scope). A malformed registration id is refused before authentication, by
//! `records::check_id` (400004).

use crate::error::{ApiError, codes};
use dps_chain::ChainError;
use dps_protocol::auth::SasError;

/// Why a device was not authenticated.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Refusal {
    /// The ID scope is not this emulator's.
    #[error("unknown ID scope {scope:?}; this emulator serves {served:?}")]
    UnknownScope {
        /// What the device sent.
        scope: String,
        /// The emulator's.
        served: String,
    },
    /// Neither a certificate nor a SAS token.
    #[error(
        "{registration_id:?} presented no client certificate and no SharedAccessSignature; an X.509 device must \
         send its certificate chain in the TLS handshake"
    )]
    NoCredential {
        /// The registration id.
        registration_id: String,
    },
    /// The X.509 chain rule refused the device.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The SAS token is malformed.
    #[error("invalid SharedAccessSignature: {0}")]
    SasMalformed(#[source] SasError),
    /// The SAS token names another policy than `registration` (`skn` may be absent).
    #[error("a device SharedAccessSignature's skn, when present, must be `registration`")]
    SasPolicy,
    /// The individual enrollment uses another attestation than the device.
    #[error(
        "the individual enrollment {registration_id:?} uses {enrolled} attestation, not {presented}"
    )]
    AttestationMismatch {
        /// The registration id.
        registration_id: String,
        /// The enrollment's attestation type.
        enrolled: String,
        /// What the device presented.
        presented: &'static str,
    },
    /// The SAS does not verify with the individual enrollment's keys.
    #[error(
        "the SharedAccessSignature does not match the enrollment {registration_id:?}: {source}"
    )]
    SasIndividual {
        /// The registration id.
        registration_id: String,
        /// Why.
        #[source]
        source: SasError,
    },
    /// The SAS matches no symmetric-key group's derived key.
    #[error(
        "the SharedAccessSignature of {registration_id:?} matches no individual enrollment and no symmetric-key \
         group's derived key ({source})"
    )]
    SasGroups {
        /// The registration id.
        registration_id: String,
        /// The last verification failure.
        #[source]
        source: SasError,
    },
    /// No enrollment could hold a symmetric-key device.
    #[error(
        "no individual enrollment {registration_id:?} and no symmetric-key enrollment group exist"
    )]
    NoSymmetricEnrollment {
        /// The registration id.
        registration_id: String,
    },
}

impl Refusal {
    /// Logs the refusal at info level with its reason, so whoever runs the emulator sees why a
    /// device was turned away. The reason is this type's `Display`, which names ids,
    /// certificates and times but never a key, a signature or a token. The engine calls it
    /// where it records the refusal in the activity log.
    pub(crate) fn log(&self, registration_id: &str) {
        tracing::info!(
            registration_id,
            code = %self.code(),
            reason = %self,
            "device refused"
        );
    }

    /// The DPS error code of this refusal.
    pub(crate) fn code(&self) -> dps_protocol::codes::ErrorCode {
        match self {
            Refusal::UnknownScope { .. } => codes::NOT_FOUND,
            _ => codes::UNAUTHORIZED,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(r.code(), r.to_string())
    }
}
