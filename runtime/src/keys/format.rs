//! The key format `<prefix>_<key id>_<secret><checksum>`: generation and parsing.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// Length of the public key id: lowercase base32 (`a-z`, `2-7`), 60 random bits.
pub const KEY_ID_LEN: usize = 12;
/// Length of the secret: base62, 22 characters carry about 131 random bits.
pub const SECRET_LEN: usize = 22;
/// Length of the checksum: CRC32 in base62, zero-padded.
pub const CHECKSUM_LEN: usize = 6;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How keys look: the prefix before the first `_` (default `kg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFormat {
    prefix: String,
}

impl Default for KeyFormat {
    fn default() -> KeyFormat {
        KeyFormat {
            prefix: "kg".to_owned(),
        }
    }
}

/// Why a key string was rejected. Only for logs: the client sees "invalid" either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    /// A prefix for [`KeyFormat::new`] that is empty, too long or not `[a-z0-9]`.
    BadPrefix,
    /// The key does not start with `<prefix>_`.
    WrongPrefix,
    /// The key id or the separator after it is missing or malformed.
    BadKeyId,
    /// The secret part has the wrong length or characters.
    BadSecret,
    /// The checksum does not match: a typo or a made-up key.
    BadChecksum,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormatError::BadPrefix => "a key prefix must be 1 to 16 characters of a-z and 0-9",
            FormatError::WrongPrefix => "the key does not start with the expected prefix",
            FormatError::BadKeyId => "the key id part is malformed",
            FormatError::BadSecret => "the secret part is malformed",
            FormatError::BadChecksum => "the key's checksum does not match",
        })
    }
}

impl std::error::Error for FormatError {}

/// The OS random number generator failed; no key can be issued.
#[derive(Debug, Clone)]
pub struct RngError(String);

impl fmt::Display for RngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the OS random number generator failed: {}", self.0)
    }
}

impl std::error::Error for RngError {}

/// A key that passed [`KeyFormat::parse`]: the public id and the secret (with checksum).
pub struct ParsedKey {
    /// The public key id.
    pub key_id: String,
    /// `<secret><checksum>`: what is hashed and stored.
    pub secret: SecretString,
}

impl fmt::Debug for ParsedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedKey")
            .field("key_id", &self.key_id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// A freshly generated key: the full string (shown once) and its parts.
pub struct GeneratedKey {
    /// The public key id.
    pub key_id: String,
    /// `<secret><checksum>`, the part whose SHA-256 is stored.
    pub secret: SecretString,
    /// The full key `<prefix>_<key id>_<secret><checksum>`.
    pub full: SecretString,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("key_id", &self.key_id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

impl KeyFormat {
    /// A format with this prefix: 1 to 16 characters of `a-z0-9` (no `_`, so parsing
    /// is unambiguous).
    pub fn new(prefix: &str) -> Result<KeyFormat, FormatError> {
        let ok = !prefix.is_empty()
            && prefix.len() <= 16
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return Err(FormatError::BadPrefix);
        }
        Ok(KeyFormat {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A new random key id.
    pub fn generate_key_id(&self) -> Result<String, RngError> {
        random_chars(BASE32, KEY_ID_LEN)
    }

    /// A new secret for `key_id`, with checksum, and the full key.
    pub fn generate_secret(&self, key_id: &str) -> Result<GeneratedKey, RngError> {
        let secret = random_chars(BASE62, SECRET_LEN)?;
        let full = self.assemble(key_id, &secret);
        let secret_and_checksum = full.expose_secret()
            [full.expose_secret().len() - SECRET_LEN - CHECKSUM_LEN..]
            .to_owned();
        Ok(GeneratedKey {
            key_id: key_id.to_owned(),
            secret: SecretString::from(secret_and_checksum),
            full,
        })
    }

    /// The full key `<prefix>_<key id>_<secret><checksum>` for these parts, with the
    /// checksum computed (for tests and tools that build keys from known parts).
    pub fn assemble(&self, key_id: &str, secret: &str) -> SecretString {
        let mut full = format!("{}_{}_{}", self.prefix, key_id, secret);
        let checksum = checksum(&full);
        full.extend(checksum.iter().map(|&b| char::from(b)));
        SecretString::from(full)
    }

    /// A new key id and secret.
    pub fn generate(&self) -> Result<GeneratedKey, RngError> {
        let key_id = self.generate_key_id()?;
        self.generate_secret(&key_id)
    }

    /// Splits and checks a full key. Checks shape and checksum only; no store is asked.
    pub fn parse(&self, key: &str) -> Result<ParsedKey, FormatError> {
        let (key_id, secret) = self.split(key)?;
        Ok(ParsedKey {
            key_id: key_id.to_owned(),
            secret: SecretString::from(secret.to_owned()),
        })
    }

    /// [`KeyFormat::parse`] without copies: the key id and `<secret><checksum>`, lent
    /// from `key`.
    pub(crate) fn split<'k>(&self, key: &'k str) -> Result<(&'k str, &'k str), FormatError> {
        let rest = key
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or(FormatError::WrongPrefix)?;
        // `split_at_checked` refuses a cut inside a character; the alphabet checks then
        // leave only ASCII, so the byte offsets below are character boundaries.
        let (key_id, rest) = rest
            .split_at_checked(KEY_ID_LEN)
            .ok_or(FormatError::BadKeyId)?;
        if !all_in::<KEY_ID_LEN>(key_id, is_base32) {
            return Err(FormatError::BadKeyId);
        }
        let secret = rest.strip_prefix('_').ok_or(FormatError::BadKeyId)?;
        if !all_in::<{ SECRET_LEN + CHECKSUM_LEN }>(secret, is_base62) {
            return Err(FormatError::BadSecret);
        }
        let (body, given) = key.as_bytes().split_at(key.len() - CHECKSUM_LEN);
        if u64::from(crc32(body)) != base62_value(given) {
            return Err(FormatError::BadChecksum);
        }
        Ok((key_id, secret))
    }

    /// Rebuilds the full key from a key id and `<secret><checksum>` (HTTP Basic) and
    /// parses it.
    pub fn parse_pair(&self, key_id: &str, secret: &str) -> Result<ParsedKey, FormatError> {
        let full = SecretString::from(format!("{}_{}_{}", self.prefix, key_id, secret));
        self.parse(full.expose_secret())
    }
}

/// The CRC32 of `body` in base62, zero-padded to [`CHECKSUM_LEN`] characters. No
/// allocation: it runs on every presented key.
fn checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    base62_digits(crc32(body.as_bytes()))
}

/// `value` in base62, zero-padded to [`CHECKSUM_LEN`] digits.
fn base62_digits(value: u32) -> [u8; CHECKSUM_LEN] {
    let mut value = u64::from(value);
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// CRC-32 (IEEE), four bytes a step from eight 16-entry tables of one cache line each:
/// every step reads every line, so which memory a key's bytes touch does not depend on
/// them (byte-wise tables span many lines).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    let mut words = bytes.chunks_exact(4);
    for word in &mut words {
        crc ^= u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        // The register after 32 zero bits is the XOR of what each of its nibbles gives.
        crc = (0..8).fold(0, |acc, at| {
            acc ^ WORD_STEP.0[at][((crc >> (4 * at)) & 15) as usize]
        });
    }
    for &b in words.remainder() {
        crc = shift(crc ^ u32::from(b), 8);
    }
    !crc
}

/// The register `value` after `bits` zero bits went through it, bit by bit.
const fn shift(mut value: u32, bits: u32) -> u32 {
    let mut bit = 0;
    while bit < bits {
        value = (value >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(value & 1));
        bit += 1;
    }
    value
}

#[repr(align(64))]
struct Tables([[u32; 16]; 8]);

/// Entry `i` of table `at`: a register holding `i` in its nibble `at`, after 32 bits.
static WORD_STEP: Tables = Tables({
    let mut tables = [[0u32; 16]; 8];
    let mut at = 0;
    while at < 8 {
        let mut i = 0;
        while i < 16 {
            tables[at][i] = shift((i as u32) << (4 * at), 32);
            i += 1;
        }
        at += 1;
    }
    tables
});

/// The number that base62 `digits` spell. Arithmetic, not a table: the time taken does
/// not depend on which digits they are. The characters are checked before.
fn base62_value(digits: &[u8]) -> u64 {
    digits.iter().fold(0, |value, &c| {
        let digit = c
            .wrapping_sub(b'0')
            .wrapping_sub(7 * u8::from(c >= b'A'))
            .wrapping_sub(6 * u8::from(c >= b'a'));
        value * 62 + u64::from(digit)
    })
}

/// Whether `b` is in [`BASE32`]. Compares, not a table: no memory access depends on the
/// characters of a presented key, and the loop over a key vectorises.
fn is_base32(b: u8) -> bool {
    (b.wrapping_sub(b'a') < 26) | (b.wrapping_sub(b'2') < 6)
}

/// Whether `b` is in [`BASE62`], the same way.
fn is_base62(b: u8) -> bool {
    (b.wrapping_sub(b'0') < 10) | (b.wrapping_sub(b'A') < 26) | (b.wrapping_sub(b'a') < 26)
}

/// Whether `text` is `N` bytes long and every byte passes `is_in`, without branches on
/// the bytes: how long it takes does not depend on the characters presented. A fixed
/// length lets the compiler unroll and vectorise the loop.
fn all_in<const N: usize>(text: &str, is_in: impl Fn(u8) -> bool) -> bool {
    let Ok(bytes) = <&[u8; N]>::try_from(text.as_bytes()) else {
        return false;
    };
    bytes.iter().fold(true, |ok, &b| ok & is_in(b))
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
fn random_chars(alphabet: &[u8], len: usize) -> Result<String, RngError> {
    let n = alphabet.len();
    // Largest multiple of n that fits in a byte; bytes at or above it are rejected.
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|e| RngError(e.to_string()))?;
        for &b in &buf {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % n]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_checks_match_the_alphabets() {
        for b in 0..=u8::MAX {
            assert_eq!(is_base32(b), BASE32.contains(&b), "byte {b}");
            assert_eq!(is_base62(b), BASE62.contains(&b), "byte {b}");
        }
    }

    #[test]
    fn crc32_is_the_usual_one() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let mut text = Vec::new();
        for n in 0..300u32 {
            text.push((n.wrapping_mul(2_654_435_761) >> 24) as u8);
            assert_eq!(crc32(&text), crc32fast::hash(&text), "{n}");
        }
    }

    #[test]
    fn base62_digits_read_back_as_their_number() {
        for value in [0u32, 1, 61, 62, 3843, 0xCBF4_3926, u32::MAX] {
            assert_eq!(base62_value(&base62_digits(value)), u64::from(value));
        }
        for (i, &c) in BASE62.iter().enumerate() {
            assert_eq!(base62_value(&[c]), i as u64);
        }
    }

    #[test]
    fn every_changed_checksum_character_is_refused() {
        let format = KeyFormat::new("acme").unwrap();
        let key = format.generate().unwrap().full;
        let key = key.expose_secret();
        assert!(format.split(key).is_ok());
        for at in key.len() - CHECKSUM_LEN..key.len() {
            for &c in BASE62 {
                if c == key.as_bytes()[at] {
                    continue;
                }
                let mut changed = key.as_bytes().to_vec();
                changed[at] = c;
                let changed = String::from_utf8(changed).unwrap();
                assert_eq!(format.split(&changed), Err(FormatError::BadChecksum));
            }
        }
    }
}
