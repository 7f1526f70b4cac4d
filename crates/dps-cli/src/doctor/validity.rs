//! The validity window of each certificate the device sends: the verdict is
//! [`dps_chain::check_validity`]'s; an expiry within a week is doctor's own warning.

use super::checks::Out;
use super::render::{FixContext, renew};
use dps_chain::{Cert, Role, check_validity, rfc3339};
use time::OffsetDateTime;

/// Certificates expiring sooner than this get a warning.
const EXPIRY_WARNING_DAYS: i64 = 7;

pub(super) fn validity(
    out: &mut Out,
    c: &Cert,
    role: Role,
    now: OffsetDateTime,
    ctx: &FixContext<'_>,
) {
    if let Err(e) = check_validity(c, role, now) {
        out.refusal(&e, ctx);
        return;
    }
    // A root the device sends is, to the rule, one more certificate after the leaf; say root.
    let label = match role {
        Role::Intermediate(_) if c.is_root() => "root certificate".to_owned(),
        _ => role.to_string(),
    };
    let left = (c.not_after() - now).whole_days();
    if left < EXPIRY_WARNING_DAYS {
        out.warn(
            "validity",
            format!(
                "the {label} {} expires on {}, in {left} day(s)",
                c.subject(),
                rfc3339(c.not_after())
            ),
            Some(format!(
                "renew it before then: {}",
                renew(role, Some(c), c.subject(), ctx)
            )),
        );
    } else {
        out.ok(
            "validity",
            format!(
                "the {label} {} is valid until {} ({left} days)",
                c.subject(),
                rfc3339(c.not_after())
            ),
        );
    }
}
