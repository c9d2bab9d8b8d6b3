//! Errors of the web crate: starting the live bridge and exporting fail with [`WebError`];
//! a request that fails becomes an [`HttpError`], a status with a short Chinese text that
//! never carries internal detail (that goes to the log).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use guanmo_api::{ApiError, ErrorCode};

/// A failure outside a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A use case failed.
    #[error("api: {0}")]
    Api(#[from] ApiError),
    /// A file could not be written or copied.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The feed could not be encoded.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The live bridge thread could not start.
    #[error("could not start the live bridge: {0}")]
    Thread(String),
}

/// A failed request: status and the words residents see.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub status: StatusCode,
    pub message: &'static str,
}

impl HttpError {
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: "页面不存在",
        }
    }

    pub fn bad_request() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: "请求参数无效",
        }
    }

    /// The site holds as many live streams as it can.
    pub fn streams_full() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "当前观看人数较多,请稍后刷新",
        }
    }

    /// This address holds as many live streams as it may.
    pub fn too_many_streams() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "打开的直播页面太多,请关闭一些后刷新",
        }
    }

    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "服务暂时不可用,请稍后刷新",
        }
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        match e.code {
            ErrorCode::Validation => HttpError::bad_request(),
            ErrorCode::NotFound => HttpError::not_found(),
            _ => {
                tracing::error!(error = %e, "resident request failed");
                HttpError::internal()
            }
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.message,
        )
            .into_response();
        if matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        ) {
            r.headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(30u32));
        }
        r
    }
}
