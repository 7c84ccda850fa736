//! Query strings (`a=1&b=x%20y`) as every component reads them: one decoder, so a parameter
//! means the same thing on every route.

/// The value of `name` in a query string, percent-decoded (`+` is a space); `Some("")` for a
/// bare `name` or `name=`, `None` when absent. Keys are decoded before comparing.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// Decodes `%XX` (two hex digits) and `+` (a space); a `%` without two hex digits stays as
/// it is, bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 2;
            }
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{percent_decode, query_param};

    #[test]
    fn decodes_query_parameters() {
        let q = "jobId=a%2Fb&status=Running&x&name=a+b&bad=%zz&end=%4&sign=%+1&k%65y=v";
        assert_eq!(query_param(q, "jobId").as_deref(), Some("a/b"));
        assert_eq!(query_param(q, "status").as_deref(), Some("Running"));
        assert_eq!(query_param(q, "x").as_deref(), Some(""));
        assert_eq!(query_param(q, "name").as_deref(), Some("a b"));
        assert_eq!(query_param(q, "bad").as_deref(), Some("%zz"));
        assert_eq!(query_param(q, "end").as_deref(), Some("%4"));
        assert_eq!(query_param(q, "sign").as_deref(), Some("% 1"));
        assert_eq!(query_param(q, "key").as_deref(), Some("v"));
        assert_eq!(query_param(q, "nope"), None);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(percent_decode("%C3%A9%FF"), "é\u{FFFD}");
    }
}
