//! The DPS topics: what a device publishes to ask, and where the answer goes.
//!
//! - register: `$dps/registrations/PUT/iotdps-register/?$rid={rid}`
//! - poll: `$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}&operationId={id}`
//! - answer: `$dps/registrations/res/{status}/?$rid={rid}[&retry-after={seconds}]`, `$rid`
//!   first (the C# SDK matches the topic with a regular expression).
//!
//! The query's fields may come in any order; the `/` before `?` may be missing.

/// The one topic filter a device subscribes to.
pub(super) const RESPONSE_FILTER: &str = "$dps/registrations/res/#";

const REGISTER: &str = "$dps/registrations/PUT/iotdps-register";
const POLL: &str = "$dps/registrations/GET/iotdps-get-operationstatus";

/// The longest `$rid` echoed back.
const MAX_RID: usize = 128;

/// What a device asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Request {
    /// Register (or re-register).
    Register {
        /// The request id to echo.
        rid: String,
    },
    /// Poll an operation.
    Poll {
        /// The request id to echo.
        rid: String,
        /// The operation asked about; `None` when the topic has none.
        operation_id: Option<String>,
    },
}

impl Request {
    /// The request id to echo.
    pub(super) fn rid(&self) -> &str {
        match self {
            Request::Register { rid } | Request::Poll { rid, .. } => rid,
        }
    }

    /// `register` or `poll`, for the log.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Request::Register { .. } => "register",
            Request::Poll { .. } => "poll",
        }
    }
}

/// Why a publish is not a DPS request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum TopicError {
    /// Neither the register nor the poll topic.
    #[error(
        "{0:?} is not a DPS request topic ($dps/registrations/PUT/iotdps-register/?$rid=... \
         or $dps/registrations/GET/iotdps-get-operationstatus/?$rid=...&operationId=...)"
    )]
    Unknown(String),
    /// `$rid` is missing, empty, too long, or holds a character that cannot be echoed.
    #[error(
        "the request id ($rid) of {0:?} is missing or malformed: it must be 1 to {MAX_RID} \
         printable characters without `$`, `#`, `+` or `/`"
    )]
    BadRid(String),
}

/// Reads a request topic.
pub(super) fn parse(topic: &str) -> Result<Request, TopicError> {
    let (path, query) = topic.split_once('?').unwrap_or((topic, ""));
    let path = path.strip_suffix('/').unwrap_or(path);
    let field = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    };
    let is_register = path == REGISTER;
    if !is_register && path != POLL {
        return Err(TopicError::Unknown(topic.to_owned()));
    }
    let rid = field("$rid")
        .filter(|r| valid_rid(r))
        .ok_or_else(|| TopicError::BadRid(topic.to_owned()))?;
    Ok(if is_register {
        Request::Register { rid }
    } else {
        Request::Poll {
            rid,
            operation_id: field("operationId").filter(|o| !o.is_empty()),
        }
    })
}

fn valid_rid(rid: &str) -> bool {
    (1..=MAX_RID).contains(&rid.len())
        && rid
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'$' | b'#' | b'+' | b'/'))
}

/// The topic an answer is published on.
pub(super) fn response(status: u16, rid: &str, retry_after: Option<u64>) -> String {
    match retry_after {
        Some(secs) => format!("$dps/registrations/res/{status}/?$rid={rid}&retry-after={secs}"),
        None => format!("$dps/registrations/res/{status}/?$rid={rid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_sdk_spelling() {
        assert_eq!(
            parse("$dps/registrations/PUT/iotdps-register/?$rid=8a7e-1"),
            Ok(Request::Register {
                rid: "8a7e-1".into()
            })
        );
        assert_eq!(
            parse("$dps/registrations/PUT/iotdps-register?$rid=1"),
            Ok(Request::Register { rid: "1".into() })
        );
        assert_eq!(
            parse(
                "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId=4.abc.def"
            ),
            Ok(Request::Poll {
                rid: "2".into(),
                operation_id: Some("4.abc.def".into())
            })
        );
        assert_eq!(
            parse("$dps/registrations/GET/iotdps-get-operationstatus/?operationId=o&$rid=3"),
            Ok(Request::Poll {
                rid: "3".into(),
                operation_id: Some("o".into())
            })
        );
    }

    #[test]
    fn refuses_unknown_topics_and_bad_request_ids() {
        assert!(matches!(
            parse("devices/x/messages/events/"),
            Err(TopicError::Unknown(_))
        ));
        for bad in ["", "?$rid=", "?$rid=a$b", "?rid=1", "?$rid=a/b"] {
            let topic = format!("$dps/registrations/PUT/iotdps-register/{bad}");
            assert!(
                matches!(parse(&topic), Err(TopicError::BadRid(_))),
                "{topic}"
            );
        }
        let long = format!(
            "$dps/registrations/PUT/iotdps-register/?$rid={}",
            "9".repeat(129)
        );
        assert!(matches!(parse(&long), Err(TopicError::BadRid(_))));
    }

    #[test]
    fn answers_put_the_request_id_first() {
        assert_eq!(
            response(202, "r1", Some(3)),
            "$dps/registrations/res/202/?$rid=r1&retry-after=3"
        );
        assert_eq!(
            response(200, "r1", None),
            "$dps/registrations/res/200/?$rid=r1"
        );
    }
}
