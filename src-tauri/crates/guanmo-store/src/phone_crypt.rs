//! Residents' phone numbers at rest on the site host (issue 21): sealed with XChaCha20-Poly1305
//! under a key kept in the data folder, found again by a keyed hash, shown masked.
//!
//! The key file (`phone.key` beside the database) holds two independent 32-byte keys from the
//! operating system's CSPRNG: the first seals numbers, the second hashes them (keyed BLAKE3).
//! It is made on the first open, written `0600` under a temporary name, fsynced and renamed, and
//! is never synced to other devices, never put in a sync bundle or a replica, and never logged
//! (`Debug` prints no byte of it). A backup (`.gmbak`) carries it beside the database, since a
//! restored database is unreadable without it; the backup file is as secret as the data folder.
//!
//! A stored number is `nonce ‖ ciphertext ‖ tag`: a fresh random 24-byte nonce per value, so
//! the same number sealed twice gives two unrelated values and nothing can be compared on
//! them; equality (a mute, a number's comments) is decided on the keyed hash instead. Only the
//! role-checked 评论记录 export opens sealed numbers.
//!
//! The database remembers which key it was written with (`meta.phone_key_id`, a keyed hash of
//! a fixed label, not the key): a store opened with another key, or whose key file is gone, is
//! refused with [`StoreError::PhoneKey`] rather than writing numbers nobody can read back.

use crate::{Result, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::io::Write;
use std::path::Path;

/// File name of the key, in the data folder beside the database.
pub const KEY_FILE: &str = "phone.key";
/// Bytes of the key file: the sealing key, then the hashing key.
const KEY_FILE_LEN: usize = 64;
/// Bytes of a nonce.
const NONCE_LEN: usize = 24;
/// Bytes of the Poly1305 tag.
const TAG_LEN: usize = 16;
/// Bytes of a sealed 11-digit number: nonce, ciphertext, tag (the schema checks it).
pub const SEALED_LEN: usize = NONCE_LEN + 11 + TAG_LEN;
/// Bytes of a number's keyed hash.
pub const HASH_LEN: usize = 32;
/// Associated data every sealed number is bound to: a value sealed for anything else (or by
/// another format version) does not open as a number.
const AAD: &[u8] = b"guanmo phone number v1";
/// Meta key of the key's id.
pub(crate) const KEY_ID_META: &str = "phone_key_id";

/// The two keys. Cheap to share behind an `Arc`; never printed.
pub struct PhoneKeys {
    seal: XChaCha20Poly1305,
    hash_key: [u8; 32],
}

impl std::fmt::Debug for PhoneKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneKeys(redacted)")
    }
}

/// A number as the site host stores it: sealed, hashed, masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhone {
    /// `nonce ‖ ciphertext ‖ tag`.
    pub sealed: Vec<u8>,
    /// Keyed hash, for equality and lookups.
    pub hash: [u8; HASH_LEN],
    /// `138****5678`, for display.
    pub masked: String,
}

/// A sealed number with its masked form, as a moderation line keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPhone {
    /// `nonce ‖ ciphertext ‖ tag`.
    pub sealed: Vec<u8>,
    /// `138****5678`.
    pub masked: String,
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| StoreError::PhoneKey(format!("the system's random source failed: {e}")))?;
    Ok(b)
}

impl PhoneKeys {
    /// Keys from the key file's 64 bytes.
    pub fn from_bytes(bytes: &[u8; KEY_FILE_LEN]) -> PhoneKeys {
        let mut seal_key = [0u8; 32];
        let mut hash_key = [0u8; 32];
        seal_key.copy_from_slice(&bytes[..32]);
        hash_key.copy_from_slice(&bytes[32..]);
        PhoneKeys {
            seal: XChaCha20Poly1305::new(&seal_key.into()),
            hash_key,
        }
    }

    /// Fresh keys from the operating system's CSPRNG.
    pub fn generate() -> Result<(PhoneKeys, [u8; KEY_FILE_LEN])> {
        let bytes = random::<KEY_FILE_LEN>()?;
        Ok((PhoneKeys::from_bytes(&bytes), bytes))
    }

