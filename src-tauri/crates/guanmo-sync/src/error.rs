//! Sync errors, with a stable code for the peer protocol and the UI.

use guanmo_api::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};

/// Stable codes a peer or the UI branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncErrorCode {
    /// No pairing with a hub (or no device token on the request).
    NotPaired,
    /// The device token is unknown or revoked.
    Unauthorized,
    /// The pairing code is wrong, expired, used, or locked after too many tries.
    PairingRefused,
    /// The request breaks the protocol (e.g. a laptop pushing another device's operations).
    BadRequest,
    /// A bundle file was refused as a whole.
    BundleInvalid,
    /// The other side could not be reached or answered garbage.
    Unreachable,
    /// The hub's certificate is not the one pinned at pairing; nothing was sent.
    CertChanged,
    /// The hub's certificate is not trusted by the system's roots; nothing was sent.
    CertUntrusted,
    /// Plain `http://` to an address that is not loopback or private; nothing was sent.
    InsecureAddress,
    /// Local storage failed.
    Storage,
}

/// A sync failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{code:?}: {message}")]
pub struct SyncError {
    /// What kind.
    pub code: SyncErrorCode,
    /// Details for the log (and the bundle report).
    pub message: String,
}

impl SyncError {
    /// A failure of kind `code`.
    pub fn new(code: SyncErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<guanmo_store::StoreError> for SyncError {
    fn from(e: guanmo_store::StoreError) -> Self {
        SyncError::new(SyncErrorCode::Storage, e.to_string())
    }
}

impl From<std::io::Error> for SyncError {
    fn from(e: std::io::Error) -> Self {
        SyncError::new(SyncErrorCode::Storage, e.to_string())
    }
}

impl From<ApiError> for SyncError {
    fn from(e: ApiError) -> Self {
        SyncError::new(SyncErrorCode::Storage, e.to_string())
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        let code = match e.code {
            SyncErrorCode::NotPaired | SyncErrorCode::Unauthorized => ErrorCode::NotPaired,
            SyncErrorCode::PairingRefused => ErrorCode::PairingRefused,
            SyncErrorCode::BundleInvalid => ErrorCode::BundleInvalid,
            SyncErrorCode::Unreachable => ErrorCode::Unreachable,
            SyncErrorCode::BadRequest => ErrorCode::Validation,
            SyncErrorCode::CertChanged => ErrorCode::CertChanged,
            SyncErrorCode::CertUntrusted => ErrorCode::CertUntrusted,
            SyncErrorCode::InsecureAddress => ErrorCode::InsecureHubAddress,
            SyncErrorCode::Storage => ErrorCode::Storage,
        };
        ApiError::new(code, e.message)
    }
}
