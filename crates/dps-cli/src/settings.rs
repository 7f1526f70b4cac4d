//! The settings enrollment groups and individual enrollments share (provisioning status, IoT
//! hubs, allocation, webhook, initial twin, IoT Edge, reprovisioning) as command-line flags,
//! applied to either record through [`Fields`].

use anyhow::Context;
use dps_protocol::models::{
    AllocationPolicy, CustomAllocationDefinition, DeviceCapabilities, EnrollmentGroup,
    IndividualEnrollment, InitialTwin, ProvisioningStatus, ReprovisionPolicy,
};
use std::path::PathBuf;

/// The api-version sent to an allocation webhook when `--webhook-api-version` is not given.
pub const DEFAULT_WEBHOOK_API_VERSION: &str = "2021-10-01";

/// `--provisioning-status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Status {
    /// Devices may provision.
    Enabled,
    /// Devices are refused (registration status `disabled`).
    Disabled,
}

/// `--allocation-policy`, spelled as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Allocation {
    /// Spread devices evenly over the hubs.
    Hashed,
    /// The hub with the lowest latency to the device.
    #[value(name = "geoLatency", alias = "geo-latency")]
    GeoLatency,
    /// The hub given with --iot-hub (one hub).
    Static,
    /// A webhook (--webhook-url) chooses.
    Custom,
}

/// `--reprovision`: what happens when a provisioned device registers again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reprovision {
    /// Re-evaluate the hub and migrate the device's data (the service default).
    UpdateAndMigrate,
    /// Re-evaluate the hub and reset the device's twin to the initial twin.
    UpdateAndReset,
    /// Keep the device on its current hub.
    Never,
}

/// The settings flags of `create` and `update` (enrollment groups and enrollments alike).
/// On update, each flag given replaces that setting and the others are kept.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingsArgs {
    /// Whether devices may provision [create default: enabled].
    #[arg(long, value_enum, value_name = "STATUS")]
    pub provisioning_status: Option<Status>,
    /// Host name of an IoT hub devices may be assigned to (repeatable; replaces the list).
    #[arg(long = "iot-hub", value_name = "HOST")]
    pub iot_hubs: Vec<String>,
    /// How the hub is chosen among the --iot-hub hubs [service default: hashed].
    #[arg(long, value_enum, value_name = "POLICY")]
    pub allocation_policy: Option<Allocation>,
    /// Allocation webhook URL (sets --allocation-policy custom unless another is given).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// API version of the requests sent to the webhook [default: 2021-10-01].
    #[arg(long, value_name = "VERSION", requires = "webhook_url")]
    pub webhook_api_version: Option<String>,
    /// The initial device twin, a JSON file: {"tags":{...},"properties":{"desired":{...}}}.
    #[arg(long, value_name = "FILE.json")]
    pub initial_twin: Option<PathBuf>,
    /// IoT Edge devices (`--edge` or `--edge true`; `--edge false` to turn it off).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub edge: Option<bool>,
    /// On re-registration: update-and-migrate (default), update-and-reset or never.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub reprovision: Option<Reprovision>,
}

/// Mutable views of the settings of an [`EnrollmentGroup`] or an [`IndividualEnrollment`].
pub struct Fields<'a> {
    /// `provisioningStatus`.
    pub provisioning_status: &'a mut Option<ProvisioningStatus>,
    /// `iotHubs`.
    pub iot_hubs: &'a mut Option<Vec<String>>,
    /// `allocationPolicy`.
    pub allocation_policy: &'a mut Option<AllocationPolicy>,
    /// `customAllocationDefinition`.
    pub custom_allocation_definition: &'a mut Option<CustomAllocationDefinition>,
    /// `initialTwin`.
    pub initial_twin: &'a mut Option<InitialTwin>,
    /// `capabilities`.
    pub capabilities: &'a mut Option<DeviceCapabilities>,
    /// `reprovisionPolicy`.
    pub reprovision_policy: &'a mut Option<ReprovisionPolicy>,
}

macro_rules! fields_of {
    ($t:ty) => {
        impl<'a> From<&'a mut $t> for Fields<'a> {
            fn from(r: &'a mut $t) -> Self {
                Fields {
                    provisioning_status: &mut r.provisioning_status,
                    iot_hubs: &mut r.iot_hubs,
                    allocation_policy: &mut r.allocation_policy,
                    custom_allocation_definition: &mut r.custom_allocation_definition,
                    initial_twin: &mut r.initial_twin,
                    capabilities: &mut r.capabilities,
                    reprovision_policy: &mut r.reprovision_policy,
                }
            }
        }
    };
}
fields_of!(EnrollmentGroup);
fields_of!(IndividualEnrollment);

