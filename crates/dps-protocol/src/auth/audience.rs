//! The audience check of SAS verification: does a token's `sr` cover the request target?

/// Whether `audience` starts with `resource` (the rules are on
/// [`SasToken::verify`](super::SasToken::verify)).
pub(crate) fn covers(resource: &str, audience: &str) -> bool {
    let resource = strip_scheme(resource.trim()).trim_matches('/');
    let audience = strip_scheme(audience.trim()).trim_start_matches('/');
    !resource.is_empty()
        && (prefix_on_boundary(resource, audience)
            || without_port(audience).is_some_and(|a| prefix_on_boundary(resource, &a)))
}

fn strip_scheme(s: &str) -> &str {
    ["https://", "http://"]
        .iter()
        .find_map(|scheme| {
            s.get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &s[scheme.len()..])
        })
        .unwrap_or(s)
}

fn prefix_on_boundary(prefix: &str, s: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        && matches!(s.as_bytes().get(prefix.len()), None | Some(b'/' | b'?'))
}

/// `host:port/path` → `host/path`; `None` when the first segment has no port.
fn without_port(audience: &str) -> Option<String> {
    let end = audience.find(['/', '?']).unwrap_or(audience.len());
    let (authority, rest) = audience.split_at(end);
    let (host, port) = authority.rsplit_once(':')?;
    let plain_host = !host.contains(':') || (host.starts_with('[') && host.ends_with(']'));
    let numeric = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    (plain_host && numeric && !host.is_empty()).then(|| format!("{host}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_rules() {
        assert!(covers(
            "mydps.azure-devices-provisioning.net",
            "MyDps.Azure-Devices-Provisioning.net/enrollments/a"
        ));
        assert!(covers("https://localhost:8443/", "localhost:8443"));
        assert!(covers(
            "0ne1/registrations/dev",
            "/0ne1/registrations/dev/register?api-version=2021-10-01"
        ));
        assert!(!covers(
            "0ne1/registrations/dev",
            "0ne1/registrations/dev2/register"
        ));
        assert!(!covers("localhost:8443", "localhost:9443/x"));
        assert!(!covers("localhost:8443", "localhost/x"));
        assert!(!covers("", "localhost/x"));
        assert!(!covers("/", "localhost/x"));
        assert!(covers("[::1]", "[::1]:8443/x"));
        assert_eq!(without_port("host:8443/a/b"), Some("host/a/b".to_owned()));
        assert_eq!(without_port("host/a:1"), None);
    }
}
