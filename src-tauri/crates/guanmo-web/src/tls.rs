//! HTTPS for `guanmo serve` without a proxy in front: the certificate and key the organiser
//! names (`--tls-cert`, `--tls-key`, PEM) and an accepting socket that hands axum only
//! connections whose TLS handshake finished. Invariant: a slow or silent client never holds up
//! the others (each handshake runs in its own task, with a time limit; a flood of them is
//! capped at [`HANDSHAKING`] sockets), and dropping the listener closes the socket.

use guanmo_sync::Fingerprint;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Longest a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for axum to take them.
const QUEUE: usize = 64;
/// Handshakes in flight at once. Past it, new connections wait in the socket's backlog until
/// one finishes or times out, so a flood of silent clients holds at most this many sockets
/// (and tasks) for [`HANDSHAKE_TIMEOUT`] instead of every file descriptor the process has.
const HANDSHAKING: usize = 256;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no PEM certificate / private key.
    #[error("{path}: {reason}")]
    File {
        /// The file named.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the pair (e.g. the key is not the certificate's).
    #[error("certificate and key: {0}")]
    Refused(String),
}

/// The hub's certificate chain and key, ready to serve; and the fingerprint laptops pin.
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<ServerConfig>,
    fingerprint: Fingerprint,
}

impl std::fmt::Debug for TlsIdentity {
    // Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Reads a PEM certificate chain (the hub's own certificate first) and its PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsIdentity, TlsError> {
        let file_error = |path: &Path, reason: String| TlsError::File {
            path: path.display().to_string(),
            reason,
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| file_error(cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(file_error(cert, "no PEM certificate in it".into()));
        }
        let key_der =
            PrivateKeyDer::from_pem_file(key).map_err(|e| file_error(key, e.to_string()))?;
        TlsIdentity::new(chain, key_der)
    }

    /// The identity of `chain` (own certificate first) with its `key`.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsIdentity, TlsError> {
        let fingerprint = chain
            .first()
            .map(|c| Fingerprint::of_der(c))
            .ok_or_else(|| TlsError::Refused("no certificate".into()))?;
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Refused(e.to_string()))?
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .map_err(|e| TlsError::Refused(e.to_string()))?;
        // axum here speaks HTTP/1.1 only (HTTP/2 is nginx's job when there is one).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            config: Arc::new(config),
            fingerprint,
        })
    }

    /// The SHA-256 fingerprint of the hub's own certificate (what pairing carries).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

/// A listening socket whose connections come out TLS-handshaken, for `axum::serve`.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Accepts on `tcp` from now on (on the current runtime), handshaking with `acceptor`.
    pub(crate) fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(QUEUE);
        let handshaking = Arc::new(Semaphore::new(HANDSHAKING));
        let accepting = tokio::spawn(async move {
            loop {
                let permit = tokio::select! {
                    () = tx.closed() => break,
                    permit = handshaking.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        // Never closed; stop rather than spin if it were.
                        Err(_) => break,
                    },
                };
                let (stream, peer) = tokio::select! {
                    // axum let go of the listener: stop accepting.
                    () = tx.closed() => break,
                    accepted = tcp.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            // Out of file descriptors and the like: wait rather than spin.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let (tx, acceptor) = (tx.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    drop(permit);
                    match handshake {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // The socket closes with the accepting task.
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accepting task ended (its runtime is shutting down): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener as _;
    use rustls_pki_types::{PrivatePkcs8KeyDer, ServerName};

    #[tokio::test]
    async fn a_silent_client_does_not_hold_up_the_next_handshake() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der().clone();
        let identity = TlsIdentity::new(
            vec![der.clone()],
            PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
        .unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut listener = TlsListener::new(tcp, identity.acceptor()).unwrap();
        let addr = listener.local_addr().unwrap();
        // Connects and never says a word.
        let _silent = TcpStream::connect(addr).await.unwrap();

        let mut roots = rustls::RootCertStore::empty();
        roots.add(der).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let client = async {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            connector.connect(name, tcp).await.unwrap()
        };
        // Well inside the silent client's HANDSHAKE_TIMEOUT.
        let (_client, (_tls, peer)) = tokio::time::timeout(Duration::from_secs(5), async {
            tokio::join!(client, listener.accept())
        })
        .await
        .expect("the second client waited for the silent one");
        assert!(peer.ip().is_loopback());
    }
}
