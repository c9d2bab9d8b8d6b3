//! Decoding imported text: a BOM decides (UTF-8, UTF-16 LE/BE), else valid UTF-8 is taken as
//! is, else GB18030 (a superset of GBK, what Excel on Chinese Windows saves). Text that none of
//! these decodes cleanly is refused rather than imported with replacement characters.

use super::ExchangeError;
use encoding_rs::{Encoding, GB18030};

/// The message for bytes no supported encoding decodes.
pub(crate) const UNKNOWN_ENCODING: &str = "无法识别文件编码,请另存为 UTF-8 或 GBK";

/// Decodes a text file; the BOM, if any, is not part of the result.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<String, ExchangeError> {
    let unreadable = || ExchangeError::Unreadable(UNKNOWN_ENCODING.into());
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let rest = bytes.get(bom_len..).unwrap_or_default();
        let (text, had_errors) = encoding.decode_without_bom_handling(rest);
        return if had_errors {
            Err(unreadable())
        } else {
            Ok(text.into_owned())
        };
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    let (text, had_errors) = GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        Err(unreadable())
    } else {
        Ok(text.into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "名称,区划代码\n水口山镇,430482001000\n";

    #[test]
    fn a_utf8_bom_is_stripped() {
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice(SAMPLE.as_bytes());
        assert_eq!(decode_text(&b).unwrap(), SAMPLE);
    }

    #[test]
    fn utf16_with_a_bom_is_decoded_in_either_byte_order() {
        let units: Vec<u16> = SAMPLE.encode_utf16().collect();
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in units {
            le.extend_from_slice(&u.to_le_bytes());
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode_text(&le).unwrap(), SAMPLE);
        assert_eq!(decode_text(&be).unwrap(), SAMPLE);
    }

    #[test]
    fn utf8_without_a_bom_is_taken_as_is() {
        assert_eq!(decode_text(SAMPLE.as_bytes()).unwrap(), SAMPLE);
    }

    #[test]
    fn gbk_bytes_from_chinese_excel_are_decoded() {
        let (gbk, _, had_errors) = encoding_rs::GBK.encode(SAMPLE);
        assert!(!had_errors);
        assert!(
            std::str::from_utf8(&gbk).is_err(),
            "the sample must not be valid UTF-8"
        );
        assert_eq!(decode_text(&gbk).unwrap(), SAMPLE);
    }

    #[test]
    fn bytes_no_encoding_decodes_are_refused_with_advice() {
        match decode_text(&[0x41, 0xFF, 0xFF, 0x80, 0x42]) {
            Err(ExchangeError::Unreadable(m)) => assert_eq!(m, UNKNOWN_ENCODING),
            other => panic!("expected Unreadable, got {other:?}"),
        }
    }
}