impl SettingsArgs {
    /// Sets every setting given on the command line; `creating` also sets the defaults
    /// (provisioning status enabled).
    pub fn apply(&self, f: Fields<'_>, creating: bool) -> anyhow::Result<()> {
        match self.provisioning_status {
            Some(Status::Enabled) => *f.provisioning_status = Some(ProvisioningStatus::Enabled),
            Some(Status::Disabled) => *f.provisioning_status = Some(ProvisioningStatus::Disabled),
            None if creating => *f.provisioning_status = Some(ProvisioningStatus::Enabled),
            None => {}
        }
        if !self.iot_hubs.is_empty() {
            *f.iot_hubs = Some(self.iot_hubs.clone());
        }
        if let Some(p) = self.allocation_policy {
            *f.allocation_policy = Some(match p {
                Allocation::Hashed => AllocationPolicy::Hashed,
                Allocation::GeoLatency => AllocationPolicy::GeoLatency,
                Allocation::Static => AllocationPolicy::Static,
                Allocation::Custom => AllocationPolicy::Custom,
            });
        }
        if let Some(url) = &self.webhook_url {
            let version = self
                .webhook_api_version
                .clone()
                .unwrap_or_else(|| DEFAULT_WEBHOOK_API_VERSION.to_owned());
            *f.custom_allocation_definition = Some(CustomAllocationDefinition::new(url, version));
            if self.allocation_policy.is_none() {
                *f.allocation_policy = Some(AllocationPolicy::Custom);
            }
        }
        if let Some(path) = &self.initial_twin {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --initial-twin {}", path.display()))?;
            let twin: InitialTwin = serde_json::from_str(&text).with_context(|| {
                format!(
                    "--initial-twin {}: expected a JSON object like \
                     {{\"tags\":{{}},\"properties\":{{\"desired\":{{}}}}}}",
                    path.display()
                )
            })?;
            *f.initial_twin = Some(twin);
        }
        if let Some(edge) = self.edge {
            f.capabilities.get_or_insert_with(Default::default).iot_edge = edge;
        }
        if let Some(r) = self.reprovision {
            let (update, migrate) = match r {
                Reprovision::UpdateAndMigrate => (true, true),
                Reprovision::UpdateAndReset => (true, false),
                Reprovision::Never => (false, false),
            };
            let policy = f.reprovision_policy.get_or_insert_with(Default::default);
            policy.update_hub_assignment = update;
            policy.migrate_device_data = migrate;
        }
        Ok(())
    }
}

/// The settings of a record as `name  value` lines for `show`.
pub fn describe(
    status: Option<&ProvisioningStatus>,
    hubs: Option<&Vec<String>>,
    allocation: Option<&AllocationPolicy>,
    webhook: Option<&CustomAllocationDefinition>,
    twin: Option<&InitialTwin>,
    capabilities: Option<&DeviceCapabilities>,
    reprovision: Option<&ReprovisionPolicy>,
) -> Vec<(&'static str, String)> {
    let mut out = vec![
        (
            "provisioning",
            status.map_or_else(|| "enabled (default)".to_owned(), ToString::to_string),
        ),
        ("iot hubs", hubs_text(hubs)),
        (
            "allocation",
            allocation.map_or_else(|| "hashed (default)".to_owned(), ToString::to_string),
        ),
        (
            "iot edge",
            if capabilities.is_some_and(|c| c.iot_edge) {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
        ),
        ("reprovision", reprovision_text(reprovision).to_owned()),
    ];
    if let Some(w) = webhook {
        out.push((
            "webhook",
            format!("{} (api-version {})", w.webhook_url, w.api_version),
        ));
    }
    if let Some(t) = twin {
        out.push(("initial twin", serde_json::to_string(t).unwrap_or_default()));
    }
    out
}

/// The settings [`describe`] shows, with the service's defaults filled in: what the record
/// does whether or not the service echoed each field. `--output json` adds it to enrollment
/// groups and enrollments as `effectiveSettings` (JSON.md).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveSettings {
    /// `enabled` (the default) or `disabled`.
    pub provisioning_status: String,
    /// The hubs devices may be assigned to; empty with `allLinkedHubs`.
    pub iot_hubs: Vec<String>,
    /// No `iotHubs`: every hub linked to the DPS.
    pub all_linked_hubs: bool,
    /// `hashed` (the default), `geoLatency`, `static` or `custom`.
    pub allocation_policy: String,
    /// IoT Edge devices.
    pub iot_edge: bool,
    /// `update-and-migrate` (the default), `update-and-reset` or `never`, as the table says.
    pub reprovision: &'static str,
    /// The same, as the service's object.
    pub reprovision_policy: ReprovisionPolicy,
}

impl EffectiveSettings {
    /// The effective settings of a record's fields.
    pub fn of(
        status: Option<&ProvisioningStatus>,
        hubs: Option<&Vec<String>>,
        allocation: Option<&AllocationPolicy>,
        capabilities: Option<&DeviceCapabilities>,
        reprovision: Option<&ReprovisionPolicy>,
    ) -> Self {
        let iot_hubs = hubs.cloned().unwrap_or_default();
        Self {
            provisioning_status: status.unwrap_or(&ProvisioningStatus::Enabled).to_string(),
            all_linked_hubs: iot_hubs.is_empty(),
            iot_hubs,
            allocation_policy: allocation.unwrap_or(&AllocationPolicy::Hashed).to_string(),
            iot_edge: capabilities.is_some_and(|c| c.iot_edge),
            reprovision: reprovision_text(reprovision),
            reprovision_policy: reprovision.cloned().unwrap_or_default(),
        }
    }
}

/// `a, b` or `(all linked hubs)`.
pub fn hubs_text(hubs: Option<&Vec<String>>) -> String {
    match hubs {
        Some(h) if !h.is_empty() => h.join(", "),
        _ => "(all linked hubs)".to_owned(),
    }
}

fn reprovision_text(r: Option<&ReprovisionPolicy>) -> &'static str {
    match r.map(|r| (r.update_hub_assignment, r.migrate_device_data)) {
        None | Some((true, true)) => "update-and-migrate",
        Some((true, false)) => "update-and-reset",
        Some((false, _)) => "never",
    }
}
