//! How a laptop trusts an `https://` hub: the system's roots (a hub with a domain name and a
//! certificate from a public CA), or — when the pairing carried one — the SHA-256 fingerprint
//! of the hub's own certificate, pinned (a self-signed hub). Invariant: with a pin, a
//! certificate whose fingerprint differs is refused whatever CA signed it, and no request is
//! sent over that connection; without one, an expired, unknown-CA or wrong-name certificate is
//! refused. The handshake runs in ureq's connector chain ([`HubTls`]), the only place that
//! sees the hub's certificate.

use crate::{SyncError, SyncErrorCode, SyncResult};
use guanmo_api::{ApiError, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::fmt;
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

/// The SHA-256 of a certificate's DER bytes: what the organiser reads off `guanmo serve` and
/// laptops pin. Shown as 32 upper-case hex pairs joined by `:` (as `openssl x509 -fingerprint
/// -sha256` prints it); typed with or without colons, in any case.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of the certificate `der`.
    pub fn of_der(der: &[u8]) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Fingerprint(out)
    }

    /// A fingerprint as typed or scanned: 64 hex digits, with or without `:` (or spaces)
    /// between pairs, any case, optionally after `sha256:` or `SHA256 Fingerprint=`.
    pub fn parse(raw: &str) -> Option<Fingerprint> {
        let t = raw.trim();
        let t = t
            .strip_prefix("SHA256 Fingerprint=")
            .or_else(|| t.strip_prefix("sha256:"))
            .unwrap_or(t);
        let digits: String = t.chars().filter(|c| *c != ':' && *c != ' ').collect();
        crate::identity::parse_hex32(&digits).map(Fingerprint)
    }

    /// 64 lower-case hex digits, no separators (as in the pairing link).
    pub fn hex(&self) -> String {
        crate::identity::hex32(&self.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The field the fingerprint is typed in.
pub const FINGERPRINT_FIELD: &str = "证书指纹";

/// The fingerprint a person typed in 证书指纹 (`None` when left empty), or a refusal naming
/// that field.
pub fn parse_fingerprint(raw: Option<&str>) -> Result<Option<Fingerprint>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    Fingerprint::parse(raw).map(Some).ok_or_else(|| {
        ApiError::with_problems(
            ErrorCode::Validation,
            "not a SHA-256 certificate fingerprint",
            vec![Problem::error(
                ProblemCode::Invalid,
                FINGERPRINT_FIELD,
                "证书指纹应为64位十六进制数字(可带冒号),请照组织方主机上显示的填写",
            )],
        )
    })
}

/// Whom an `https://` hub's certificate must satisfy.
#[derive(Debug, Clone)]
pub enum HubTrust {
    /// The system's roots (on Debian `/etc/ssl/certs`; `SSL_CERT_FILE`/`SSL_CERT_DIR` if set).
    System,
    /// Exactly the certificate with this fingerprint (whatever CA signed it, if any).
    Pinned(Fingerprint),
    /// These roots instead of the system's (an organisation's own CA; tests).
    Roots(Arc<Vec<CertificateDer<'static>>>),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's roots, read once per process (reading them takes a few milliseconds and the
/// sync scheduler opens a transport per exchange).
fn system_roots() -> SyncResult<Arc<RootCertStore>> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    if let Some(r) = ROOTS.get() {
        return Ok(r.clone());
    }
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "a system root certificate could not be read");
    }
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(SyncError::new(
            SyncErrorCode::CertUntrusted,
            "no system root certificates (install ca-certificates)",
        ));
    }
    Ok(ROOTS.get_or_init(|| Arc::new(store)).clone())
}

/// The rustls client configuration for `trust`.
pub(crate) fn client_config(trust: &HubTrust) -> SyncResult<Arc<ClientConfig>> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| SyncError::new(SyncErrorCode::Storage, e.to_string()))?;
    let roots = match trust {
        HubTrust::Pinned(pin) => {
            let verifier = PinVerifier {
                pin: *pin,
                provider,
            };
            let mut config = builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            return Ok(Arc::new(config));
        }
        HubTrust::System => system_roots()?,
        HubTrust::Roots(certs) => {
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(certs.iter().cloned());
            Arc::new(store)
        }
    };
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .map_err(|e| SyncError::new(SyncErrorCode::CertUntrusted, e.to_string()))?;
    let mut config = builder.with_webpki_verifier(verifier).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts exactly the pinned certificate. The handshake's signature is still checked against
