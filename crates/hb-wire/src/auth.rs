//! Message authentication: the key ring of the authkeys file and the three digest methods.
//!
//! * `crc`: a CRC-32 with the CKSUM parameters (polynomial 0x04C11DB7 processed most
//!   significant bit first, initial register 0, result inverted, no length appended). It
//!   uses no key, so it only detects corruption. Printed in lowercase hex without leading
//!   zeros (1–8 characters).
//! * `md5`, `sha1`: HMAC (RFC 2104) over MD5 or SHA-1 with the key of the authkeys line,
//!   printed as 32 or 40 lowercase hex characters.
//!
//! Digests are compared as strings: an upper-case digest, or a crc with a leading zero,
//! does not match.

use std::fmt;

use md5::{Digest, Md5};
use sha1::Sha1;

/// Number of key slots in an authkeys file (indexes 0–15).
pub const KEY_SLOTS: usize = 16;

/// One authkeys method with its key.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMethod {
    Crc,
    Md5(Vec<u8>),
    Sha1(Vec<u8>),
}

impl AuthMethod {
    /// The method's name as written in authkeys (`crc`, `md5`, `sha1`).
    pub fn name(&self) -> &'static str {
        match self {
            AuthMethod::Crc => "crc",
            AuthMethod::Md5(_) => "md5",
            AuthMethod::Sha1(_) => "sha1",
        }
    }

    /// The key (empty for crc, which the original stores as an empty string).
    pub fn key(&self) -> &[u8] {
        match self {
            AuthMethod::Crc => &[],
            AuthMethod::Md5(k) | AuthMethod::Sha1(k) => k,
        }
    }
}

// Keys stay out of logs and debug dumps.
impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::Crc => f.write_str("Crc"),
            AuthMethod::Md5(k) => write!(f, "Md5(<{} byte key>)", k.len()),
            AuthMethod::Sha1(k) => write!(f, "Sha1(<{} byte key>)", k.len()),
        }
    }
}

/// Why a [`KeyRing`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRingError {
    /// An index outside 0–15.
    IndexOutOfRange(u8),
    /// The active (`auth N`) index has no method. The original's text:
    /// `Auth Key [N] not found in keyfile [...]`.
    ActiveMissing(u8),
}

impl fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRingError::IndexOutOfRange(i) => {
                write!(f, "authentication index {i} out of range 0-15")
            }
            KeyRingError::ActiveMissing(i) => write!(f, "Auth Key [{i}] not found in keyfile"),
        }
    }
}

impl std::error::Error for KeyRingError {}

/// The keys of an authkeys file: up to 16 indexed methods, one of them active (used to sign
/// what we send, and — the original's quirk — as the key for checking netstring trailers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRing {
    active: u8,
    keys: [Option<AuthMethod>; KEY_SLOTS],
}

impl KeyRing {
    /// Builds a ring from `(index, method)` pairs; a later pair for the same index replaces
    /// an earlier one. Fails if an index is above 15 or if `active` has no method.
    pub fn new(
        active: u8,
        methods: impl IntoIterator<Item = (u8, AuthMethod)>,
    ) -> Result<KeyRing, KeyRingError> {
        let mut keys: [Option<AuthMethod>; KEY_SLOTS] = Default::default();
        for (idx, m) in methods {
            let slot = keys
                .get_mut(usize::from(idx))
                .ok_or(KeyRingError::IndexOutOfRange(idx))?;
            *slot = Some(m);
        }
        if usize::from(active) >= KEY_SLOTS {
            return Err(KeyRingError::IndexOutOfRange(active));
        }
        if keys
            .get(usize::from(active))
            .and_then(Option::as_ref)
            .is_none()
        {
            return Err(KeyRingError::ActiveMissing(active));
        }
        Ok(KeyRing { active, keys })
    }

    /// A ring with a single method at `index`, active.
    pub fn single(index: u8, method: AuthMethod) -> Result<KeyRing, KeyRingError> {
        KeyRing::new(index, [(index, method)])
    }

    /// The active index (`auth N`).
    pub fn active_index(&self) -> u8 {
        self.active
    }

    /// The active method.
    pub fn active(&self) -> &AuthMethod {
        // `new` guarantees the slot is filled; fall back to crc rather than panic.
        self.get(self.active).unwrap_or(&AuthMethod::Crc)
    }

    /// The method configured at `index`, if any.
    pub fn get(&self, index: u8) -> Option<&AuthMethod> {
        self.keys.get(usize::from(index)).and_then(Option::as_ref)
    }

    /// The `IDX DIGEST` text signing `data` with the active index and key, as written in an
    /// inner `auth` field or a trailer.
    pub fn sign(&self, data: &[u8]) -> String {
        format!("{} {}", self.active, digest(self.active(), None, data))
    }
}

/// The digest of `data` with `method`, as text. `key_override` replaces the method's own key
/// (used for netstring trailers, checked with the receiver's active key); crc ignores keys.
pub fn digest(method: &AuthMethod, key_override: Option<&[u8]>, data: &[u8]) -> String {
    match method {
        AuthMethod::Crc => format!("{:x}", crc32_cksum(data)),
        AuthMethod::Md5(k) => hex(&hmac::<Md5>(key_override.unwrap_or(k), data)),
        AuthMethod::Sha1(k) => hex(&hmac::<Sha1>(key_override.unwrap_or(k), data)),
    }
}

