//! The key format: generation, parsing, checksums, redaction.

use keygate::keys::{FormatError, KeyFormat, CHECKSUM_LEN, KEY_ID_LEN, SECRET_LEN};
use secrecy::ExposeSecret;

#[test]
fn generated_keys_have_the_documented_shape_and_parse() {
    let format = KeyFormat::default();
    let key = format.generate().expect("rng");
    let full = key.full.expose_secret();
    let parts: Vec<&str> = full.split('_').collect();
    assert_eq!(parts.len(), 3, "{full:?} has three parts");
    assert_eq!(parts[0], "kg");
    assert_eq!(parts[1].len(), KEY_ID_LEN);
    assert!(parts[1]
        .bytes()
        .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
    assert_eq!(parts[2].len(), SECRET_LEN + CHECKSUM_LEN);
    assert!(parts[2].bytes().all(|b| b.is_ascii_alphanumeric()));

    let parsed = format.parse(full).expect("own key parses");
    assert_eq!(parsed.key_id, key.key_id);
    assert_eq!(parsed.secret.expose_secret(), key.secret.expose_secret());
}

#[test]
fn keys_are_distinct() {
    let format = KeyFormat::default();
    let a = format.generate().expect("rng");
    let b = format.generate().expect("rng");
    assert_ne!(a.key_id, b.key_id);
    assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
}

#[test]
fn custom_prefix_is_used_and_checked() {
    let format = KeyFormat::new("acme").expect("valid prefix");
    let key = format.generate().expect("rng");
    assert!(key.full.expose_secret().starts_with("acme_"));
    assert!(format.parse(key.full.expose_secret()).is_ok());
    let other = KeyFormat::default();
    assert_eq!(
        other.parse(key.full.expose_secret()).err(),
        Some(FormatError::WrongPrefix)
    );
    for bad in ["", "a_b", "ACME", "x-y", "abcdefghijklmnopq"] {
        assert_eq!(
            KeyFormat::new(bad).err(),
            Some(FormatError::BadPrefix),
            "{bad:?}"
        );
    }
}

#[test]
fn every_single_character_change_is_rejected() {
    let format = KeyFormat::default();
    let key = format.generate().expect("rng");
    let full = key.full.expose_secret().to_owned();
    for i in 0..full.len() {
        let mut bytes = full.clone().into_bytes();
        bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(bytes).expect("ascii");
        assert!(format.parse(&typo).is_err(), "typo at {i} accepted");
    }
}

#[test]
fn malformed_keys_are_rejected_without_panicking() {
    let format = KeyFormat::default();
    let key = format.generate().expect("rng");
    let full = key.full.expose_secret();
    let cases = [
        String::new(),
        "kg".to_owned(),
        "kg_".to_owned(),
        "kg__".to_owned(),
        format!("{full}x"),
        full[..full.len() - 1].to_owned(),
        full.replacen('_', "-", 2),
        format!("kg_{}", "é".repeat(20)),
        format!("kg_abcdefghijkl_{}", "_".repeat(28)),
        format!("kg_ABCDEFGHIJKL_{}", &full[16..]),
    ];
    for case in cases {
        assert!(format.parse(&case).is_err(), "{case:?} accepted");
    }
}

#[test]
fn checksum_mismatch_is_reported_as_such() {
    let format = KeyFormat::default();
    let key = format.generate().expect("rng");
    let full = key.full.expose_secret();
    // Change one secret character but keep the old checksum.
    let mut bytes = full.as_bytes().to_vec();
    let i = full.len() - CHECKSUM_LEN - 1;
    bytes[i] = if bytes[i] == b'Z' { b'Y' } else { b'Z' };
    let typo = String::from_utf8(bytes).expect("ascii");
    assert_eq!(format.parse(&typo).err(), Some(FormatError::BadChecksum));
}

#[test]
fn debug_never_shows_the_secret() {
    let format = KeyFormat::default();
    let key = format.generate().expect("rng");
    let secret = key.secret.expose_secret().to_owned();
    let parsed = format.parse(key.full.expose_secret()).expect("parses");
    for text in [format!("{key:?}"), format!("{parsed:?}")] {
        assert!(!text.contains(&secret), "{text}");
        assert!(text.contains(&key.key_id), "the id is public: {text}");
    }
}
