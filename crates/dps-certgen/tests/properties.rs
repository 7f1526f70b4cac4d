//! Property tests of certificate input: `certs_from_bytes` (a file's bytes: PEM bundle or
//! DER), `cert_from_field` (a JSON field: PEM or base64) and `summarize` never panic, on
//! arbitrary bytes and on real certificates with bytes changed, cut or added; and a PEM bundle
//! of real certificates reads back as exactly those certificates, whatever the line endings
//! and the text between them.

use base64::Engine as _;
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile, cert_from_field, certs_from_bytes};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Root, intermediate and leaf (ECDSA P-256), made once.
fn chain() -> &'static [Vec<u8>] {
    static CHAIN: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let spec = |cn, profile| CertSpec {
            common_name: cn,
            profile,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        };
        let root = Credential::self_signed(&spec("Root", Profile::RootCa)).expect("root");
        let intermediate = root
            .sign(&spec("Intermediate", Profile::IntermediateCa))
            .expect("intermediate");
        let leaf = intermediate
            .sign(&spec("device-1", Profile::Leaf))
            .expect("leaf");
        [root, intermediate, leaf]
            .iter()
            .map(|c| c.der().to_vec())
            .collect()
    })
}

fn pem(der: &[u8], eol: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----{eol}{}{eol}-----END CERTIFICATE-----{eol}",
        lines.join(eol)
    )
}

/// Changes to a byte string: bytes replaced, then a cut, then bytes inserted.
#[derive(Debug, Clone)]
struct Mutation {
    replace: Vec<(usize, u8)>,
    cut: Option<usize>,
    insert: Option<(usize, Vec<u8>)>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        proptest::option::of(any::<usize>()),
        proptest::option::of((any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))),
    )
        .prop_map(|(replace, cut, insert)| Mutation {
            replace,
            cut,
            insert,
        })
}

impl Mutation {
    fn apply(&self, original: &[u8]) -> Vec<u8> {
        let mut b = original.to_vec();
        for &(at, byte) in &self.replace {
            if !b.is_empty() {
                let i = at % b.len();
                b[i] = byte;
            }
        }
        if let Some(at) = self.cut {
            b.truncate(at % (b.len() + 1));
        }
        if let Some((at, bytes)) = &self.insert {
            let i = at % (b.len() + 1);
            b.splice(i..i, bytes.iter().copied());
        }
        b
    }
}

/// Everything that reads certificate input, on `bytes`.
fn read_all(bytes: &[u8]) {
    if let Ok(ders) = certs_from_bytes(bytes) {
        for der in &ders {
            let _ = dps_certgen::summarize(der);
        }
    }
    if let Ok(der) = cert_from_field(&String::from_utf8_lossy(bytes)) {
        let _ = dps_certgen::summarize(&der);
    }
    let _ = dps_certgen::summarize(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        read_all(&bytes);
    }

    #[test]
    fn mutated_certificates_never_panic(which in 0usize..3, m in mutation(), as_pem in any::<bool>()) {
        let der = &chain()[which];
        let input = if as_pem { pem(der, "\n").into_bytes() } else { der.clone() };
        read_all(&m.apply(&input));
        // As a JSON field carries it: base64 of the (mutated) DER.
        let field = base64::engine::general_purpose::STANDARD.encode(m.apply(der));
        let _ = cert_from_field(&field).map(|d| dps_certgen::summarize(&d));
    }

    #[test]
    fn a_pem_bundle_reads_back_as_its_certificates(
        order in prop::collection::vec(0usize..3, 1..5),
        crlf in any::<bool>(),
        between in "[ -~]{0,20}",
    ) {
        prop_assume!(!between.contains("-----"));
        let eol = if crlf { "\r\n" } else { "\n" };
        let text: String = order
            .iter()
            .map(|&i| format!("{between}{eol}{}", pem(&chain()[i], eol)))
            .collect();
        let read = certs_from_bytes(text.as_bytes()).expect("a PEM bundle");
        let read: Vec<Vec<u8>> = read.iter().map(|d| d.to_vec()).collect();
        let expected: Vec<Vec<u8>> = order.iter().map(|&i| chain()[i].clone()).collect();
        prop_assert_eq!(read, expected);
        let first = cert_from_field(&text).expect("the field's first certificate");
        prop_assert_eq!(first.as_ref(), chain()[order[0]].as_slice());
    }
}
