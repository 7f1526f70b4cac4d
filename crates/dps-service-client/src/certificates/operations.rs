//! Upload, get, list (following `nextLink`) and delete, and the request helper every
//! operation shares.

use super::client::CertificateClient;
use super::{
    CertificateUploadOptions, DeleteCertificateOptions, ListCertificatesOptions, check_etag,
    check_name,
};
use crate::client::SEGMENT;
use crate::error::{Error, ErrorKind, Result};
use crate::options::GetOptions;
use crate::pipeline::{Call, Response};
use crate::retry::Idempotency;
use crate::x509::certificate_for_upload;
use dps_protocol::models::{
    CertificateCreateOrUpdateRequest, CertificateListDescription, CertificateResponse,
};
use percent_encoding::utf8_percent_encode;
use reqwest::Method;
use std::collections::HashSet;

impl CertificateClient {
    /// Uploads certificate `name`, or replaces it (`PUT …/certificates/{name}`), from PEM or
    /// DER bytes (refused before sending unless they hold a certificate and no private key).
    ///
    /// `options.is_verified: Some(true)` marks it verified without proof of possession.
    /// `options.if_match` is the ETag of the certificate being replaced (ARM ignores it on
    /// create); `None` sends no `If-Match`.
    pub async fn create_or_update(
        &self,
        name: &str,
        certificate: &[u8],
        options: Option<CertificateUploadOptions>,
    ) -> Result<CertificateResponse> {
        let options = options.unwrap_or_default();
        let (is_verified, if_match) = (options.is_verified, options.if_match.as_deref());
        check_name(name)?;
        if let Some(etag) = if_match {
            check_etag(etag)?;
        }
        let body = CertificateCreateOrUpdateRequest::new(
            certificate_for_upload(certificate)?,
            is_verified,
        );
        self.send(Request {
            operation: "DpsCertificate_CreateOrUpdate",
            name,
            method: Method::PUT,
            suffix: "",
            body: Some(json_body(&body)?),
            if_match,
            idempotency: Idempotency::Idempotent,
        })
        .await?
        .json()
    }

    /// Reads certificate `name` (`GET …/certificates/{name}`); [`ErrorKind::NotFound`] when
    /// there is none.
    pub async fn get(
        &self,
        name: &str,
        options: Option<GetOptions>,
    ) -> Result<CertificateResponse> {
        let _ = options;
        check_name(name)?;
        self.send(Request {
            operation: "DpsCertificate_Get",
            name,
            method: Method::GET,
            suffix: "",
            body: None,
            if_match: None,
            idempotency: Idempotency::Idempotent,
        })
        .await?
        .json()
    }

    /// Every certificate of the DPS (`GET …/certificates`), following `nextLink` to the last
    /// page. A `nextLink` must stay on the base URL's scheme, host and port (the credential
    /// is sent to it) and gets this client's api-version.
    pub async fn list(
        &self,
        options: Option<ListCertificatesOptions>,
    ) -> Result<Vec<CertificateResponse>> {
        let _ = options;
        const OPERATION: &str = "DpsCertificate_List";
        let call = |path: String| Call {
            operation: OPERATION,
            id: None,
            method: Method::GET,
            path,
            headers: vec![],
            body: None,
            idempotency: Idempotency::Idempotent,
        };
        let mut page: CertificateListDescription = self
            .pipeline
            .send(call("/certificates".to_owned()))
            .await?
            .json()?;
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        loop {
            all.append(&mut page.value);
            let Some(link) = page.next_link.take().filter(|l| !l.trim().is_empty()) else {
                return Ok(all);
            };
            let url = self.next_link_url(&link)?;
            if !seen.insert(url.to_string()) {
                return Err(Error::new(
                    ErrorKind::Deserialize,
                    format!("{OPERATION}: the service repeated nextLink {url}"),
                ));
            }
            page = self
                .pipeline
                .send_to(call(url.path().to_owned()), url)
                .await?
                .json()?;
        }
    }

