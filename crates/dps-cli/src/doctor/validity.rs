//! The validity window of a certificate (device, intermediate, root or group certificate):
//! not yet valid, expired, or expiring soon.

use super::cert::{Cert, rfc3339};
use super::checks::Out;
use time::OffsetDateTime;

/// Certificates expiring sooner than this get a warning.
const EXPIRY_WARNING_DAYS: i64 = 7;

pub(super) fn validity(out: &mut Out, c: &Cert, role: &str, now: OffsetDateTime) {
    let renew = if c.is_ca {
        "re-create the CA (dps-cli certs create-root-and-intermediate --force), enroll it again and \
         re-issue its devices"
            .to_owned()
    } else {
        format!(
            "re-issue it: dps-cli certs create-device-certificate-from-intermediate {}",
            c.common_name.as_deref().unwrap_or("<name>")
        )
    };
    if now < c.not_before {
        out.fail(
            "validity",
            format!(
                "the {role} {} is not valid before {} (401002 until then)",
                c.subject,
                rfc3339(c.not_before)
            ),
            format!(
                "wait until then, or check the clock of the machine that issued it; or {renew}"
            ),
        );
    } else if now > c.not_after {
        out.fail(
            "validity",
            format!(
                "the {role} {} expired on {} (401002)",
                c.subject,
                rfc3339(c.not_after)
            ),
            renew,
        );
    } else {
        let left = (c.not_after - now).whole_days();
        if left < EXPIRY_WARNING_DAYS {
            out.warn(
                "validity",
                format!(
                    "the {role} {} expires on {}, in {left} day(s)",
                    c.subject,
                    rfc3339(c.not_after)
                ),
                Some(format!("renew it before then: {renew}")),
            );
        } else {
            out.ok(
                "validity",
                format!(
                    "the {role} {} is valid until {} ({left} days)",
                    c.subject,
                    rfc3339(c.not_after)
                ),
            );
        }
    }
}
