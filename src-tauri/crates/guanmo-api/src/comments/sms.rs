//! Settings of the SMS provider that verifies residents' mobile numbers (后台实名). Without a
//! provider, comments are accepted and moderators see 未验证 on each; with one, the resident
//! site asks for the code the provider texted. The provider is any HTTPS endpoint that takes
//! `{"phone", "code", "sign"}` as JSON with `Authorization: Bearer <key>` (a vendor's SMS API
//! or the organiser's own gateway to it). The key is kept in this laptop's database and never
//! sent to the UI.

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_store::meta;
use serde::{Deserialize, Serialize};
use specta::Type;

const KEY: &str = "sms_provider";

/// The provider as the desktop app shows it: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SmsSettings {
    /// Endpoint, `https://…` (or `http://` on loopback, for a local gateway).
    pub url: String,
    /// Signature text the provider puts in the message, e.g. 【常宁市观摩会】.
    pub sign: String,
    /// A key is stored.
    pub has_key: bool,
}

/// What the organiser enters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SmsSettingsInput {
    /// Endpoint.
    pub url: String,
    /// Signature text.
    pub sign: String,
    /// The API key; `None` keeps the stored one.
    pub key: Option<String>,
}

/// The provider as the resident site uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsProvider {
    /// Endpoint.
    pub url: String,
    /// Signature text.
    pub sign: String,
    /// API key.
    pub key: String,
}

fn stored(ctx: &Ctx) -> ApiResult<Option<SmsProvider>> {
    let raw = ctx.store.read(|c| meta::get(c, KEY))?;
    Ok(raw
        .filter(|r| !r.is_empty())
        .and_then(|r| serde_json::from_str(&r).ok()))
}

/// The configured provider, if any (for the resident site).
pub fn sms_provider(ctx: &Ctx) -> ApiResult<Option<SmsProvider>> {
    stored(ctx)
}

/// The provider's settings without the key, if one is configured.
pub fn get_sms_settings(ctx: &Ctx) -> ApiResult<Option<SmsSettings>> {
    Ok(stored(ctx)?.map(|p| SmsSettings {
        has_key: !p.key.is_empty(),
        url: p.url,
        sign: p.sign,
    }))
}

fn url_ok(url: &str) -> bool {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    (url.starts_with("https://") && url.len() > "https://".len())
        || loopback
            .iter()
            .any(|p| url.starts_with(&format!("{p}:")) || url.starts_with(&format!("{p}/")))
}

/// Stores the provider (`None` turns verification off).
pub fn set_sms_settings(
    ctx: &Ctx,
    input: Option<SmsSettingsInput>,
) -> ApiResult<Option<SmsSettings>> {
    let value = match input {
        None => String::new(),
        Some(i) => {
            let url = i.url.trim().to_string();
            let sign = i.sign.trim().to_string();
            let key = match i.key.map(|k| k.trim().to_string()) {
                Some(k) => k,
                None => stored(ctx)?.map(|p| p.key).unwrap_or_default(),
            };
            let mut problems = Vec::new();
            if !url_ok(&url) {
                problems.push(Problem::error(
                    ProblemCode::Invalid,
                    "接口地址",
                    "接口地址应以 https:// 开头",
                ));
            }
            if key.is_empty() {
                problems.push(Problem::error(
                    ProblemCode::Required,
                    "密钥",
                    "请填写短信接口密钥",
                ));
            }
            if sign.chars().count() > 20 {
                problems.push(Problem::error(
                    ProblemCode::OutOfRange,
                    "短信签名",
                    "短信签名最多20个字",
                ));
            }
            if !problems.is_empty() {
                return Err(ApiError::with_problems(
                    ErrorCode::Validation,
                    "sms settings refused",
                    problems,
                ));
            }
            serde_json::to_string(&SmsProvider { url, sign, key })
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        }
    };
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        meta::set(tx, KEY, &value)?;
        let state = if value.is_empty() { "off" } else { "on" };
        guanmo_store::comments::log(tx, "sms", None, None, None, Some(state))?;
        tx.record(guanmo_store::ChangeInput {
            entity: guanmo_store::comments::SETTINGS_ENTITY,
            entity_id: "sms".into(),
            op: "sms",
            payload: serde_json::json!({ "state": state }),
        })
    })?;
    get_sms_settings(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_endpoints_are_accepted() {
        assert!(url_ok("https://sms.example.cn/send"));
        assert!(url_ok("http://127.0.0.1:9000/send"));
        for bad in [
            "http://sms.example.cn",
            "ftp://x",
            "https://",
            "http://localhost.evil.cn/",
        ] {
            assert!(!url_ok(bad), "{bad}");
        }
    }
}