/// CRC-32 with the CKSUM parameters but no length suffix: polynomial 0x04C11DB7, MSB-first,
/// initial value 0, final XOR 0xFFFFFFFF.
pub fn crc32_cksum(data: &[u8]) -> u32 {
    let mut crc: u32 = 0;
    for &b in data {
        crc = (crc << 8) ^ CRC_TABLE[((crc >> 24) as u8 ^ b) as usize];
    }
    !crc
}

const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// HMAC over a hash with a 64-byte block (MD5 and SHA-1 both have one).
fn hmac<D: Digest>(key: &[u8], data: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        let hashed = D::digest(key);
        for (dst, src) in block_key.iter_mut().zip(hashed.iter()) {
            *dst = *src;
        }
    } else {
        for (dst, src) in block_key.iter_mut().zip(key) {
            *dst = *src;
        }
    }
    let mut inner = D::new();
    inner.update(block_key.map(|b| b ^ 0x36));
    inner.update(data);
    let inner_hash = inner.finalize();
    let mut outer = D::new();
    outer.update(block_key.map(|b| b ^ 0x5c));
    outer.update(inner_hash);
    outer.finalize().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        // The CRC catalogue's check value for CRC-32/CKSUM (alias CRC-32/POSIX), which is
        // computed without the length suffix the cksum utility adds.
        assert_eq!(crc32_cksum(b""), 0xffff_ffff);
        assert_eq!(crc32_cksum(b"123456789"), 0x765e_7680);
    }

    #[test]
    fn crc_hex_has_no_leading_zeros() {
        // Find an input whose crc is below 0x10000000 and check the text width.
        let mut n = 0u32;
        loop {
            let data = n.to_be_bytes();
            let c = crc32_cksum(&data);
            if c < 0x1000_0000 {
                let d = digest(&AuthMethod::Crc, None, &data);
                assert_eq!(d, format!("{c:x}"));
                assert!(d.len() < 8);
                assert!(!d.starts_with('0') || d == "0");
                break;
            }
            n += 1;
        }
    }

    #[test]
    fn hmac_rfc2202() {
        // RFC 2202 test cases 1, 2 and 6 (key longer than the block).
        let md5_1 = digest(&AuthMethod::Md5(vec![0x0b; 16]), None, b"Hi There");
        assert_eq!(md5_1, "9294727a3638bb1c13f48ef8158bfc9d");
        let md5_2 = digest(
            &AuthMethod::Md5(b"Jefe".to_vec()),
            None,
            b"what do ya want for nothing?",
        );
        assert_eq!(md5_2, "750c783e6ab0b503eaa86e310a5db738");
        let md5_6 = digest(
            &AuthMethod::Md5(vec![0xaa; 80]),
            None,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(md5_6, "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
        let sha_1 = digest(&AuthMethod::Sha1(vec![0x0b; 20]), None, b"Hi There");
        assert_eq!(sha_1, "b617318655057264e28bc0b6fb378c8ef146be00");
        let sha_6 = digest(
            &AuthMethod::Sha1(vec![0xaa; 80]),
            None,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(sha_6, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    }

    #[test]
    fn key_override_replaces_key() {
        let m = AuthMethod::Md5(b"one".to_vec());
        let own = digest(&m, None, b"data");
        let other = digest(&m, Some(b"two"), b"data");
        assert_ne!(own, other);
        assert_eq!(
            other,
            digest(&AuthMethod::Md5(b"two".to_vec()), None, b"data")
        );
        assert_eq!(
            digest(&AuthMethod::Crc, Some(b"x"), b"data"),
            digest(&AuthMethod::Crc, None, b"data")
        );
    }

    #[test]
    fn keyring_rules() {
        assert_eq!(
            KeyRing::new(3, [(1, AuthMethod::Crc)]).unwrap_err(),
            KeyRingError::ActiveMissing(3)
        );
        assert_eq!(
            KeyRing::new(1, [(16, AuthMethod::Crc)]).unwrap_err(),
            KeyRingError::IndexOutOfRange(16)
        );
        assert_eq!(
            KeyRing::new(20, [(1, AuthMethod::Crc)]).unwrap_err(),
            KeyRingError::IndexOutOfRange(20)
        );
        let r = KeyRing::new(
            2,
            [
                (1, AuthMethod::Crc),
                (2, AuthMethod::Md5(b"a".to_vec())),
                (2, AuthMethod::Sha1(b"b".to_vec())),
            ],
        )
        .unwrap();
        assert_eq!(r.active_index(), 2);
        assert_eq!(r.active(), &AuthMethod::Sha1(b"b".to_vec()));
        assert_eq!(r.get(1), Some(&AuthMethod::Crc));
        assert_eq!(r.get(0), None);
        assert_eq!(r.get(200), None);
        assert!(r.sign(b"x").starts_with("2 "));
        assert_eq!(r.sign(b"x").len(), 2 + 40);
    }

    #[test]
    fn debug_hides_keys() {
        let m = AuthMethod::Md5(b"secret-key".to_vec());
        assert!(!format!("{m:?}").contains("secret"));
    }
}
