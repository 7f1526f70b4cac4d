//! The row type of the bad-input table and its markdown rendering: what is sent is described
//! once, as it is shown, so `docs/bad-input.md` cannot drift from what the test sends.

use dps_protocol::codes::ErrorCode;

/// A value as the table shows it and as the test sends it (they differ only for values too
/// long to print, or made at run time, such as a certificate).
#[derive(Debug, Clone)]
pub(crate) struct Text {
    /// What the table shows.
    pub(crate) shown: String,
    /// What is sent.
    pub(crate) sent: Sent,
}

/// What a [`Text`] sends.
#[derive(Debug, Clone)]
pub(crate) enum Sent {
    /// These bytes.
    Bytes(Vec<u8>),
    /// A JSON body with `{cert}` replaced by the run's CA certificate (base64 DER) followed by
    /// `junk`, base64 as a whole: a certificate with trailing bytes after its DER.
    CertWithTrailingBytes { template: String, junk: Vec<u8> },
}

impl Text {
    /// Shown as sent.
    pub(crate) fn lit(s: &str) -> Self {
        Self {
            shown: s.to_owned(),
            sent: Sent::Bytes(s.as_bytes().to_vec()),
        }
    }

    /// Sent as `sent`, shown as `shown`.
    pub(crate) fn long(shown: &str, sent: impl Into<Vec<u8>>) -> Self {
        Self {
            shown: shown.to_owned(),
            sent: Sent::Bytes(sent.into()),
        }
    }

    /// No body.
    pub(crate) fn none() -> Self {
        Self::long("", Vec::new())
    }

    /// Whether nothing is sent.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(&self.sent, Sent::Bytes(b) if b.is_empty())
    }
}

/// The `Authorization` a row sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// None at all, on a service path.
    None,
    /// None, as a device request carries none (shown as nothing).
    Anonymous,
    /// A valid SAS of the owner policy for the emulator's host.
    Owner,
    /// The owner's SAS with the signature of another key.
    WrongKey,
    /// The owner's SAS, expired an hour ago.
    Expired,
    /// The owner's SAS for another host (`sr=evil.example.com`).
    OtherAudience,
    /// Not a SAS: `SharedAccessSignature garbage`.
    Garbage,
    /// A `Bearer` token (AAD), which the emulator does not take.
    Bearer,
    /// The read-only policy's SAS on a write.
    ReadOnly,
    /// A device SAS for the registration signed with a key no enrollment has.
    DeviceWrongKey,
}

impl Auth {
    /// The table's words.
    fn shown(self) -> &'static str {
        match self {
            Auth::None => "no `Authorization`",
            Auth::Anonymous => "",
            Auth::Owner => "",
            Auth::WrongKey => "SAS signed with another key",
            Auth::Expired => "SAS expired an hour ago",
            Auth::OtherAudience => "SAS for `sr=evil.example.com`",
            Auth::Garbage => "`Authorization: SharedAccessSignature garbage`",
            Auth::Bearer => "`Authorization: Bearer eyJ0eXAi…`",
            Auth::ReadOnly => "SAS of the read-only policy",
            Auth::DeviceWrongKey => "device SAS signed with an unknown key",
        }
    }
}

/// The TLS client certificate a row presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientCert {
    /// None.
    None,
    /// A self-signed device certificate whose CN is this many `a`s (the registration id).
    CommonNameOf(usize),
}

/// How a row travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// reqwest, HTTP/1.1 (it adds `Content-Length` to every body).
    Reqwest,
    /// Hand-written HTTP/1.1 over TLS, exactly the row's headers (for framing errors).
    RawHttp1,
}

/// The error body a row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The DPS body `{errorCode, trackingId, message, timestampUtc}` with this code.
    Dps(ErrorCode),
    /// ARM's `{"error": {"code", "message"}}` (the certificate API) with this code.
    Arm(&'static str),
}

/// One row of the table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The class of input.
    pub(crate) class: &'static str,
    /// A short, printable example of it.
    pub(crate) example: &'static str,
    /// HTTP method.
    pub(crate) method: &'static str,
    /// Path and query.
    pub(crate) path: Text,
    /// Headers besides the defaults (see [`HEADER_NOTE`]).
    pub(crate) headers: Vec<(&'static str, &'static str)>,
    /// `Authorization`.
    pub(crate) auth: Auth,
    /// TLS client certificate.
    pub(crate) cert: ClientCert,
    /// Body.
    pub(crate) body: Text,
    /// Transport.
    pub(crate) via: Via,
    /// Expected HTTP status.
    pub(crate) status: u16,
    /// Expected error body.
    pub(crate) expect: Expect,
    /// Words the error message must contain, where the code alone does not tell this refusal
    /// from another (not shown in the table).
    pub(crate) says: Option<&'static str>,
}

