//! Settings of the SMS provider that verifies residents' mobile numbers (后台实名). Without a
//! provider, comments are accepted and moderators see 未验证 on each; with one, the resident
//! site asks for the code the provider texted. Three kinds of provider:
//! - 阿里云短信 (dysmsapi SendSms, signed with ACS3-HMAC-SHA256): AccessKey ID and Secret,
//!   签名名称 and 模板 CODE (a template with a `${code}` variable);
//! - 腾讯云短信 (sms SendSms, signed with TC3-HMAC-SHA256): SecretId and SecretKey, SDK AppID,
//!   签名内容 and 模板 ID (a template with one variable, the code);
//! - a generic HTTPS endpoint taking `{"phone", "code", "sign"}` as JSON with
//!   `Authorization: Bearer <key>` (the organiser's own gateway).
//!
//! Invariant: the secrets stay in this computer's database (the site host's): never synced
//! (the `meta` key is no replicated aggregate), never sent to the UI (it sees whether one is
//! stored and the key ID masked), never logged (`Debug` redacts them).

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::people::PersonRole;
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_store::meta;
use serde::{Deserialize, Serialize};
use specta::Type;

const KEY: &str = "sms_provider";

/// Which provider sends the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SmsVendor {
    /// A generic HTTPS+JSON endpoint with a bearer key.
    #[default]
    Generic,
    /// 阿里云短信服务.
    Aliyun,
    /// 腾讯云短信.
    Tencent,
}

impl SmsVendor {
    /// Its name in messages.
    pub fn label(self) -> &'static str {
        match self {
            SmsVendor::Generic => "短信接口",
            SmsVendor::Aliyun => "阿里云短信",
            SmsVendor::Tencent => "腾讯云短信",
        }
    }
}

/// The provider as the desktop app shows it: never a secret, the key ID masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SmsSettings {
    /// Which provider.
    pub vendor: SmsVendor,
    /// Endpoint: the generic one's `https://…`; for a vendor, empty for its own address (or a
    /// gateway in front of it).
    pub url: String,
    /// Signature text: 短信签名 (阿里云 签名名称, 腾讯云 签名内容), e.g. 常宁市观摩会.
    pub sign: String,
    /// A secret (the bearer key, AccessKey Secret or SecretKey) is stored.
    pub has_key: bool,
    /// The AccessKey ID or SecretId, masked (`LTAI…9xQk`); empty for the generic endpoint.
    pub key_id_masked: String,
    /// 模板 CODE (阿里云, `SMS_…`) or 模板 ID (腾讯云, digits).
    pub template: String,
    /// 腾讯云 SDK AppID (`1400…`).
    pub app_id: String,
    /// 腾讯云 region (default ap-guangzhou).
    pub region: String,
}

/// What the organiser enters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Type)]
pub struct SmsSettingsInput {
    /// Which provider.
    #[serde(default)]
    pub vendor: SmsVendor,
    /// Endpoint (see [`SmsSettings::url`]).
    pub url: String,
    /// Signature text.
    pub sign: String,
    /// The secret; `None` keeps the stored one.
    pub key: Option<String>,
    /// The AccessKey ID or SecretId; `None` keeps the stored one.
    #[serde(default)]
    pub key_id: Option<String>,
    /// 模板 CODE or 模板 ID.
    #[serde(default)]
    pub template: String,
    /// 腾讯云 SDK AppID.
    #[serde(default)]
    pub app_id: String,
    /// 腾讯云 region; empty for ap-guangzhou.
    #[serde(default)]
    pub region: String,
}

/// The provider as the resident site uses it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsProvider {
    /// Which provider (a provider stored before vendors were known is the generic one).
    #[serde(default)]
    pub vendor: SmsVendor,
    /// Endpoint; for a vendor, empty means its own address.
    pub url: String,
    /// Signature text.
    pub sign: String,
    /// The secret: bearer key, AccessKey Secret or SecretKey.
    pub key: String,
    /// AccessKey ID or SecretId.
    #[serde(default)]
    pub key_id: String,
    /// 模板 CODE or 模板 ID.
    #[serde(default)]
    pub template: String,
    /// 腾讯云 SDK AppID.
    #[serde(default)]
    pub app_id: String,
    /// 腾讯云 region.
    #[serde(default)]
    pub region: String,
}