/// its key, so only the holder of that certificate's private key gets through.
#[derive(Debug)]
struct PinVerifier {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Name and dates are what a CA vouches for; a pin replaces the CA: the organiser
        // vouched for this very certificate when the laptop paired.
        if Fingerprint::of_der(end_entity) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The hub's refusal of a certificate, in words for the log and with the code the UI words.
pub(crate) fn certificate_refused(pinned: bool, e: &rustls::Error) -> Option<SyncError> {
    let rustls::Error::InvalidCertificate(reason) = e else {
        return None;
    };
    Some(if pinned {
        SyncError::new(
            SyncErrorCode::CertChanged,
            "the hub's certificate is not the one pinned at pairing",
        )
    } else {
        SyncError::new(
            SyncErrorCode::CertUntrusted,
            format!("the hub's certificate is not trusted: {reason:?}"),
        )
    })
}

/// The TLS step of the laptop's connector chain (after the TCP step): wraps `https://`
/// connections with [`client_config`]'s configuration and passes `http://` ones through.
#[derive(Debug)]
pub(crate) struct HubTls {
    config: Arc<ClientConfig>,
}

impl HubTls {
    pub(crate) fn new(config: Arc<ClientConfig>) -> HubTls {
        HubTls { config }
    }
}

impl<In: Transport> Connector<In> for HubTls {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Err(ureq::Error::ConnectionFailed);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .host()
            .ok_or(ureq::Error::Tls("no host to verify"))?;
        // `[::1]` in a URI is the address ::1.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ureq::Error::Tls("not a host name or address"))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        if let Err(e) = conn.complete_io(&mut sock) {
            // The certificate's refusal comes as rustls' own error, for the caller to word.
            return Err(
                match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(tls) => ureq::Error::Rustls(tls.clone()),
                    None => ureq::Error::Io(e),
                },
            );
        }
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// A TLS connection to the hub.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

    #[test]
    fn a_fingerprint_is_read_with_or_without_colons_in_any_case() {
        let plain = Fingerprint::parse(HEX).unwrap();
        assert_eq!(plain.hex(), HEX);
        let shown = plain.to_string();
        assert_eq!(shown.len(), 95, "32 pairs and 31 colons");
        assert!(shown.starts_with("5E:88:48:98:"), "{shown}");
        for typed in [
            shown.clone(),
            shown.to_lowercase(),
            HEX.to_uppercase(),
            format!("  {HEX}\n"),
            format!("SHA256 Fingerprint={shown}"),
            format!("sha256:{HEX}"),
            shown.replace(':', " "),
        ] {
            assert_eq!(Fingerprint::parse(&typed), Some(plain), "{typed:?}");
        }
        for bad in [
            "",
            &HEX[..62],
            &format!("{HEX}00"),
            &HEX.replace('5', "g"),
            "5E:88",
        ] {
            assert_eq!(Fingerprint::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_malformed_fingerprint_is_refused_on_its_field_and_an_empty_one_means_none() {
        assert_eq!(parse_fingerprint(None).unwrap(), None);
        assert_eq!(parse_fingerprint(Some("  ")).unwrap(), None);
        assert!(parse_fingerprint(Some(HEX)).unwrap().is_some());
        let e = parse_fingerprint(Some("AB:CD")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.problems.len(), 1);
        assert_eq!(e.problems[0].location, FINGERPRINT_FIELD);
        assert_eq!(e.problems[0].code, ProblemCode::Invalid);
    }

    #[test]
    fn the_fingerprint_is_the_sha256_of_the_der_bytes() {
        // SHA-256("password"), a published test vector.
        assert_eq!(Fingerprint::of_der(b"password").hex(), HEX);
    }
}
