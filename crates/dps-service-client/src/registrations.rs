//! Device registration states.

use crate::client::{ConditionalOptions, ProvisioningServiceClient, id_path, if_match_header};
use crate::error::Result;
use crate::options::GetOptions;
use crate::query::{Page, QueryOptions, QueryStream};
use crate::retry::Idempotency;
use dps_protocol::models::DeviceRegistrationState;
use reqwest::Method;

impl ProvisioningServiceClient {
    /// Reads a device's registration state (`GET /registrations/{id}`).
    pub async fn get_registration_state(
        &self,
        registration_id: &str,
        options: Option<GetOptions>,
    ) -> Result<DeviceRegistrationState> {
        let _ = options;
        let path = id_path("registrations", registration_id, "")?;
        self.call(
            "DeviceRegistrationState_Get",
            Some(registration_id),
            Method::GET,
            path,
            None::<&()>,
            vec![],
        )
        .await
    }

    /// Deletes a registration state, so the device registers afresh next time
    /// (`DELETE /registrations/{id}`), conditionally with `If-Match`.
    pub async fn delete_registration_state(
        &self,
        registration_id: &str,
        options: Option<ConditionalOptions>,
    ) -> Result<()> {
        let path = id_path("registrations", registration_id, "")?;
        let if_match = options.and_then(|o| o.if_match);
        self.raw(
            "DeviceRegistrationState_Delete",
            Some(registration_id),
            Method::DELETE,
            path,
            None::<&()>,
            if_match_header(if_match.as_deref()),
            Idempotency::Idempotent,
        )
        .await
        .map(|_| ())
    }

    /// Every registration made through an enrollment group
    /// (`POST /registrations/{groupId}/query`, no body), following continuation tokens.
    pub fn query_registration_states(
        &self,
        enrollment_group_id: &str,
        options: Option<QueryOptions>,
    ) -> QueryStream<DeviceRegistrationState> {
        let client = self.clone();
        let group = enrollment_group_id.to_owned();
        crate::query::stream(options.unwrap_or_default(), move |token, options| {
            let client = client.clone();
            let group = group.clone();
            async move {
                client
                    .query_registration_states_page(&group, token.as_deref(), Some(options))
                    .await
            }
        })
    }

    /// One page of a group's registration states.
    pub async fn query_registration_states_page(
        &self,
        enrollment_group_id: &str,
        continuation: Option<&str>,
        options: Option<QueryOptions>,
    ) -> Result<Page<DeviceRegistrationState>> {
        let path = id_path("registrations", enrollment_group_id, "/query")?;
        self.query_page(
            "DeviceRegistrationState_Query",
            Some(enrollment_group_id),
            path,
            None::<&()>,
            continuation,
            &options.unwrap_or_default(),
        )
        .await
    }
}
