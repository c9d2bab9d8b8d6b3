//! The one error type that crosses to the UI: a stable `code` the UI branches on and words
//! by (Chinese text per code lives in the UI), a technical `message` for logs, and the
//! list of problems when input was refused.

use crate::exchange::ExchangeError;
use guanmo_domain::Problem;
use guanmo_store::StoreError;
use serde::{Deserialize, Serialize};
use specta::Type;

/// Stable error codes. Adding one is a UI change too (`ui/src/ipc/errors.ts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Input refused; see `problems`.
    Validation,
    /// An imported file was refused as a whole; see `problems`.
    ImportInvalid,
    /// The record does not exist (any more).
    NotFound,
    /// Someone changed the record since it was read.
    VersionConflict,
    /// The file is bigger than allowed.
    FileTooLarge,
    /// Not a format the app reads.
    UnsupportedFormat,
    /// The file could not be read or decoded.
    FileUnreadable,
    /// A township head tried to score their own township (回避).
    Recused,
    /// The sheet is submitted (locked); the organiser must unlock it first.
    SheetLocked,
    /// Scoring of this township is not open.
    ScoringClosed,
    /// The comment area is closed (一键关闭评论区).
    CommentsClosed,
    /// The number is muted (禁言).
    Muted,
    /// Too many requests at once; try again shortly.
    Busy,
    /// Only the organiser's hub edits this (roster, rubric, scorers, scoring state…).
    HubOnly,
    /// This laptop is not paired with the organiser's hub (同步), or the hub revoked it.
    NotPaired,
    /// The pairing code is wrong, expired, used, or locked after too many tries.
    PairingRefused,
    /// A sync bundle file was refused as a whole (damaged, not signed by a paired device…).
    BundleInvalid,
    /// The hub could not be reached; work stays on this laptop and syncs later.
    Unreachable,
    /// The hub's certificate is not the one pinned when this laptop paired (someone may be
    /// posing as the hub, or the hub got a new certificate: pair again with a new code).
    CertChanged,
    /// The hub's `https://` certificate is not trusted by this computer (expired, unknown
    /// issuer, another name).
    CertUntrusted,
    /// A hub address that would send the device token in the clear: plain `http://` to an
    /// address that is not loopback or private.
    InsecureHubAddress,
    /// A file or folder the person did not choose in a file dialog of the app (the app reads
    /// and writes only what was picked).
    NotPicked,
    /// No one is signed in on this device (谁在操作): choose a person and enter the PIN.
    SignInRequired,
    /// The PIN or one-time code is wrong, expired or locked after too many tries.
    SignInRefused,
    /// The signed-in person's role may not see or do this (背靠背: a scorer sees only their
    /// own sheets; the ranking only 组织方 and 计票人 before the reveal).
    Forbidden,
    /// The data folder or backup was written by a newer version of the app (its schema or
    /// backup format is past what this build knows): refused untouched; install the newer
    /// version.
    DataNewerThanApp,
    /// The backup file is incomplete (e.g. copied only in part) or not a Guanmo backup.
    BackupUnreadable,
    /// The backup file is damaged: a checksum, the database's integrity check or its row
    /// counts do not match its manifest.
    BackupDamaged,
    /// A restore into a data folder that is not empty, without asking to replace it.
    RestoreTargetNotEmpty,
    /// The person cancelled a long operation (backup, restore); nothing was left behind.
    Cancelled,
    /// The database failed.
    Storage,
    /// A bug.
    Internal,
}

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// Technical detail, for logs and the small print.
    pub message: String,
    /// Row- or field-level problems, when input was refused.
    pub problems: Vec<Problem>,
}

impl ApiError {
    /// An error without problems.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    /// Input refused for these problems.
    pub fn with_problems(
        code: ErrorCode,
        message: impl Into<String>,
        problems: Vec<Problem>,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            problems,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NewerData { found, known } => {
                tracing::error!(error = %e, "refusing a data folder from a newer version");
                return ApiError::new(
                    ErrorCode::DataNewerThanApp,
                    format!(
                        "此数据文件夹由更新版本的观摩创建(数据版本 {found},本程序支持到 \
                         {known}),为防止损坏已拒绝打开。请安装新版本。"
                    ),
                );
            }
            StoreError::Cancelled => return ApiError::new(ErrorCode::Cancelled, "已取消"),
            StoreError::PhoneKey(detail) => {
                tracing::error!(error = %detail, "the phone-number key does not fit");
                return ApiError::new(
                    ErrorCode::Storage,
                    format!(
                        "数据文件夹中的手机号密钥(phone.key)缺失或与数据库不符,居民手机号无法读取;\
                         请从含该密钥的备份恢复数据文件夹。({detail})"
                    ),
                );
            }
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::VersionConflict { .. } => ErrorCode::VersionConflict,
            _ => ErrorCode::Storage,
        };
        if code == ErrorCode::Storage {
            tracing::error!(error = %e, "store failure");
        }
        ApiError::new(code, e.to_string())
    }
}

impl From<ExchangeError> for ApiError {
    fn from(e: ExchangeError) -> Self {
        let message = e.to_string();
        match e {
            ExchangeError::TooLarge { .. } => ApiError::new(ErrorCode::FileTooLarge, message),
            ExchangeError::Unsupported(_) => ApiError::new(ErrorCode::UnsupportedFormat, message),
            ExchangeError::Unreadable(_) => ApiError::new(ErrorCode::FileUnreadable, message),
            ExchangeError::Invalid(problems) => {
                ApiError::with_problems(ErrorCode::ImportInvalid, message, problems)
            }
        }
    }
}