    /// The keys of the key file at `path`, or `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<PhoneKeys>> {
        let bytes = match std::fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        let bytes: [u8; KEY_FILE_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
            StoreError::PhoneKey(format!(
                "{} holds {} bytes, not {KEY_FILE_LEN}",
                path.display(),
                b.len()
            ))
        })?;
        Ok(Some(PhoneKeys::from_bytes(&bytes)))
    }

    /// The keys of the key file at `path`, made (and written: `0600`, temporary name, fsync,
    /// rename, folder fsync) when there is none. Returns whether they were made now.
    pub fn load_or_create(path: &Path) -> Result<(PhoneKeys, bool)> {
        if let Some(keys) = PhoneKeys::load(path)? {
            return Ok((keys, false));
        }
        let (keys, bytes) = PhoneKeys::generate()?;
        write_key_file(path, &bytes)?;
        Ok((keys, true))
    }

    /// Seals `phone` (11 digits) under a fresh random nonce.
    pub fn seal(&self, phone: &str) -> Result<Vec<u8>> {
        if !eleven_digits(phone) {
            return Err(StoreError::Corrupt(
                "a phone number to seal is not 11 digits".into(),
            ));
        }
        let nonce = random::<NONCE_LEN>()?;
        let ct = self
            .seal
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: phone.as_bytes(),
                    aad: AAD,
                },
            )
            .map_err(|_| StoreError::PhoneKey("sealing a phone number failed".into()))?;
        let mut out = Vec::with_capacity(SEALED_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed number. Fails with [`StoreError::PhoneKey`] when the value was sealed
    /// under another key, or was changed.
    pub fn open(&self, sealed: &[u8]) -> Result<String> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(StoreError::PhoneKey(format!(
                "a sealed phone number of {} bytes is too short",
                sealed.len()
            )));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let plain = self
            .seal
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: AAD })
            .map_err(|_| {
                StoreError::PhoneKey(
                    "a sealed phone number does not open with this data folder's phone.key \
                     (another key, or the value was changed)"
                        .into(),
                )
            })?;
        String::from_utf8(plain)
            .ok()
            .filter(|p| eleven_digits(p))
            .ok_or_else(|| StoreError::Corrupt("a sealed phone number is not 11 digits".into()))
    }

    /// The keyed hash of `phone`: the same number always gives the same hash under these keys.
    pub fn hash(&self, phone: &str) -> [u8; HASH_LEN] {
        *blake3::keyed_hash(&self.hash_key, phone.as_bytes()).as_bytes()
    }

    /// `phone` (11 digits) sealed, hashed and masked.
    pub fn protect(&self, phone: &str) -> Result<StoredPhone> {
        Ok(StoredPhone {
            sealed: self.seal(phone)?,
            hash: self.hash(phone),
            masked: format!("{}****{}", &phone[..3], &phone[7..]),
        })
    }

    /// An id of these keys (hex of a keyed hash of a fixed label): what the database
    /// remembers to tell its own key from another one. Reveals nothing of the keys.
    pub fn id(&self) -> String {
        let h = blake3::keyed_hash(&self.hash_key, b"guanmo phone key id");
        h.as_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Checks that the key file `key` (if any) is the one the database copy at `db` sealed its
/// numbers with: for a restore, before the copy is put in place. A copy that names no key
/// (from before 0024, or never opened since) fits any key or none.
pub fn check_key_of_copy(db: &Path, key: &Path) -> Result<()> {
    let conn = crate::db::open_read_only(db)?;
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    let stored = if has_meta {
        crate::meta::get(&conn, KEY_ID_META)?
    } else {
        None
    };
    let Some(stored) = stored else {
        return Ok(());
    };
    match PhoneKeys::load(key)? {
        Some(keys) if keys.id() == stored => Ok(()),
        Some(_) => Err(StoreError::PhoneKey(
            "the phone key beside the database is not the one its numbers were sealed with".into(),
        )),
        None => Err(StoreError::PhoneKey(
            "the database's numbers are sealed but its phone key is missing".into(),
        )),
    }
}

/// The schema's rule for a stored number (the site validates mobile numbers more strictly).
fn eleven_digits(s: &str) -> bool {
    s.len() == 11 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Writes `bytes` to `path` readable by its owner only: a temporary file beside it, fsynced,
/// renamed into place, the folder fsynced; a crash leaves the old state or the whole file.
fn write_key_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{KEY_FILE}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| -> Result<()> {
        let mut f = options.open(&tmp)?;
        #[cfg(unix)]
        {
            // An existing temporary file keeps its mode: make sure.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn keys() -> PhoneKeys {
        PhoneKeys::generate().unwrap().0
    }

    #[test]
    fn a_number_round_trips_and_its_sealed_form_holds_no_digit_run() {
        let k = keys();
        let sealed = k.seal("13812345678").unwrap();
        assert_eq!(sealed.len(), SEALED_LEN);
        assert!(!sealed.windows(11).any(|w| w == b"13812345678"));
        assert_eq!(k.open(&sealed).unwrap(), "13812345678");
    }

    #[test]
    fn another_key_or_a_changed_byte_fails_with_a_clear_error() {
        let (a, b) = (keys(), keys());
        let sealed = a.seal("13812345678").unwrap();
        let e = b.open(&sealed).unwrap_err();
        assert!(matches!(e, StoreError::PhoneKey(_)), "{e}");
        assert!(e.to_string().contains("phone.key"), "{e}");
        let mut changed = sealed.clone();
        changed[30] ^= 1;
        assert!(matches!(a.open(&changed), Err(StoreError::PhoneKey(_))));
        assert!(matches!(
            a.open(&sealed[..20]),
            Err(StoreError::PhoneKey(_))
        ));
    }

    #[test]
    fn every_sealing_takes_a_new_nonce() {
        let k = keys();
        let nonces: HashSet<Vec<u8>> = (0..1000)
            .map(|_| k.seal("13812345678").unwrap()[..NONCE_LEN].to_vec())
            .collect();
        assert_eq!(nonces.len(), 1000);
    }

    #[test]
    fn the_hash_finds_the_same_number_and_only_under_the_same_key() {
        let (a, b) = (keys(), keys());
        assert_eq!(a.hash("13812345678"), a.hash("13812345678"));
        assert_ne!(a.hash("13812345678"), a.hash("13812345679"));
        assert_ne!(a.hash("13812345678"), b.hash("13812345678"));
        assert_ne!(a.id(), b.id());
        let p = a.protect("13812345678").unwrap();
        assert_eq!(p.masked, "138****5678");
        assert_eq!(p.hash, a.hash("13812345678"));
        assert_eq!(a.open(&p.sealed).unwrap(), "13812345678");
    }

    #[test]
    fn only_a_mobile_number_is_sealed() {
        assert!(keys().seal("1381234567").is_err());
        assert!(keys().seal("138123456789").is_err());
        assert!(keys().seal("abc").is_err());
    }

    #[test]
    fn the_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let (a, made) = PhoneKeys::load_or_create(&path).unwrap();
        assert!(made);
        let (b, made) = PhoneKeys::load_or_create(&path).unwrap();
        assert!(!made);
        assert_eq!(a.id(), b.id());
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_FILE_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from(KEY_FILE)]);
        assert_eq!(format!("{a:?}"), "PhoneKeys(redacted)");
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            PhoneKeys::load(&path),
            Err(StoreError::PhoneKey(_))
        ));
    }

    // ---- the store as a whole ----

    use crate::comments::{self, NewComment};
    use chrono::{DateTime, Utc};
    use guanmo_domain::comments::{CommentInput, CommentKind};

    const NUMBERS: [&str; 3] = ["13812345678", "13900001111", "15077778888"];

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// The database file and its WAL, as bytes.
    fn raw(db: &Path) -> Vec<u8> {
        let mut bytes = std::fs::read(db).unwrap();
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        if let Ok(w) = std::fs::read(&wal) {
            bytes.extend(w);
        }
        bytes
    }

    fn assert_no_number(db: &Path) {
        let bytes = raw(db);
        assert!(bytes.len() > 4096, "the file was read");
        for n in NUMBERS {
            for needle in [n.as_bytes().to_vec(), n.as_bytes()[..8].to_vec()] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                    "{} found in {}",
                    String::from_utf8_lossy(&needle),
                    db.display()
                );
            }
        }
    }

    fn submit(store: &crate::Store, phone: &str, key: &str) -> String {
        let input = CommentInput {
            target: "event".into(),
            nickname: "宜阳居民".into(),
            kind: CommentKind::Praise,
            text: "为美丽宜阳点赞!".into(),
            township_id: None,
            phone: phone.into(),
        };
        store
            .write(now(), "resident", |tx| {
                comments::insert(
                    tx,
                    &NewComment {
                        input: &input,
                        client_key: key,
                        peer: "10.1.2.3",
                        flagged: &[],
                        verified: false,
                    },
                )
            })
            .unwrap()
    }

    #[test]
    fn the_database_file_holds_no_plain_number() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        let store = crate::Store::open(&db).unwrap();
        let ids: Vec<String> = NUMBERS
            .iter()
            .enumerate()
            .map(|(i, n)| submit(&store, n, &format!("key-{i}")))
            .collect();
        // A mute by number, then lifted (deleted rows leave nothing either), and one kept.
        for id in &ids[..2] {
            store
                .write(now(), "mod", |tx| {
                    comments::mute_author(tx, id, "2027-01-01T00:00:00Z", "广告", true)
                })
                .unwrap();
        }
        store
            .write(now(), "mod", |tx| comments::unmute(tx, &ids[0]))
            .unwrap();
        // Lookups still work on the keyed hash.
        let hash = store.phone_keys().hash(NUMBERS[1]);
        let until = store
            .read(|c| comments::muted_until(c, &hash, "another-key", "2026-12-05T00:00:00Z"))
            .unwrap();
        assert_eq!(until.as_deref(), Some("2027-01-01T00:00:00Z"));
        let (c, sealed) = store.read(comments::all).unwrap().remove(0);
        assert_eq!(c.phone_masked, "138****5678");
        assert_eq!(
            store.phone_keys().open(&sealed.unwrap()).unwrap(),
            NUMBERS[0]
        );
        // Before the checkpoint (WAL and file), and after closing.
        assert_no_number(&db);
        drop(store);
        assert_no_number(&db);
    }

    /// Writes a database at the last version that kept numbers as digits, with every kind of
    /// row that held one, and a lifted mute's number left in a free page.
    fn old_store(db: &Path) {
        let mut c = rusqlite::Connection::open(db).unwrap();
        c.pragma_update(None, "foreign_keys", "OFF").unwrap();
        let v = crate::migrations::phone_encryption_version() as usize - 1;
        crate::migrations::migrations()
            .to_version(&mut c, v)
            .unwrap();
        c.execute_batch(&format!(
            "INSERT INTO comments (id, target, nickname, kind, text, phone, client_key, peer,
                 created_at)
                 VALUES ('c1', 'event', '居民', 'praise', '为宜阳点赞', '{a}', 'k1', '10.0.0.1',
                     '2026-12-04T08:00:00Z'),
                 ('c2', 'event', '居民', 'praise', '为宜阳点赞', '{b}', 'k2', '10.0.0.2',
                     '2026-12-04T08:00:00Z');
             INSERT INTO mutes (phone, until, reason, at, by, comment_id)
                 VALUES ('{a}', '2027-01-01T00:00:00Z', '广告', 'x', 'mod', 'c1');
             INSERT INTO mute_keys (client_key, phone) VALUES ('k1', '{a}');
             INSERT INTO moderation_log (id, at, actor, action, comment_id, phone)
                 VALUES ('l1', 'x', 'mod', 'mute', 'c1', '{a}');
             INSERT INTO mutes (phone, until, reason, at, by)
                 VALUES ('{c}', '2027-01-01T00:00:00Z', '广告', 'x', 'mod');
             DELETE FROM mutes WHERE phone = '{c}';",
            a = NUMBERS[0],
            b = NUMBERS[1],
            c = NUMBERS[2],
        ))
        .unwrap();
    }

    #[test]
    fn an_old_database_is_sealed_on_open_and_keeps_working() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        old_store(&db);
        assert!(
            raw(&db).windows(11).any(|w| w == NUMBERS[2].as_bytes()),
            "the fixture leaves a lifted mute's number in the file"
        );
        let store = crate::Store::open(&db).unwrap();
        assert!(dir.path().join(KEY_FILE).is_file());
        assert_no_number(&db);
        // The number of c1 is muted by its hash; c2's author is not.
        let keys = store.phone_keys();
        let muted = |n: &str| {
            store
                .read(|c| comments::muted_until(c, &keys.hash(n), "k9", "2026-12-05T00:00:00Z"))
                .unwrap()
        };
        assert!(muted(NUMBERS[0]).is_some());
        assert!(muted(NUMBERS[1]).is_none());
        let log = store.read(comments::log_full).unwrap();
        assert_eq!(log[0].0.phone_masked.as_deref(), Some("138****5678"));
        assert_eq!(keys.open(log[0].1.as_ref().unwrap()).unwrap(), NUMBERS[0]);
        let id = submit(&store, NUMBERS[0], "k1");
        assert_eq!(
            store.read(|c| comments::get(c, &id)).unwrap().phone_masked,
            "138****5678"
        );
        drop(store);
        assert_no_number(&db);
        // A second open finds nothing more to do and the same key.
        let store = crate::Store::open(&db).unwrap();
        assert_eq!(store.read(comments::all).unwrap().len(), 3);
    }

    #[test]
    fn a_missing_or_other_key_is_refused_with_the_data_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        let key = dir.path().join(KEY_FILE);
        drop(
            crate::Store::open(&db)
                .map(|s| submit(&s, NUMBERS[0], "k1"))
                .unwrap(),
        );
        let kept = std::fs::read(&key).unwrap();
        std::fs::remove_file(&key).unwrap();
        let e = crate::Store::open(&db).unwrap_err();
        assert!(matches!(e, StoreError::PhoneKey(_)), "{e}");
        assert!(e.to_string().contains("missing"), "{e}");
        assert!(!key.exists(), "no new key is made for sealed numbers");
        write_key_file(&key, &PhoneKeys::generate().unwrap().1).unwrap();
        let e = crate::Store::open(&db).unwrap_err();
        assert!(matches!(e, StoreError::PhoneKey(_)), "{e}");
        write_key_file(&key, &kept).unwrap();
        let store = crate::Store::open(&db).unwrap();
        let (_, sealed) = store.read(comments::all).unwrap().remove(0);
        assert_eq!(
            store.phone_keys().open(&sealed.unwrap()).unwrap(),
            NUMBERS[0]
        );
    }

    #[test]
    fn a_laptop_without_sealed_numbers_gets_a_new_key_when_its_key_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        let key = dir.path().join(KEY_FILE);
        drop(crate::Store::open(&db).unwrap());
        let old = std::fs::read(&key).unwrap();
        std::fs::remove_file(&key).unwrap();
        let store = crate::Store::open(&db).expect("nothing sealed depends on the lost key");
        let new = std::fs::read(&key).unwrap();
        assert_ne!(old, new, "a new key");
        submit(&store, NUMBERS[0], "k1");
        drop(store);
        // The new key is the one remembered: the next open works and reads the number.
        let store = crate::Store::open(&db).unwrap();
        let (_, sealed) = store.read(comments::all).unwrap().remove(0);
        assert_eq!(
            store.phone_keys().open(&sealed.unwrap()).unwrap(),
            NUMBERS[0]
        );
    }

    #[test]
    fn a_restored_copy_must_come_with_the_key_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        let key = dir.path().join(KEY_FILE);
        drop(crate::Store::open(&db).unwrap());
        // The backup's snapshot of the database.
        let copy = dir.path().join("copy").join("g.sqlite3");
        std::fs::create_dir(copy.parent().unwrap()).unwrap();
        crate::backup::copy_database(
            &db,
            &copy,
            &mut |_, _| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
        let copy_key = copy.with_file_name(KEY_FILE);
        let missing = check_key_of_copy(&copy, &copy_key).unwrap_err();
        assert!(missing.to_string().contains("missing"), "{missing}");
        write_key_file(&copy_key, &PhoneKeys::generate().unwrap().1).unwrap();
        assert!(matches!(
            check_key_of_copy(&copy, &copy_key),
            Err(StoreError::PhoneKey(_))
        ));
        std::fs::copy(&key, &copy_key).unwrap();
        check_key_of_copy(&copy, &copy_key).unwrap();
        // A copy from before 0024 names no key: any key or none fits.
        let old = dir.path().join("old.sqlite3");
        old_store(&old);
        check_key_of_copy(&old, &dir.path().join("none.key")).unwrap();
    }
}
