//! Sending a verification code through the organiser's SMS provider: 阿里云短信 (SendSms of
//! dysmsapi 2017-05-25, signed with ACS3-HMAC-SHA256), 腾讯云短信 (SendSms of sms 2021-01-11,
//! signed with TC3-HMAC-SHA256) or a generic HTTPS+JSON endpoint with a bearer key.
//!
//! Each vendor's request is signed as its documentation describes, and the signing is checked
//! against the worked examples of that documentation (see the tests). A refusal comes back as
//! [`SmsError`]: the vendor's own code, and a Chinese message that says what to fix.
//! Invariant: no secret is ever logged or put in an error; only the vendor's code and message.

use guanmo_api::comments::{SmsProvider, SmsVendor};
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use std::time::Duration;

const ALIYUN_HOST: &str = "dysmsapi.aliyuncs.com";
const ALIYUN_VERSION: &str = "2017-05-25";
const TENCENT_HOST: &str = "sms.tencentcloudapi.com";
const TENCENT_VERSION: &str = "2021-01-11";
const TENCENT_SERVICE: &str = "sms";
const TENCENT_REGION: &str = "ap-guangzhou";
const JSON: &str = "application/json; charset=utf-8";

/// Why a code was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsError {
    /// The vendor's error code (`SignatureDoesNotMatch`, `AuthFailure.SignatureFailure`…), or
    /// `unreachable` / `http_<status>` / `bad_response`.
    pub code: String,
    /// What went wrong, in Chinese, for the organiser.
    pub message: String,
}

impl std::fmt::Display for SmsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.message, self.code)
    }
}

fn err(code: &str, message: impl Into<String>) -> SmsError {
    SmsError {
        code: code.to_string(),
        message: message.into(),
    }
}

/// The time and nonce a request is signed with (fixed in tests).
#[derive(Debug, Clone)]
pub struct Stamp {
    /// When, UTC.
    pub at: chrono::DateTime<chrono::Utc>,
    /// A random value used once (阿里云 x-acs-signature-nonce).
    pub nonce: String,
}