impl std::fmt::Debug for SmsProvider {
    // Secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsProvider")
            .field("vendor", &self.vendor)
            .field("url", &self.url)
            .field("sign", &self.sign)
            .field("key", &"<redacted>")
            .field("key_id", &mask(&self.key_id))
            .field("template", &self.template)
            .field("app_id", &self.app_id)
            .field("region", &self.region)
            .finish()
    }
}

/// `LTAI5tAbCdEf9xQk` → `LTAI…9xQk`: enough to tell keys apart, not to use one.
pub fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
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

/// The provider and the number to text for 发送测试短信 (the organiser checks the settings
/// before residents rely on them): refused without a provider or with a number that is not a
/// mainland mobile.
pub fn sms_test_target(ctx: &Ctx, phone: &str) -> ApiResult<(SmsProvider, String)> {
    ctx.ensure_site_operator()?;
    crate::people::ensure_any_role(ctx, &[PersonRole::Organiser, PersonRole::Moderator])?;
    let Some(number) = guanmo_domain::comments::normalize_mobile(phone) else {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "not a mobile number",
            vec![Problem::error(
                ProblemCode::Invalid,
                "手机号",
                "请填写11位手机号码",
            )],
        ));
    };
    let provider =
        stored(ctx)?.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "尚未配置短信服务"))?;
    Ok((provider, number))
}

/// The provider's settings without the key, if one is configured.
pub fn get_sms_settings(ctx: &Ctx) -> ApiResult<Option<SmsSettings>> {
    Ok(stored(ctx)?.map(|p| SmsSettings {
        vendor: p.vendor,
        has_key: !p.key.is_empty(),
        key_id_masked: mask(&p.key_id),
        url: p.url,
        sign: p.sign,
        template: p.template,
        app_id: p.app_id,
        region: p.region,
    }))
}

fn url_ok(url: &str) -> bool {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    (url.starts_with("https://") && url.len() > "https://".len())
        || loopback
            .iter()
            .any(|p| url.starts_with(&format!("{p}:")) || url.starts_with(&format!("{p}/")))
}