/// A row sent by reqwest with the owner's SAS, no extra header and no body; the builder
/// methods below change what differs.
pub(crate) fn row(
    class: &'static str,
    example: &'static str,
    method: &'static str,
    path: &str,
) -> Row {
    Row {
        class,
        example,
        method,
        path: Text::lit(path),
        headers: Vec::new(),
        auth: Auth::Owner,
        cert: ClientCert::None,
        body: Text::none(),
        via: Via::Reqwest,
        status: 0,
        expect: Expect::Arm(""),
        says: None,
    }
}

impl Row {
    /// The body, shown as sent.
    pub(crate) fn body(mut self, body: &str) -> Self {
        self.body = Text::lit(body);
        self
    }
    /// A body too long (or too odd) to show as sent.
    pub(crate) fn body_text(mut self, body: Text) -> Self {
        self.body = body;
        self
    }
    /// A path too long to show as sent.
    pub(crate) fn path_text(mut self, path: Text) -> Self {
        self.path = path;
        self
    }
    /// One more header.
    pub(crate) fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
    /// `Authorization`.
    pub(crate) fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }
    /// TLS client certificate.
    pub(crate) fn cert(mut self, cert: ClientCert) -> Self {
        self.cert = cert;
        self
    }
    /// Sent by hand over TLS, with exactly the row's headers.
    pub(crate) fn raw(mut self) -> Self {
        self.via = Via::RawHttp1;
        self
    }
    /// Expects the DPS body with `code`, whose status it encodes.
    pub(crate) fn dps(mut self, code: ErrorCode) -> Self {
        self.status = code.status();
        self.expect = Expect::Dps(code);
        self
    }
    /// Expects ARM's body with `code` and `status`.
    pub(crate) fn arm(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.expect = Expect::Arm(code);
        self
    }
    /// Words the error message must contain.
    pub(crate) fn says(mut self, words: &'static str) -> Self {
        self.says = Some(words);
        self
    }
    /// Whether the row sends a body and names no `Content-Type`: the sender adds JSON's.
    pub(crate) fn default_content_type(&self) -> bool {
        !self.body.is_empty()
            && !self
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            && self.via == Via::Reqwest
    }
}

/// What every row carries unless its Headers cell says otherwise.
pub(crate) const HEADER_NOTE: &str = "Unless the Headers cell says otherwise, a request \
carries `Authorization` with a valid SAS of the owner policy (service and certificate APIs; \
device requests carry none), `Content-Type: application/json` when it has a body, and \
`Content-Length`; it is sent by reqwest over HTTPS/1.1. Rows marked *raw* are written by \
hand over TLS with exactly the headers shown, plus `Host`, the SAS and, when there is a body, \
its `Content-Length`.";

/// A table cell: code spans for what is sent, `|` escaped.
fn code(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let s = s.replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// The markdown document: a preamble and one table per section.
pub(crate) fn render(sections: &[(&str, &str, Vec<Row>)]) -> String {
    let mut out = String::from(
        "# What the emulator refuses: the bad-input table\n\n\
         <!-- Generated by crates/dps-emulator/tests/bad_input.rs; do not edit. Regenerate with\n     \
         UPDATE_BAD_INPUT=1 cargo test -p dps-emulator --test bad_input -->\n\n\
         Every row is sent to a running emulator by `cargo test -p dps-emulator --test bad_input`,\n\
         which checks the status and that the body is the error body shown (the DPS body\n\
         `{\"errorCode\", \"trackingId\", \"message\", \"timestampUtc\"}`, or ARM's\n\
         `{\"error\": {\"code\", \"message\"}}` on the certificate API), so this page is what the emulator\n\
         promises for hostile input. Nothing a refused request sends is stored.\n\n",
    );
    out.push_str(HEADER_NOTE);
    out.push_str("\n\n");
    for (title, intro, rows) in sections {
        out.push_str(&format!("## {title}\n\n"));
        if !intro.is_empty() {
            out.push_str(intro);
            out.push_str("\n\n");
        }
        if rows.is_empty() {
            out.push_str("(no rows yet)\n\n");
            continue;
        }
        out.push_str(
            "| Input class | Example | Request | Headers | Body | Status | errorCode |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for r in rows {
            let mut headers: Vec<String> = Vec::new();
            if r.via == Via::RawHttp1 {
                headers.push("*raw*".into());
            }
            if !r.auth.shown().is_empty() {
                headers.push(r.auth.shown().to_owned());
            }
            if let ClientCert::CommonNameOf(n) = r.cert {
                headers.push(format!("TLS client certificate, CN of {n} characters"));
            }
            headers.extend(r.headers.iter().map(|(n, v)| code(&format!("{n}: {v}"))));
            let expect = match r.expect {
                Expect::Dps(c) => format!("{c}"),
                Expect::Arm(c) => format!("ARM `{c}`"),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.class,
                r.example,
                code(&format!("{} {}", r.method, r.path.shown)),
                headers.join("; "),
                code(&r.body.shown),
                r.status,
                expect,
            ));
        }
        out.push('\n');
    }
    out
}
