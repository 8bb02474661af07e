//! Bodies to text by the charset of their Content-Type: UTF-8 unless it names another
//! (ISO-8859-1 and its aliases, US-ASCII, UTF-16 with or without a byte-order mark). Bytes
//! that do not decode become U+FFFD, as browsers do.

/// Decodes `bytes` by the charset `content_type` names.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let charset = content_type.and_then(charset).unwrap_or_default();
    match charset.as_str() {
        "iso-8859-1" | "latin1" | "latin-1" | "l1" | "iso8859-1" | "iso_8859-1" | "cp819"
        | "windows-1252" | "us-ascii" | "ascii" => bytes.iter().map(|&b| b as char).collect(),
        "utf-16le" => utf16(bytes, false),
        "utf-16be" => utf16(bytes, true),
        "utf-16" => match bytes {
            [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
            [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
            _ => utf16(bytes, true),
        },
        _ => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            String::from_utf8_lossy(b).into_owned()
        }
    }
}

/// The `charset` parameter of a Content-Type, lower-cased and unquoted.
fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    })
}

fn utf16(bytes: &[u8], big_endian: bool) -> String {
    let units = bytes.chunks(2).map(|c| {
        let pair = [c[0], *c.get(1).unwrap_or(&0)];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    s.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_by_charset() {
        assert_eq!(decode("é".as_bytes(), None), "é");
        assert_eq!(decode(b"\xEF\xBB\xBFok", Some("text/plain")), "ok");
        assert_eq!(
            decode(b"caf\xe9", Some("text/plain; charset=ISO-8859-1")),
            "café"
        );
        assert_eq!(
            decode(b"caf\xe9", Some("text/plain; charset=\"latin1\"")),
            "café"
        );
        assert_eq!(
            decode(b"h\0i\0", Some("text/plain; charset=utf-16le")),
            "hi"
        );
        assert_eq!(
            decode(b"\xFE\xFF\0h\0i", Some("text/plain;charset=utf-16")),
            "hi"
        );
        assert_eq!(decode(b"a\xffb", Some("application/json")), "a\u{fffd}b");
    }
}