/// The provider from what was entered (secrets left out keep the stored ones of the same
/// vendor), or every problem with it.
fn provider_from(i: SmsSettingsInput, before: Option<SmsProvider>) -> ApiResult<SmsProvider> {
    let before = before.filter(|b| b.vendor == i.vendor);
    let keep = |new: Option<String>, old: Option<&String>| -> String {
        match new.map(|k| k.trim().to_string()) {
            Some(k) if !k.is_empty() => k,
            _ => old.cloned().unwrap_or_default(),
        }
    };
    let p = SmsProvider {
        vendor: i.vendor,
        url: i.url.trim().to_string(),
        sign: i.sign.trim().to_string(),
        key: keep(i.key, before.as_ref().map(|b| &b.key)),
        key_id: keep(i.key_id, before.as_ref().map(|b| &b.key_id)),
        template: i.template.trim().to_string(),
        app_id: i.app_id.trim().to_string(),
        region: i.region.trim().to_string(),
    };
    let mut problems = Vec::new();
    let mut need = |ok: bool, location: &str, message: &str| {
        if !ok {
            problems.push(Problem::error(ProblemCode::Required, location, message));
        }
    };
    match p.vendor {
        SmsVendor::Generic => {
            need(url_ok(&p.url), "接口地址", "接口地址应以 https:// 开头");
            need(!p.key.is_empty(), "密钥", "请填写短信接口密钥");
        }
        SmsVendor::Aliyun | SmsVendor::Tencent => {
            let (id_name, secret_name) = if p.vendor == SmsVendor::Aliyun {
                ("AccessKey ID", "AccessKey Secret")
            } else {
                ("SecretId", "SecretKey")
            };
            need(
                p.url.is_empty() || url_ok(&p.url),
                "接口地址",
                "接口地址留空(使用服务商地址)或以 https:// 开头",
            );
            need(!p.key_id.is_empty(), id_name, &format!("请填写{id_name}"));
            need(
                !p.key.is_empty(),
                secret_name,
                &format!("请填写{secret_name}"),
            );
            need(!p.sign.is_empty(), "短信签名", "请填写已审核通过的短信签名");
            if p.vendor == SmsVendor::Aliyun {
                need(
                    p.template.starts_with("SMS_"),
                    "模板",
                    "请填写阿里云模板 CODE(形如 SMS_123456789)",
                );
            } else {
                need(
                    !p.template.is_empty() && p.template.chars().all(|c| c.is_ascii_digit()),
                    "模板",
                    "请填写腾讯云模板 ID(数字)",
                );
                need(
                    !p.app_id.is_empty() && p.app_id.chars().all(|c| c.is_ascii_digit()),
                    "SDK AppID",
                    "请填写腾讯云短信 SDK AppID(数字,形如 1400…)",
                );
            }
        }
    }
    if p.sign.chars().count() > 20 {
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
    Ok(p)
}

/// Stores the provider (`None` turns verification off).
pub fn set_sms_settings(
    ctx: &Ctx,
    input: Option<SmsSettingsInput>,
) -> ApiResult<Option<SmsSettings>> {
    ctx.ensure_site_operator()?;
    crate::people::ensure_any_role(ctx, &[PersonRole::Organiser, PersonRole::Moderator])?;
    let value = match input {
        None => String::new(),
        Some(i) => {
            let provider = provider_from(i, stored(ctx)?)?;
            serde_json::to_string(&provider)
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

    fn aliyun() -> SmsSettingsInput {
        SmsSettingsInput {
            vendor: SmsVendor::Aliyun,
            url: String::new(),
            sign: "常宁市观摩会".into(),
            key: Some("secret-1".into()),
            key_id: Some("LTAI5tAbCdEf9xQk".into()),
            template: "SMS_123456789".into(),
            app_id: String::new(),
            region: String::new(),
        }
    }

    #[test]
    fn a_vendor_needs_its_own_fields_and_a_secret_left_blank_keeps_the_stored_one() {
        let p = provider_from(aliyun(), None).unwrap();
        assert_eq!(
            (p.key.as_str(), p.key_id.as_str()),
            ("secret-1", "LTAI5tAbCdEf9xQk")
        );
        // Blank secrets keep the stored ones of the same vendor…
        let again = SmsSettingsInput {
            key: None,
            key_id: Some(" ".into()),
            ..aliyun()
        };
        let kept = provider_from(again.clone(), Some(p.clone())).unwrap();
        assert_eq!(kept, p);
        // …never another vendor's.
        let other = SmsProvider {
            vendor: SmsVendor::Tencent,
            ..p.clone()
        };
        let e = provider_from(again, Some(other)).unwrap_err();
        let places: Vec<&str> = e.problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(places, ["AccessKey ID", "AccessKey Secret"]);
        // 腾讯云 needs digits for the template and the SDK AppID.
        let tencent = SmsSettingsInput {
            vendor: SmsVendor::Tencent,
            template: "SMS_1".into(),
            ..aliyun()
        };
        let e = provider_from(tencent, None).unwrap_err();
        let places: Vec<&str> = e.problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(places, ["模板", "SDK AppID"]);
    }

    #[test]
    fn secrets_never_show_in_debug_output_and_the_key_id_is_masked() {
        let p = provider_from(aliyun(), None).unwrap();
        let text = format!("{p:?}");
        assert!(!text.contains("secret-1"), "{text}");
        assert!(!text.contains("LTAI5tAbCdEf9xQk"), "{text}");
        assert!(text.contains("LTAI…9xQk"), "{text}");
        assert_eq!(mask("short"), "…");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn a_provider_stored_before_vendors_reads_as_the_generic_one() {
        let old = r#"{"url":"https://sms.example.cn/send","sign":"【观摩会】","key":"k"}"#;
        let p: SmsProvider = serde_json::from_str(old).unwrap();
        assert_eq!(p.vendor, SmsVendor::Generic);
        assert_eq!(p.key, "k");
    }

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