    /// Deletes certificate `name` (`DELETE …/certificates/{name}`). ARM requires its current
    /// ETag, sent as `If-Match` (412 when stale).
    pub async fn delete(
        &self,
        name: &str,
        etag: &str,
        options: Option<DeleteCertificateOptions>,
    ) -> Result<()> {
        let _ = options;
        check_name(name)?;
        check_etag(etag)?;
        self.send(Request {
            operation: "DpsCertificate_Delete",
            name,
            method: Method::DELETE,
            suffix: "",
            body: None,
            if_match: Some(etag),
            idempotency: Idempotency::Idempotent,
        })
        .await
        .map(|_| ())
    }

    /// Sends a request about certificate `name` (already checked) to
    /// `…/certificates/{name}{suffix}`.
    pub(super) async fn send(&self, request: Request<'_>) -> Result<Response> {
        let headers = request
            .if_match
            .map(|v| vec![(reqwest::header::IF_MATCH, v.to_owned())])
            .unwrap_or_default();
        self.pipeline
            .send(Call {
                operation: request.operation,
                id: Some(request.name),
                method: request.method,
                path: format!("/certificates/{}{}", request.name, request.suffix),
                headers,
                body: request.body,
                idempotency: request.idempotency,
            })
            .await
    }

    /// `link` resolved against the base URL, on the same origin, with this client's
    /// api-version in place of any other.
    fn next_link_url(&self, link: &str) -> Result<url::Url> {
        let base = &self.pipeline.endpoint;
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Deserialize,
                format!("unusable nextLink {link:?}: {why}"),
            )
        };
        let mut url = base.join(link).map_err(|e| bad(&e.to_string()))?;
        if url.scheme() != base.scheme()
            || url.host_str() != base.host_str()
            || url.port_or_known_default() != base.port_or_known_default()
        {
            return Err(bad("it leaves the endpoint"));
        }
        // The server's other parameters (skip tokens) are kept byte for byte.
        let mut query: Vec<&str> = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty() && p.split('=').next() != Some("api-version"))
            .collect();
        let version = format!(
            "api-version={}",
            utf8_percent_encode(&self.pipeline.api_version, SEGMENT)
        );
        query.push(&version);
        let query = query.join("&");
        url.set_query(Some(&query));
        url.set_fragment(None);
        Ok(url)
    }
}

/// One request about one certificate.
pub(super) struct Request<'a> {
    pub(super) operation: &'static str,
    /// The certificate name, already checked.
    pub(super) name: &'a str,
    pub(super) method: Method,
    /// Appended to `/certificates/{name}`: `""` or `/generateVerificationCode`, ….
    pub(super) suffix: &'static str,
    pub(super) body: Option<Vec<u8>>,
    pub(super) if_match: Option<&'a str>,
    pub(super) idempotency: Idempotency,
}

/// A request body as JSON.
pub(super) fn json_body(value: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("cannot encode the request: {e}"),
        )
        .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Credential;
    use dps_protocol::auth::Secret;

    #[test]
    fn next_links_stay_on_the_endpoint() {
        let client = CertificateClient::new(
            "https://localhost:8443/subscriptions/s/resourceGroups/rg/providers/Microsoft.Devices/provisioningServices/d",
            Credential::BearerToken(Secret::from("t")),
            None,
        )
        .expect("valid");
        let url = client
            .next_link_url(
                "https://localhost:8443/a/certificates?api-version=2020-01-01&$skipToken=x+y%3D",
            )
            .expect("same origin");
        assert_eq!(
            url.as_str(),
            "https://localhost:8443/a/certificates?$skipToken=x+y%3D&api-version=2022-02-05"
        );
        let relative = client
            .next_link_url("certificates?page=2")
            .expect("relative");
        assert_eq!(relative.host_str(), Some("localhost"));
        for bad in [
            "https://evil.example/a",
            "http://localhost:8443/a",
            "https://localhost:9443/a",
        ] {
            assert!(client.next_link_url(bad).is_err(), "{bad}");
        }
    }
}
