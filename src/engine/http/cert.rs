//! The facts of a server certificate dspec exposes (`cert.subject`, `cert.issuer`,
//! `cert.days_left`), read from its DER with a small reader: the TBSCertificate's issuer,
//! validity and subject are all it needs (RFC 5280, section 4.1).

use std::time::SystemTime;

/// What `cert.*` reads.
#[derive(Clone, Debug, PartialEq)]
pub struct CertInfo {
    /// `CN=localhost, O=dspec`, in the certificate's order.
    pub subject: String,
    pub issuer: String,
    /// `notAfter` in seconds since the Unix epoch.
    pub not_after: i64,
    /// Why the certificate could not be read, when it could not.
    pub error: Option<String>,
}

impl CertInfo {
    pub fn unreadable(error: String) -> CertInfo {
        CertInfo {
            subject: String::new(),
            issuer: String::new(),
            not_after: 0,
            error: Some(error),
        }
    }

    /// Whole days until `notAfter` (negative once expired).
    pub fn days_left(&self) -> i64 {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        (self.not_after - now).div_euclid(86_400)
    }
}

/// One DER element: its tag and contents, and what follows it.
fn element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let bad = || "the certificate is not valid DER".to_string();
    let (&tag, rest) = input.split_first().ok_or_else(bad)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(bad());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// Reads the subject, issuer and expiry of a DER certificate.
pub fn parse(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert, _) = element(der)?;
    let (_, tbs, _) = element(cert)?;
    let mut rest = tbs;
    let (tag, _, r) = element(rest)?;
    if tag == 0xA0 {
        rest = r; // [0] version
    }
    let (_, _, r) = element(rest)?; // serial
    let (_, _, r) = element(r)?; // signature algorithm
    let (_, issuer, r) = element(r)?;
    let (_, validity, r) = element(r)?;
    let (_, subject, _) = element(r)?;
    let (_, _, v) = element(validity)?; // notBefore
    let (tag, not_after, _) = element(v)?;
    Ok(CertInfo {
        subject: name(subject)?,
        issuer: name(issuer)?,
        not_after: time(tag, not_after)?,
        error: None,
    })
}

/// A Name: `CN=x, O=y`.
fn name(mut rdns: &[u8]) -> Result<String, String> {
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (_, set, r) = element(rdns)?;
        rdns = r;
        let mut atvs = set;
        while !atvs.is_empty() {
            let (_, atv, r) = element(atvs)?;
            atvs = r;
            let (_, oid, r) = element(atv)?;
            let (_, value, _) = element(r)?;
            parts.push(format!(
                "{}={}",
                oid_name(oid),
                String::from_utf8_lossy(value)
            ));
        }
    }
    Ok(parts.join(", "))
}

fn oid_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0A] => "O".into(),
        [0x55, 0x04, 0x0B] => "OU".into(),
        [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01] => "emailAddress".into(),
        _ => {
            let mut out = Vec::new();
            if let Some(&first) = oid.first() {
                out.push(u64::from(first / 40));
                out.push(u64::from(first % 40));
            }
            let mut n = 0u64;
            for &b in oid.iter().skip(1) {
                n = (n << 7) | u64::from(b & 0x7f);
                if b & 0x80 == 0 {
                    out.push(n);
                    n = 0;
                }
            }
            out.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
        }
    }
}

/// UTCTime (tag 0x17, `YYMMDDHHMMSSZ`) or GeneralizedTime (0x18, `YYYYMMDDHHMMSSZ`).
fn time(tag: u8, v: &[u8]) -> Result<i64, String> {
    let s = std::str::from_utf8(v).map_err(|_| "a certificate time is not text".to_string())?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i32 = s
                .get(..2)
                .and_then(|y| y.parse().ok())
                .ok_or("bad UTCTime")?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &s[2..])
        }
        0x18 => (
            s.get(..4)
                .and_then(|y| y.parse().ok())
                .ok_or("bad GeneralizedTime")?,
            &s[4..],
        ),
        _ => return Err("the certificate's notAfter is not a time".into()),
    };
    let num = |i: usize| -> Result<u8, String> {
        rest.get(i..i + 2)
            .and_then(|x| x.parse().ok())
            .ok_or_else(|| format!("bad certificate time {s:?}"))
    };
    let month = time::Month::try_from(num(0)?).map_err(|e| e.to_string())?;
    let date = time::Date::from_calendar_date(year, month, num(2)?).map_err(|e| e.to_string())?;
    let t =
        time::Time::from_hms(num(4)?, num(6)?, num(8).unwrap_or(0)).map_err(|e| e.to_string())?;
    Ok(time::PrimitiveDateTime::new(date, t)
        .assume_utc()
        .unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_times_and_names() {
        assert_eq!(time(0x17, b"700101000000Z").unwrap(), 0);
        assert_eq!(time(0x18, b"20000101000000Z").unwrap(), 946_684_800);
        assert_eq!(oid_name(&[0x55, 0x04, 0x03]), "CN");
        assert_eq!(oid_name(&[0x2B, 0x06, 0x01]), "1.3.6.1");
        assert!(parse(b"\x30\x05\x01").is_err());
    }
}
