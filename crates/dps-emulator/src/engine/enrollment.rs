//! The enrollment a device belongs to, read into the typed models once, so decisions
//! (status, attestation, allocation, reprovisioning, capabilities) never look into raw JSON.
//! The raw document is kept beside them because the custom-allocation webhook receives the
//! enrollment as the service stored it.

use crate::error::{ApiError, ApiResult};
use crate::records;
use dps_protocol::models::{
    AllocationPolicy, AttestationMechanism, CustomAllocationDefinition, EnrollmentGroup,
    IndividualEnrollment, ProvisioningStatus, ReprovisionPolicy,
};
use serde_json::Value;

/// An individual enrollment or an enrollment group, typed, with its stored document. Its
/// `Debug` names the enrollment only: the documents hold symmetric keys.
#[derive(Clone)]
pub(crate) enum Enrollment {
    /// An individual enrollment.
    Individual {
        /// The typed record.
        record: Box<IndividualEnrollment>,
        /// The stored document, as clients see it.
        raw: Value,
    },
    /// An enrollment group.
    Group {
        /// The typed record.
        record: Box<EnrollmentGroup>,
        /// The stored document, as clients see it.
        raw: Value,
    },
}

/// The allocation settings shared by both kinds of enrollment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Allocation<'a> {
    /// A fixed hub (`iotHubHostName`, deprecated but honoured).
    pub(crate) iot_hub_host_name: Option<&'a str>,
    /// The hubs to choose among; empty = every linked hub.
    pub(crate) iot_hubs: &'a [String],
    /// The policy; `None` = hashed.
    pub(crate) policy: Option<&'a AllocationPolicy>,
    /// The webhook for `custom`.
    pub(crate) custom: Option<&'a CustomAllocationDefinition>,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Individual { record, .. } => f
                .debug_struct("Individual")
                .field("registration_id", &record.registration_id)
                .finish_non_exhaustive(),
            Self::Group { record, .. } => f
                .debug_struct("Group")
                .field("enrollment_group_id", &record.enrollment_group_id)
                .finish_non_exhaustive(),
        }
    }
}

fn typed<T: serde::de::DeserializeOwned>(raw: &Value, what: &str) -> ApiResult<T> {
    serde_json::from_value(raw.clone()).map_err(|e| {
        ApiError::new(
            crate::error::codes::INTERNAL,
            format!("the stored {what} does not match the service's model: {e}"),
        )
    })
}

impl Enrollment {
    /// Reads a stored individual enrollment.
    pub(crate) fn individual(raw: &Value) -> ApiResult<Self> {
        Ok(Self::Individual {
            record: Box::new(typed(raw, "individual enrollment")?),
            raw: records::present(raw),
        })
    }

    /// Reads a stored enrollment group.
    pub(crate) fn group(raw: &Value) -> ApiResult<Self> {
        Ok(Self::from_group(typed(raw, "enrollment group")?, raw))
    }

    /// An enrollment group already read into its model, with its stored document.
    pub(crate) fn from_group(record: EnrollmentGroup, raw: &Value) -> Self {
        Self::Group {
            record: Box::new(record),
            raw: records::present(raw),
        }
    }

    /// The group's id, for group members.
    pub(crate) fn group_id(&self) -> Option<&str> {
        match self {
            Self::Individual { .. } => None,
            Self::Group { record, .. } => Some(&record.enrollment_group_id),
        }
    }

    /// How members of this enrollment attest.
    pub(crate) fn attestation(&self) -> &AttestationMechanism {
        match self {
            Self::Individual { record, .. } => &record.attestation,
            Self::Group { record, .. } => &record.attestation,
        }
    }

    /// The enrolled device id of an individual enrollment.
    pub(crate) fn device_id(&self) -> Option<&str> {
        match self {
            Self::Individual { record, .. } => record.device_id.as_deref(),
            Self::Group { .. } => None,
        }
    }

    /// Whether the enrollment lets devices provision (absent = enabled, as the service does).
    pub(crate) fn disabled(&self) -> bool {
        let status = match self {
            Self::Individual { record, .. } => record.provisioning_status.as_ref(),
            Self::Group { record, .. } => record.provisioning_status.as_ref(),
        };
        status == Some(&ProvisioningStatus::Disabled)
    }

    /// The reprovisioning policy; absent = the service default (both flags true).
    pub(crate) fn reprovision_policy(&self) -> ReprovisionPolicy {
        match self {
            Self::Individual { record, .. } => record.reprovision_policy.clone(),
            Self::Group { record, .. } => record.reprovision_policy.clone(),
        }
        .unwrap_or_default()
    }

    /// How the hub is chosen.
    pub(crate) fn allocation(&self) -> Allocation<'_> {
        let empty: &[String] = &[];
        match self {
            Self::Individual { record, .. } => Allocation {
                iot_hub_host_name: record.iot_hub_host_name.as_deref(),
                iot_hubs: record.iot_hubs.as_deref().unwrap_or(empty),
                policy: record.allocation_policy.as_ref(),
                custom: record.custom_allocation_definition.as_ref(),
            },
            Self::Group { record, .. } => Allocation {
                iot_hub_host_name: record.iot_hub_host_name.as_deref(),
                iot_hubs: record.iot_hubs.as_deref().unwrap_or(empty),
                policy: record.allocation_policy.as_ref(),
                custom: record.custom_allocation_definition.as_ref(),
            },
        }
    }

    /// The document the custom-allocation webhook receives, under its key
    /// (`individualEnrollment` or `enrollmentGroup`).
    pub(crate) fn webhook_document(&self) -> (&'static str, &Value) {
        match self {
            Self::Individual { raw, .. } => ("individualEnrollment", raw),
            Self::Group { raw, .. } => ("enrollmentGroup", raw),
        }
    }
}
