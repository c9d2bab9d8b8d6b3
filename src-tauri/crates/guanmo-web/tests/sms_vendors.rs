//! The SMS vendors' requests against local mock servers that check the signature the way each
//! vendor does (recomputed from what arrived, with the secret the mock knows): the right secret
//! sends, a wrong one comes back as the vendor's error with a Chinese message. No network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use guanmo_api::comments::{SmsProvider, SmsVendor};
use guanmo_web::sms::{self, AliyunCall, Stamp};
use std::sync::{Arc, Mutex};

const ALIYUN_SECRET: &str = "mock-access-key-secret";
const TENCENT_SECRET: &str = "mock-secret-key";

/// What a mock saw: the parameters of each request it accepted.
type Seen = Arc<Mutex<Vec<serde_json::Value>>>;

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// 阿里云 dysmsapi: RPC style, parameters in the query, ACS3-HMAC-SHA256.
async fn aliyun(
    State(seen): State<Seen>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let stamp = Stamp {
        at: chrono::DateTime::parse_from_rfc3339(&header(&headers, "x-acs-date"))
            .unwrap()
            .with_timezone(&chrono::Utc),
        nonce: header(&headers, "x-acs-signature-nonce"),
    };
    let canonical = sms::aliyun_canonical_query(&refs);
    let (_, expected) = sms::aliyun_sign(
        AliyunCall {
            method: "POST",
            query: &canonical,
            host: "dysmsapi.aliyuncs.com",
            action: &header(&headers, "x-acs-action"),
            version: &header(&headers, "x-acs-version"),
            body: &body,
        },
        "LTAI5tMockKeyId01",
        ALIYUN_SECRET,
        &stamp,
    );
    if header(&headers, "authorization") != expected {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation."}"#,
        );
    }
    let params: serde_json::Map<String, serde_json::Value> = pairs
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    seen.lock().unwrap().push(serde_json::Value::Object(params));
    (
        StatusCode::OK,
        r#"{"Code":"OK","Message":"OK","BizId":"9006197469364984^0","RequestId":"F655A8D5"}"#,
    )
}

/// 腾讯云 sms: JSON body, TC3-HMAC-SHA256.
async fn tencent(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let timestamp: i64 = header(&headers, "x-tc-timestamp").parse().unwrap();
    let (expected, _) = sms::tencent_sign(
        "sms.tencentcloudapi.com",
        "sms",
        &body,
        "AKIDMockSecretId01",
        TENCENT_SECRET,
        timestamp,
    );
    if header(&headers, "authorization") != expected
        || header(&headers, "x-tc-action") != "SendSms"
        || header(&headers, "x-tc-version") != "2021-01-11"
    {
        return r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated."},"RequestId":"r1"}}"#;
    }
    seen.lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap());
    r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613812341234","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"r2"}}"#
}

async fn mock(router: Router<Seen>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = router.with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn provider(vendor: SmsVendor, url: &str, secret: &str) -> SmsProvider {
    let (key_id, template, app_id) = match vendor {
        SmsVendor::Aliyun => ("LTAI5tMockKeyId01", "SMS_123456789", ""),
        _ => ("AKIDMockSecretId01", "1234567", "1400006666"),
    };
    SmsProvider {
        vendor,
        url: url.to_string(),
        sign: "常宁市观摩会".into(),
        key: secret.to_string(),
        key_id: key_id.to_string(),
        template: template.to_string(),
        app_id: app_id.to_string(),
        region: String::new(),
    }
}

async fn send(p: SmsProvider) -> Result<(), sms::SmsError> {
    tokio::task::spawn_blocking(move || sms::send(&p, "13812341234", "204861"))
        .await
        .unwrap()
}

#[tokio::test]
async fn aliyun_sends_with_the_right_secret_and_maps_a_wrong_one_to_a_clear_message() {
    let (url, seen) = mock(Router::new().route("/", post(aliyun))).await;
    send(provider(SmsVendor::Aliyun, &url, ALIYUN_SECRET))
        .await
        .unwrap();
    let got = seen.lock().unwrap()[0].clone();
    assert_eq!(got["PhoneNumbers"], "13812341234");
    assert_eq!(got["SignName"], "常宁市观摩会");
    assert_eq!(got["TemplateCode"], "SMS_123456789");
    assert_eq!(got["TemplateParam"], r#"{"code":"204861"}"#);

    let e = send(provider(SmsVendor::Aliyun, &url, "wrong-secret"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch");
    assert_eq!(
        e.message,
        "阿里云短信:签名校验失败:AccessKey Secret 不正确,请核对后重新填写"
    );
    assert!(
        !e.to_string().contains("wrong-secret"),
        "no secret in errors"
    );
    assert_eq!(seen.lock().unwrap().len(), 1, "the wrong one was not sent");
}

#[tokio::test]
async fn tencent_sends_with_the_right_secret_and_maps_a_wrong_one_to_a_clear_message() {
    let (url, seen) = mock(Router::new().route("/", post(tencent))).await;
    send(provider(SmsVendor::Tencent, &url, TENCENT_SECRET))
        .await
        .unwrap();
    let got = seen.lock().unwrap()[0].clone();
    assert_eq!(got["PhoneNumberSet"][0], "+8613812341234");
    assert_eq!(got["SmsSdkAppId"], "1400006666");
    assert_eq!(got["SignName"], "常宁市观摩会");
    assert_eq!(got["TemplateId"], "1234567");
    assert_eq!(got["TemplateParamSet"][0], "204861");

    let e = send(provider(SmsVendor::Tencent, &url, "wrong-secret"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "AuthFailure.SignatureFailure");
    assert_eq!(
        e.message,
        "腾讯云短信:签名校验失败:SecretKey 不正确,请核对后重新填写"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreachable_vendor_says_so() {
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    drop(l);
    let e = send(provider(SmsVendor::Tencent, &url, TENCENT_SECRET))
        .await
        .unwrap_err();
    assert_eq!(e.code, "unreachable");
    assert!(e.message.starts_with("无法连接腾讯云短信"), "{}", e.message);
}