impl Stamp {
    /// Now, with a fresh random nonce.
    pub fn now() -> Stamp {
        Stamp {
            at: chrono::Utc::now(),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes a key of any length; an empty signature would only be refused.
        Err(_) => Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3986 unreserved characters stay; everything else is %XX in upper case (so a space is
/// `%20`, `*` is `%2A` and `~` stays), as 阿里云's canonical query string needs.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// 阿里云 V3: the canonical query string of `params` (sorted by name, RFC 3986 encoded).
pub fn aliyun_canonical_query(params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// One 阿里云 API call to sign.
#[derive(Debug, Clone, Copy)]
pub struct AliyunCall<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The canonical query string ([`aliyun_canonical_query`]).
    pub query: &'a str,
    /// The product's host, e.g. dysmsapi.aliyuncs.com.
    pub host: &'a str,
    /// The API, e.g. SendSms.
    pub action: &'a str,
    /// The API version, e.g. 2017-05-25.
    pub version: &'a str,
    /// The request body.
    pub body: &'a [u8],
}

/// 阿里云 V3 (ACS3-HMAC-SHA256): the signed headers to send (`host` and `x-acs-*`, sorted) and
/// the `Authorization` header.
pub fn aliyun_sign(
    call: AliyunCall<'_>,
    key_id: &str,
    secret: &str,
    stamp: &Stamp,
) -> (Vec<(String, String)>, String) {
    let AliyunCall {
        method,
        query,
        host,
        action,
        version,
        body,
    } = call;
    let hashed_payload = sha256_hex(body);
    let mut headers = vec![
        ("host".to_string(), host.to_string()),
        ("x-acs-action".to_string(), action.to_string()),
        ("x-acs-content-sha256".to_string(), hashed_payload.clone()),
        (
            "x-acs-date".to_string(),
            stamp.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("x-acs-signature-nonce".to_string(), stamp.nonce.clone()),
        ("x-acs-version".to_string(), version.to_string()),
    ];
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request =
        format!("{method}\n/\n{query}\n{canonical_headers}\n{signed_headers}\n{hashed_payload}");
    let hashed_request = sha256_hex(canonical_request.as_bytes());
    let string_to_sign = format!("ACS3-HMAC-SHA256\n{hashed_request}");
    let signature = hex(&hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()));
    let authorization = format!(
        "ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={signed_headers},Signature={signature}"
    );
    (headers, authorization)
}

/// 腾讯云 TC3-HMAC-SHA256 for a POST of JSON `body`: the `Authorization` header, and the hash
/// of the canonical request (for the documentation example's intermediate value).
pub fn tencent_sign(
    host: &str,
    service: &str,
    body: &[u8],
    secret_id: &str,
    secret_key: &str,
    timestamp: i64,
) -> (String, String) {
    let date = chrono::DateTime::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let canonical_request = format!(
        "POST\n/\n\ncontent-type:{JSON}\nhost:{host}\n\ncontent-type;host\n{}",
        sha256_hex(body)
    );
    let hashed_request = sha256_hex(canonical_request.as_bytes());
    let scope = format!("{date}/{service}/tc3_request");
    let string_to_sign = format!("TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashed_request}");
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    let signature = hex(&hmac_sha256(&secret_signing, string_to_sign.as_bytes()));
    (
        format!(
            "TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
        ),
        hashed_request,
    )
}

/// Where a vendor's request goes: its own host over HTTPS, or the configured gateway URL.
fn base(provider: &SmsProvider, host: &str) -> String {
    if provider.url.is_empty() {
        format!("https://{host}/")
    } else if provider.url.ends_with('/') {
        provider.url.clone()
    } else {
        format!("{}/", provider.url)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Texts `code` to `phone` (11 digits, mainland) through `provider`. Blocking: run it off the
/// async workers.
pub fn send(provider: &SmsProvider, phone: &str, code: &str) -> Result<(), SmsError> {
    send_at(provider, phone, code, &Stamp::now())
}

/// [`send`] signed with `stamp`.
pub fn send_at(
    provider: &SmsProvider,
    phone: &str,
    code: &str,
    stamp: &Stamp,
) -> Result<(), SmsError> {
    match provider.vendor {
        SmsVendor::Generic => send_generic(provider, phone, code),
        SmsVendor::Aliyun => send_aliyun(provider, phone, code, stamp),
        SmsVendor::Tencent => send_tencent(provider, phone, code, stamp),
    }
}

fn unreachable(vendor: SmsVendor, e: &ureq::Error) -> SmsError {
    err(
        "unreachable",
        format!("无法连接{}:{e}。请检查网络或接口地址", vendor.label()),
    )
}

fn send_generic(provider: &SmsProvider, phone: &str, code: &str) -> Result<(), SmsError> {
    let body = serde_json::json!({ "phone": phone, "code": code, "sign": provider.sign });
    let resp = agent()
        .post(&provider.url)
        .header("Authorization", &format!("Bearer {}", provider.key))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .map_err(|e| unreachable(provider.vendor, &e))?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(err(
            &format!("http_{status}"),
            "短信接口拒绝了密钥,请检查接口密钥",
        )),
        _ => Err(err(
            &format!("http_{status}"),
            format!("短信接口返回错误(HTTP {status})"),
        )),
    }
}

fn send_aliyun(
    provider: &SmsProvider,
    phone: &str,
    code: &str,
    stamp: &Stamp,
) -> Result<(), SmsError> {
    let param = serde_json::json!({ "code": code }).to_string();
    let query = aliyun_canonical_query(&[
        ("PhoneNumbers", phone),
        ("SignName", &provider.sign),
        ("TemplateCode", &provider.template),
        ("TemplateParam", &param),
    ]);
    let (headers, authorization) = aliyun_sign(
        AliyunCall {
            method: "POST",
            query: &query,
            host: ALIYUN_HOST,
            action: "SendSms",
            version: ALIYUN_VERSION,
            body: b"",
        },
        &provider.key_id,
        &provider.key,
        stamp,
    );
    let url = format!("{}?{query}", base(provider, ALIYUN_HOST));
    let mut req = agent().post(&url);
    for (k, v) in &headers {
        // ureq sets Host from the URL; a gateway forwards the signed host on.
        if k != "host" {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    let resp = req
        .header("Authorization", &authorization)
        .send(&b""[..])
        .map_err(|e| unreachable(provider.vendor, &e))?;
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
        err(
            "bad_response",
            format!("阿里云短信返回了无法识别的内容(HTTP {status})"),
        )
    })?;
    let vendor_code = v["Code"].as_str().unwrap_or_default();
    if vendor_code == "OK" {
        return Ok(());
    }
    let message = v["Message"].as_str().unwrap_or_default();
    Err(err(vendor_code, aliyun_message(vendor_code, message)))
}

/// 阿里云's error codes (SendSms and the common ones) in words that say what to fix.
pub fn aliyun_message(code: &str, message: &str) -> String {
    let what = match code {
        "SignatureDoesNotMatch" | "IncompleteSignature" => {
            "签名校验失败:AccessKey Secret 不正确,请核对后重新填写"
        }
        "InvalidAccessKeyId.NotFound" | "InvalidAccessKeyId" => {
            "AccessKey ID 不存在,请核对后重新填写"
        }
        "InvalidAccessKeyId.Inactive" => {
            "AccessKey 已被禁用,请在阿里云控制台启用或换用其他 AccessKey"
        }
        "Forbidden.RAM" | "Forbidden.NoPermission" => {
            "该 AccessKey 没有短信发送权限,请在 RAM 中授予 AliyunDysmsFullAccess"
        }
        "SignatureNonceUsed" | "InvalidTimeStamp.Expired" => {
            "请求时间或随机数无效:请校准本机时间后重试"
        }
        "isv.SMS_SIGNATURE_ILLEGAL" | "isv.SMS_SIGN_ILLEGAL" => {
            "短信签名不可用:签名未审核通过,或与控制台中的签名名称不一致"
        }
        "isv.SMS_TEMPLATE_ILLEGAL" => "短信模板不可用:模板 CODE 不存在或未审核通过",
        "isv.TEMPLATE_MISSING_PARAMETERS" | "isv.INVALID_JSON_PARAM" => {
            "模板变量不符:模板中应有且仅有变量 ${code}"
        }
        "isv.MOBILE_NUMBER_ILLEGAL" => "手机号码格式不正确",
        "isv.BUSINESS_LIMIT_CONTROL" => "发送过于频繁,触发了阿里云的流量控制,请稍后再试",
        "isv.AMOUNT_NOT_ENOUGH" | "isv.OUT_OF_SERVICE" => "阿里云账户余额不足或短信服务已停用",
        "isv.DENY_IP_RANGE" => "本机 IP 不在阿里云控制台允许的 IP 范围内",
        _ => "",
    };
    if what.is_empty() {
        format!("阿里云短信返回错误:{message}")
    } else {
        format!("阿里云短信:{what}")
    }
}

fn send_tencent(
    provider: &SmsProvider,
    phone: &str,
    code: &str,
    stamp: &Stamp,
) -> Result<(), SmsError> {
    let body = serde_json::json!({
        "PhoneNumberSet": [format!("+86{phone}")],
        "SmsSdkAppId": provider.app_id,
        "SignName": provider.sign,
        "TemplateId": provider.template,
        "TemplateParamSet": [code],
    })
    .to_string();
    let timestamp = stamp.at.timestamp();
    let (authorization, _) = tencent_sign(
        TENCENT_HOST,
        TENCENT_SERVICE,
        body.as_bytes(),
        &provider.key_id,
        &provider.key,
        timestamp,
    );
    let region = if provider.region.is_empty() {
        TENCENT_REGION
    } else {
        provider.region.as_str()
    };
    let resp = agent()
        .post(&base(provider, TENCENT_HOST))
        .header("Authorization", &authorization)
        .header("Content-Type", JSON)
        .header("X-TC-Action", "SendSms")
        .header("X-TC-Version", TENCENT_VERSION)
        .header("X-TC-Timestamp", &timestamp.to_string())
        .header("X-TC-Region", region)
        .send(body.as_bytes())
        .map_err(|e| unreachable(provider.vendor, &e))?;
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
        err(
            "bad_response",
            format!("腾讯云短信返回了无法识别的内容(HTTP {status})"),
        )
    })?;
    let r = &v["Response"];
    if let Some(e) = r.get("Error") {
        let c = e["Code"].as_str().unwrap_or_default();
        return Err(err(
            c,
            tencent_message(c, e["Message"].as_str().unwrap_or_default()),
        ));
    }
    let first = &r["SendStatusSet"][0];
    match first["Code"].as_str() {
        Some("Ok") => Ok(()),
        Some(c) => Err(err(
            c,
            tencent_message(c, first["Message"].as_str().unwrap_or_default()),
        )),
        None => Err(err(
            "bad_response",
            "腾讯云短信没有返回发送结果".to_string(),
        )),
    }
}

/// 腾讯云's error codes (SendSms and the common ones) in words that say what to fix.
pub fn tencent_message(code: &str, message: &str) -> String {
    let what = match code {
        "AuthFailure.SignatureFailure" => "签名校验失败:SecretKey 不正确,请核对后重新填写",
        "AuthFailure.SecretIdNotFound" => "SecretId 不存在或已被禁用,请核对后重新填写",
        "AuthFailure.SignatureExpire" => "请求已过期:请校准本机时间后重试",
        "AuthFailure.UnauthorizedOperation" | "UnauthorizedOperation.SmsSdkAppIdVerifyFail" => {
            "没有发送权限:请检查子账号授权和 SDK AppID"
        }
        "FailedOperation.SignatureIncorrectOrUnapproved" => {
            "短信签名不可用:签名未审核通过,或与控制台中的签名内容不一致"
        }
        "FailedOperation.TemplateIncorrectOrUnapproved" => {
            "短信模板不可用:模板 ID 不存在或未审核通过"
        }
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
        | "InvalidParameterValue.TemplateParameterFormatError" => {
            "模板变量不符:模板中应有且仅有一个变量(验证码)"
        }
        "InvalidParameterValue.IncorrectPhoneNumber" => "手机号码格式不正确",
        "LimitExceeded.PhoneNumberDailyLimit"
        | "LimitExceeded.PhoneNumberThirtySecondLimit"
        | "LimitExceeded.PhoneNumberOneHourLimit"
        | "LimitExceeded.PhoneNumberSameContentDailyLimit" => {
            "该号码发送过于频繁,触发了腾讯云的频率限制,请稍后再试"
        }
        "FailedOperation.InsufficientBalanceInSmsPackage" => {
            "短信套餐包余量不足,请在腾讯云控制台购买"
        }
        "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber" => "号码类型不支持",
        _ => "",
    };
    if what.is_empty() {
        format!("腾讯云短信返回错误:{message}")
    } else {
        format!("腾讯云短信:{what}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of 阿里云's 「V3版本请求体&签名机制」
    /// (https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature,
    /// 「签名示例」: ECS RunInstances, AccessKey YourAccessKeyId / YourAccessKeySecret).
    #[test]
    fn aliyun_v3_reproduces_the_documentation_example() {
        let stamp = Stamp {
            at: chrono::DateTime::parse_from_rfc3339("2023-10-26T10:22:32Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
            nonce: "3156853299f313e23d1673dc12e1703d".into(),
        };
        let query = aliyun_canonical_query(&[
            ("RegionId", "cn-shanghai"),
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
        ]);
        assert_eq!(
            query,
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
        );
        let (headers, authorization) = aliyun_sign(
            AliyunCall {
                method: "POST",
                query: &query,
                host: "ecs.cn-shanghai.aliyuncs.com",
                action: "RunInstances",
                version: "2014-05-26",
                body: b"",
            },
            "YourAccessKeyId",
            "YourAccessKeySecret",
            &stamp,
        );
        assert!(headers.contains(&(
            "x-acs-content-sha256".to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string()
        )));
        assert_eq!(
            authorization,
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,\
             SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;\
             x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    /// The worked example of 腾讯云's 「签名方法 v3」
    /// (https://cloud.tencent.com/document/api/213/30654: CVM DescribeInstances,
    /// SecretId AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE, timestamp 1551113065).
    #[test]
    fn tencent_tc3_reproduces_the_documentation_example() {
        let body = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert_eq!(
            sha256_hex(body.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let (authorization, hashed_request) = tencent_sign(
            "cvm.tencentcloudapi.com",
            "cvm",
            body.as_bytes(),
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            1_551_113_065,
        );
        assert_eq!(
            hashed_request,
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            authorization,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn the_canonical_query_encodes_as_rfc_3986_and_sorts_by_name() {
        assert_eq!(
            aliyun_canonical_query(&[
                ("b", "a b*~"),
                ("TemplateParam", r#"{"code":"1"}"#),
                ("SignName", "观摩")
            ]),
            "SignName=%E8%A7%82%E6%91%A9&TemplateParam=%7B%22code%22%3A%221%22%7D&b=a%20b%2A~"
        );
    }

    #[test]
    fn unknown_codes_keep_the_vendors_message_and_known_ones_say_what_to_fix() {
        assert_eq!(
            aliyun_message(
                "SignatureDoesNotMatch",
                "Specified signature is not matched"
            ),
            "阿里云短信:签名校验失败:AccessKey Secret 不正确,请核对后重新填写"
        );
        assert_eq!(
            aliyun_message("isv.SOMETHING_NEW", "something new"),
            "阿里云短信返回错误:something new"
        );
        assert_eq!(
            tencent_message("AuthFailure.SignatureFailure", "x"),
            "腾讯云短信:签名校验失败:SecretKey 不正确,请核对后重新填写"
        );
    }
}
