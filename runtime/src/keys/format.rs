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

/// Bytes of a key between its prefix and its checksum: `_<key id>_<secret>`.
const TAIL_LEN: usize = 1 + KEY_ID_LEN + 1 + SECRET_LEN;

/// How keys look: the prefix before the first `_` (default `kg`).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFormat {
    prefix: String,
    /// The CRC register after the prefix, which every key of the format starts with:
    /// a presented key's checksum runs over its tail alone.
    prefix_register: u32,
}

impl KeyFormat {
    fn with_prefix(prefix: &str) -> KeyFormat {
        KeyFormat {
            prefix: prefix.to_owned(),
            prefix_register: register_after(!0, prefix.as_bytes()),
        }
    }
}

impl Default for KeyFormat {
    fn default() -> KeyFormat {
        KeyFormat::with_prefix("kg")
    }
}

impl fmt::Debug for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFormat")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
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
        Ok(KeyFormat::with_prefix(prefix))
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
        let tail: &[u8; TAIL_LEN] = body[self.prefix.len()..]
            .try_into()
            .map_err(|_| FormatError::BadSecret)?;
        // Not secret material: the checksum is derived from the key itself.
        if u64::from(tail_crc32(self.prefix_register, tail)) != base62_value(given) {
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

/// CRC-32 (IEEE) from tables of 16 entries that each fill one cache line: the usual
/// byte-wise tables span many lines, and which of them a key's bytes touch shows in the
/// time taken (the timing test saw it for secrets near the real one). Four bytes at a
/// time take one entry from each of eight such tables, every line every step, and the
/// eight lookups do not wait on each other (a nibble at a time, each waits on the last:
/// most of the time of a key's parse).
fn crc32(bytes: &[u8]) -> u32 {
    !register_after(!0, bytes)
}

/// The CRC register after `bytes` went through it from `crc`.
fn register_after(mut crc: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(4);
    for chunk in &mut chunks {
        crc = word_through(crc, chunk);
    }
    let table = &NIBBLES.0;
    for &b in chunks.remainder() {
        crc ^= u32::from(b);
        crc = (crc >> 4) ^ table[(crc & 15) as usize];
        crc = (crc >> 4) ^ table[(crc & 15) as usize];
    }
    crc
}

/// The register after the four bytes of `chunk`.
#[inline(always)]
fn word_through(crc: u32, chunk: &[u8]) -> u32 {
    let word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    shifted(&WORDS.0, crc ^ word)
}

/// The register `crc` after the zero bits that `tables` were built for: the CRC is
/// linear, so that is the XOR of one entry per nibble.
#[inline(always)]
fn shifted(tables: &[[u32; 16]; 8], crc: u32) -> u32 {
    let nibble = |at: usize| ((crc >> (4 * at)) & 15) as usize;
    (tables[0][nibble(0)] ^ tables[1][nibble(1)])
        ^ (tables[2][nibble(2)] ^ tables[3][nibble(3)])
        ^ ((tables[4][nibble(4)] ^ tables[5][nibble(5)])
            ^ (tables[6][nibble(6)] ^ tables[7][nibble(7)]))
}

/// The CRC-32 of a key's prefix and `tail`, from the register after the prefix. The
/// tail's thirds run as three chains that do not wait on each other (from the prefix's
/// register and from zero), joined by shifting the first two past the bytes after them:
/// what goes through the register is the XOR of what each part contributes.
fn tail_crc32(prefix_register: u32, tail: &[u8; TAIL_LEN]) -> u32 {
    const THIRD: usize = TAIL_LEN / 3;
    // Each third is whole words: the chains take four bytes a step and have no remainder.
    const _: () = assert!(TAIL_LEN % 12 == 0);
    let chain = |mut crc: u32, part: &[u8]| {
        for chunk in part.chunks_exact(4) {
            crc = word_through(crc, chunk);
        }
        crc
    };
    let first = chain(prefix_register, &tail[..THIRD]);
    let second = chain(0, &tail[THIRD..2 * THIRD]);
    let third = chain(0, &tail[2 * THIRD..]);
    !(shifted(&PAST_TWO_THIRDS.0, first) ^ shifted(&PAST_A_THIRD.0, second) ^ third)
}

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

/// The register `value` after `bits` zero bits went through it.
const fn advance(mut value: u32, bits: u32) -> u32 {
    let mut bit = 0;
    while bit < bits {
        value = (value >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(value & 1));
        bit += 1;
    }
    value
}

#[repr(align(64))]
struct Nibbles([u32; 16]);

/// One nibble through the register.
static NIBBLES: Nibbles = Nibbles({
    let mut table = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        table[i] = advance(i as u32, 4);
        i += 1;
    }
    table
});

#[repr(align(64))]
struct Words([[u32; 16]; 8]);

/// A 32-bit register's nibble `at` after `bits` zero bits went through it.
const fn nibble_tables(bits: u32) -> [[u32; 16]; 8] {
    let mut tables = [[0u32; 16]; 8];
    let mut at = 0;
    while at < 8 {
        let mut i = 0;
        while i < 16 {
            tables[at][i] = advance((i as u32) << (4 * at), bits);
            i += 1;
        }
        at += 1;
    }
    tables
}

/// A word through the register: the register after it is the XOR of its eight
/// nibbles' entries.
static WORDS: Words = Words(nibble_tables(32));
/// The register past a third of a key's tail, and past two thirds.
static PAST_A_THIRD: Words = Words(nibble_tables(8 * (TAIL_LEN / 3) as u32));
static PAST_TWO_THIRDS: Words = Words(nibble_tables(16 * (TAIL_LEN / 3) as u32));

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
    fn a_tail_checksum_is_the_whole_keys() {
        for prefix in ["kg", "a", "acme2024", "abcdefghijklmnop"] {
            let format = KeyFormat::new(prefix).unwrap();
            for n in 0..200u32 {
                let tail: [u8; TAIL_LEN] = std::array::from_fn(|i| {
                    (n.wrapping_mul(2_654_435_761).rotate_left(i as u32) >> 24) as u8
                });
                let mut whole = prefix.as_bytes().to_vec();
                whole.extend_from_slice(&tail);
                assert_eq!(
                    tail_crc32(format.prefix_register, &tail),
                    crc32fast::hash(&whole),
                    "{prefix} {n}"
                );
            }
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
