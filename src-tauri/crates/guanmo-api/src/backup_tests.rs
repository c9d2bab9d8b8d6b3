#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use guanmo_domain::SystemClock;
use std::sync::Arc;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T03:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A data folder with the seeded defaults, a comment, and photo-store files (one temporary
/// file the store would leave only mid-write).
fn data_folder(root: &Path) -> (PathBuf, Ctx) {
    let dir = root.join("data");
    let ctx = Ctx::open(&dir, Arc::new(guanmo_domain::FixedClock::new(now()))).unwrap();
    crate::feed::create_draft(
        &ctx,
        guanmo_domain::feed::PostInput {
            body: "备份前的草稿".into(),
            ..Default::default()
        },
    )
    .unwrap();
    for (i, seed) in [7u8, 99, 200].iter().enumerate() {
        let hash = format!("{:064x}", u128::from(*seed) * 0x1234_5678_9abc + i as u128);
        let folder = dir.join("objects").join(&hash[0..2]).join(&hash[2..4]);
        fs::create_dir_all(&folder).unwrap();
        let bytes: Vec<u8> = (0..(40_000 + i * 1000))
            .map(|k| (k as u8).wrapping_mul(*seed))
            .collect();
        fs::write(folder.join(&hash), &bytes).unwrap();
        fs::write(folder.join(format!("{hash}.320.jpg")), &bytes[..5000]).unwrap();
    }
    fs::write(dir.join("objects").join(".tmp-1-0"), b"half a photo").unwrap();
    (dir, ctx)
}

/// Every file under `dir` (recursively) with its bytes: what "nothing changed" compares.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if dir.exists() {
        collect(dir, dir, &mut out);
    }
    out
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        if p.is_dir() {
            out.insert(format!("{rel}/"), Vec::new());
            collect(root, &p, out);
        } else {
            out.insert(rel, fs::read(&p).unwrap());
        }
    }
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn take_backup(dir: &Path, out: &Path) -> BackupSummary {
    backup_folder(dir, now(), out, &|_| {}, &AtomicBool::new(false)).unwrap()
}

fn restore_into(file: &Path, target: &Path, mode: &RestoreMode) -> ApiResult<RestoreSummary> {
    restore(file, target, mode, now(), &|_| {}, &AtomicBool::new(false))
}

/// The photo files of a data folder (the store's temporary files left out).
fn photos_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(&dir.join("objects"))
        .into_iter()
        .filter(|(k, _)| !k.ends_with('/') && !k.contains(".tmp-"))
        .collect()
}

#[test]
fn a_backup_of_an_open_folder_restores_into_a_new_folder_with_every_row_and_photo() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    let out = root.path().join("b.gmbak");
    let seen = std::sync::Mutex::new(Vec::new());
    let summary = backup(
        &ctx,
        &out,
        &|p| seen.lock().unwrap().push(p),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(
        summary.photo_files, 6,
        "3 originals and 3 thumbnails, no temp file"
    );
    assert_eq!(
        summary.schema_version,
        guanmo_store::known_schema_version().unwrap()
    );
    assert!(summary.rows > 20, "seeded townships and more: {summary:?}");
    assert_eq!(summary.file_bytes, fs::metadata(&out).unwrap().len());
    let seen = seen.into_inner().unwrap();
    let last = seen.last().unwrap();
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!((last.items_done, last.items_total), (7, 7));
    assert!(seen.iter().any(|p| p.phase == BackupPhase::Database));
    assert!(seen.iter().any(|p| p.phase == BackupPhase::Photos));
    assert!(
        seen.windows(2).all(|w| w[0].bytes_done <= w[1].bytes_done),
        "progress never goes back"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds private data");
    }

    let manifest = read_manifest(&out).unwrap();
    assert_eq!(manifest.format, "guanmo-backup");
    assert_eq!(manifest.format_version, 1);
    assert_eq!(manifest.app_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.created_at, "2026-12-07T03:00:00Z");
    assert_eq!(manifest.device_id.as_deref(), Some(ctx.store().device_id()));
    assert_eq!(
        manifest.entries.len(),
        8,
        "the database, the phone key, six photo files"
    );
    assert!(manifest.entries.iter().any(|e| e.path == "phone.key"));
    assert!(manifest.entries.iter().all(|e| e.sha256.len() == 64));

    let target = root.path().join("restored");
    let r = restore_into(&out, &target, &RestoreMode::IntoEmpty).unwrap();
    assert_eq!(r.previous_data_backup, None);
    assert_eq!(r.photo_files, 6);
    let source = guanmo_store::backup::facts(&dir.join(DB_FILE)).unwrap();
    let restored = guanmo_store::backup::facts(&target.join(DB_FILE)).unwrap();
    assert_eq!(
        restored, source,
        "every table with every row, the same device"
    );
    assert_eq!(
        photos_of(&target),
        photos_of(&dir),
        "every photo file, byte for byte"
    );
    assert!(
        names(root.path()).iter().all(|n| !n.starts_with('.')),
        "no staging or temp files left: {:?}",
        names(root.path())
    );
    // The restored folder opens as the same device with the same draft.
    let back = Ctx::open(&target, Arc::new(SystemClock)).unwrap();
    assert_eq!(back.store().device_id(), ctx.store().device_id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), 0o700);
        assert_eq!(mode(&target.join(DB_FILE)), 0o600);
        assert_eq!(mode(&target.join("phone.key")), 0o600);
    }
    assert_eq!(
        fs::read(target.join("phone.key")).unwrap(),
        fs::read(dir.join("phone.key")).unwrap(),
        "the restored database's numbers open with the key it carries"
    );
}

#[test]
fn a_restore_into_an_existing_empty_folder_is_allowed() {
    let root = tempfile::tempdir().unwrap();
    let (dir, _ctx) = data_folder(root.path());
    let out = root.path().join("b.gmbak");
    take_backup(&dir, &out);
    let target = root.path().join("empty");
    fs::create_dir(&target).unwrap();
    restore_into(&out, &target, &RestoreMode::IntoEmpty).unwrap();
    assert_eq!(photos_of(&target), photos_of(&dir));
}

/// Asserts `attempt` is refused with `code` and changes nothing in `target` or beside it.
fn refused_untouched(
    root: &Path,
    target: &Path,
    code: ErrorCode,
    attempt: impl FnOnce() -> ApiResult<RestoreSummary>,
) -> ApiError {
    let before = snapshot(target);
    let beside = names(root);
    let e = attempt().expect_err("must be refused");
    assert_eq!(e.code, code, "{e:?}");
    assert!(
        snapshot(target) == before,
        "the target folder must not change"
    );
    assert_eq!(names(root), beside, "nothing left beside it");
    e
}

#[test]
fn a_truncated_backup_is_refused_and_nothing_changes() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    let out = root.path().join("b.gmbak");
    take_backup(&dir, &out);
    let bytes = fs::read(&out).unwrap();
    let cut = root.path().join("cut.gmbak");
    fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    drop(ctx);
    for mode in [
        RestoreMode::IntoEmpty,
        RestoreMode::Replace { keep_in: None },
    ] {
        let target = if mode == RestoreMode::IntoEmpty {
            root.path().join("fresh")
        } else {
            dir.clone()
        };
        let e = refused_untouched(root.path(), &target, ErrorCode::BackupUnreadable, || {
            restore_into(&cut, &target, &mode)
        });
        assert!(e.message.contains("备份文件不完整"), "{}", e.message);
    }
}

#[test]
fn one_changed_byte_anywhere_is_refused_and_nothing_changes() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    drop(ctx);
    let out = root.path().join("b.gmbak");
    take_backup(&dir, &out);
    let bytes = fs::read(&out).unwrap();
    // A byte inside a photo's stored data: the zip's CRC or the manifest's SHA-256 catches it.
    let photo_at = {
        let mut zip = ZipArchive::new(File::open(&out).unwrap()).unwrap();
        let name = zip
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .find(|n| n.starts_with("objects/") && !n.ends_with(".jpg"))
            .unwrap();
        let start = zip.by_name(&name).unwrap().data_start().unwrap();
        usize::try_from(start).unwrap() + 1000
    };
    let flipped = root.path().join("flipped.gmbak");
    let mut changed = bytes.clone();
    changed[photo_at] ^= 0x01;
    fs::write(&flipped, &changed).unwrap();
    let e = refused_untouched(root.path(), &dir, ErrorCode::BackupDamaged, || {
        restore_into(&flipped, &dir, &RestoreMode::Replace { keep_in: None })
    });
    assert!(e.message.contains("备份文件已损坏"), "{}", e.message);
    // And anywhere else in the file: always refused (damaged or unreadable), never restored.
    let fresh = root.path().join("fresh");
    for i in 0..200 {
        let at = (bytes.len() - 1) * i / 199;
        let mut changed = bytes.clone();
        changed[at] ^= 0x20;
        fs::write(&flipped, &changed).unwrap();
        let before = names(root.path());
        let e = restore_into(&flipped, &fresh, &RestoreMode::IntoEmpty).expect_err(&format!(
            "a changed byte at {at} of {} must be refused",
            bytes.len()
        ));
        assert!(
            matches!(
                e.code,
                ErrorCode::BackupDamaged | ErrorCode::BackupUnreadable
            ),
            "byte {at}: {e:?}"
        );
        assert!(!fresh.exists(), "byte {at}: nothing restored");
        assert_eq!(names(root.path()), before, "byte {at}: nothing left beside");
    }
}

#[test]
fn a_backup_from_a_newer_version_is_refused_and_nothing_changes() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    drop(ctx);
    let known = guanmo_store::known_schema_version().unwrap();
    // A data folder a newer build wrote: backed up as it is, without migrating.
    let newer = root.path().join("newer");
    fs::create_dir(&newer).unwrap();
    {
        let c = rusqlite::Connection::open(newer.join(DB_FILE)).unwrap();
        c.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);")
            .unwrap();
        c.pragma_update(None, "user_version", known + 1).unwrap();
    }
    let out = root.path().join("newer.gmbak");
    let summary = take_backup(&newer, &out);
    assert_eq!(summary.schema_version, known + 1);
    fs::remove_dir_all(&newer).unwrap();
    let e = refused_untouched(root.path(), &dir, ErrorCode::DataNewerThanApp, || {
        restore_into(&out, &dir, &RestoreMode::Replace { keep_in: None })
    });
    assert!(
        e.message
            .contains(&format!("数据版本 {},本程序支持到 {known}", known + 1)),
        "{}",
        e.message
    );
    assert!(e.message.contains("请安装新版本"), "{}", e.message);

    // A newer backup format, too.
    let good = root.path().join("good.gmbak");
    take_backup(&dir, &good);
    let later = root.path().join("later.gmbak");
    rewrite_manifest(&good, &later, |m| m.format_version = 2);
    let e = refused_untouched(root.path(), &dir, ErrorCode::DataNewerThanApp, || {
        restore_into(&later, &dir, &RestoreMode::Replace { keep_in: None })
    });
    assert!(e.message.contains("备份格式第 2 版"), "{}", e.message);
}

#[test]
fn row_counts_or_hashes_that_disagree_with_the_manifest_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    drop(ctx);
    let good = root.path().join("good.gmbak");
    take_backup(&dir, &good);
    let fresh = root.path().join("fresh");
    let bad = root.path().join("bad.gmbak");
    rewrite_manifest(&good, &bad, |m| {
        *m.tables.get_mut("townships").unwrap() += 1;
    });
    let e = refused_untouched(root.path(), &fresh, ErrorCode::BackupDamaged, || {
        restore_into(&bad, &fresh, &RestoreMode::IntoEmpty)
    });
    assert!(e.message.contains("行数"), "{}", e.message);
    rewrite_manifest(&good, &bad, |m| {
        let e = m.entries.iter_mut().find(|e| e.path != DB_ENTRY).unwrap();
        e.sha256 = "0".repeat(64);
    });
    let e = refused_untouched(root.path(), &fresh, ErrorCode::BackupDamaged, || {
        restore_into(&bad, &fresh, &RestoreMode::IntoEmpty)
    });
    assert!(e.message.contains("SHA-256"), "{}", e.message);
    rewrite_manifest(&good, &bad, |m| {
        m.entries[1].path = "objects/../../escape".into();
    });
    refused_untouched(root.path(), &fresh, ErrorCode::BackupDamaged, || {
        restore_into(&bad, &fresh, &RestoreMode::IntoEmpty)
    });
    fs::write(&bad, b"PK\x03\x04 not really").unwrap();
    refused_untouched(root.path(), &fresh, ErrorCode::BackupUnreadable, || {
        restore_into(&bad, &fresh, &RestoreMode::IntoEmpty)
    });
}

#[test]
fn a_folder_holding_anything_is_refused_without_replace_and_nothing_changes() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    let out = root.path().join("b.gmbak");
    take_backup(&dir, &out);
    drop(ctx);
    let e = refused_untouched(root.path(), &dir, ErrorCode::RestoreTargetNotEmpty, || {
        restore_into(&out, &dir, &RestoreMode::IntoEmpty)
    });
    assert!(e.message.contains("不是空的"), "{}", e.message);
    let other = root.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("notes.txt"), "mine").unwrap();
    refused_untouched(
        root.path(),
        &other,
        ErrorCode::RestoreTargetNotEmpty,
        || restore_into(&out, &other, &RestoreMode::IntoEmpty),
    );
}

#[test]
fn replacing_a_folder_backs_up_its_data_first_and_keeps_its_other_files() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    let out = root.path().join("b.gmbak");
    take_backup(&dir, &out);
    // After the backup: more data, which the restore replaces.
    crate::feed::create_draft(
        &ctx,
        guanmo_domain::feed::PostInput {
            body: "备份后的草稿".into(),
            ..Default::default()
        },
    )
    .unwrap();
    drop(ctx);
    fs::write(
        dir.join("guanmo.sqlite3.pre-v19-20261201T000000.bak"),
        "old copy",
    )
    .unwrap();
    let after = guanmo_store::backup::facts(&dir.join(DB_FILE)).unwrap();
    let keep = root.path().join("keep");
    let r = restore_into(
        &out,
        &dir,
        &RestoreMode::Replace {
            keep_in: Some(keep.clone()),
        },
    )
    .unwrap();
    let saved = PathBuf::from(r.previous_data_backup.unwrap());
    assert_eq!(saved.parent().unwrap(), keep);
    assert!(saved
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("guanmo-before-restore-20261207T030000"));
    let restored = guanmo_store::backup::facts(&dir.join(DB_FILE)).unwrap();
    assert_eq!(
        restored.tables["posts"] + 1,
        after.tables["posts"],
        "the draft written after the backup is gone from the folder"
    );
    assert_eq!(
        fs::read_to_string(dir.join("guanmo.sqlite3.pre-v19-20261201T000000.bak")).unwrap(),
        "old copy",
        "files besides the data move into the new folder"
    );
    assert!(
        names(root.path()).iter().all(|n| !n.starts_with('.')),
        "no staging or replaced folder left: {:?}",
        names(root.path())
    );
    // The automatic backup holds the replaced data, draft included.
    let back = root.path().join("back");
    restore_into(&saved, &back, &RestoreMode::IntoEmpty).unwrap();
    let old = guanmo_store::backup::facts(&back.join(DB_FILE)).unwrap();
    assert_eq!(old.tables, after.tables);
}

#[test]
fn a_cancelled_backup_or_restore_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    let outs = root.path().join("outs");
    fs::create_dir(&outs).unwrap();
    let cancel = AtomicBool::new(false);
    let e = backup(
        &ctx,
        &outs.join("b.gmbak"),
        &|p| {
            if p.phase == BackupPhase::Photos {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Cancelled);
    assert!(names(&outs).is_empty(), "{:?}", names(&outs));

    let out = outs.join("b.gmbak");
    take_backup(&dir, &out);
    drop(ctx);
    let cancel = AtomicBool::new(false);
    let before = snapshot(&dir);
    let e = restore(
        &out,
        &dir,
        &RestoreMode::Replace { keep_in: None },
        now(),
        &|p| {
            if p.items_done >= 2 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Cancelled);
    assert!(snapshot(&dir) == before);
    assert!(names(root.path()).iter().all(|n| !n.starts_with('.')));
}

#[test]
fn a_folder_as_the_output_gets_a_timestamped_name() {
    let root = tempfile::tempdir().unwrap();
    let first = resolve_out(root.path(), now());
    assert_eq!(first, root.path().join("guanmo-backup-20261207T0300.gmbak"));
    fs::write(&first, b"x").unwrap();
    assert_eq!(
        resolve_out(root.path(), now()),
        root.path().join("guanmo-backup-20261207T0300-2.gmbak")
    );
    let file = root.path().join("named.gmbak");
    assert_eq!(resolve_out(&file, now()), file);
}

#[test]
fn entry_paths_outside_the_data_folder_are_never_accepted() {
    for ok in [DB_ENTRY, "objects/ab/cd/abcd", "objects/ab/cd/abcd.320.jpg"] {
        assert!(safe_entry_path(ok), "{ok}");
    }
    for bad in [
        "../x",
        "objects/../x",
        "/etc/passwd",
        "objects//x",
        "objects/ab/./x",
        "db/guanmo.sqlite3",
        "guanmo.sqlite3-wal",
        "objects",
        "objects/a\\b",
        "manifest.json",
    ] {
        assert!(!safe_entry_path(bad), "{bad}");
    }
}

/// Copies the backup `from` to `to` with its manifest changed by `f` (the other entries as
/// they are).
fn rewrite_manifest(from: &Path, to: &Path, f: impl FnOnce(&mut Manifest)) {
    let mut zip = ZipArchive::new(File::open(from).unwrap()).unwrap();
    let mut manifest = manifest_of(&mut zip).unwrap();
    f(&mut manifest);
    let _ = fs::remove_file(to);
    let mut w = ZipWriter::new(File::create(to).unwrap());
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).unwrap();
        if entry.name().unwrap() != MANIFEST {
            w.raw_copy_file(entry).unwrap();
        }
    }
    w.start_file(MANIFEST, SimpleFileOptions::default())
        .unwrap();
    w.write_all(&serde_json::to_vec(&manifest).unwrap())
        .unwrap();
    w.set_comment(format!("{SEAL_PREFIX}{}", "0".repeat(64)))
        .unwrap();
    w.finish().unwrap();
    // Sealed again, as a tampering tool that knew the format would.
    seal(to, &AtomicBool::new(false)).unwrap();
}

#[test]
fn a_data_folder_from_a_newer_version_is_refused_with_its_own_code_and_words() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    drop(ctx);
    let known = guanmo_store::known_schema_version().unwrap();
    {
        let c = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
        c.pragma_update(None, "user_version", known + 3).unwrap();
    }
    let before = snapshot(&dir);
    let e = Ctx::open(&dir, Arc::new(SystemClock)).unwrap_err();
    assert_eq!(e.code, ErrorCode::DataNewerThanApp);
    assert_eq!(
        e.message,
        format!(
            "此数据文件夹由更新版本的观摩创建(数据版本 {},本程序支持到 {known}),\
             为防止损坏已拒绝打开。请安装新版本。",
            known + 3
        )
    );
    assert!(snapshot(&dir) == before, "the folder is left as it was");
}

#[test]
fn a_restore_staged_while_the_folder_is_open_is_applied_at_the_next_start() {
    let root = tempfile::tempdir().unwrap();
    let (dir, ctx) = data_folder(root.path());
    let out = root.path().join("b.gmbak");
    take_backup(&dir, &out);
    let at_backup = guanmo_store::backup::facts(&dir.join(DB_FILE)).unwrap();
    crate::feed::create_draft(
        &ctx,
        guanmo_domain::feed::PostInput {
            body: "备份后的草稿".into(),
            ..Default::default()
        },
    )
    .unwrap();
    // A damaged file is refused and nothing waits.
    let cut = root.path().join("cut.gmbak");
    let bytes = fs::read(&out).unwrap();
    fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let e = stage_restore(&cut, &dir, now(), &|_| {}, &AtomicBool::new(false)).unwrap_err();
    assert_eq!(e.code, ErrorCode::BackupUnreadable);
    assert!(!pending_restore_dir(&dir).unwrap().exists());
    // A good one waits beside the open folder, which keeps working meanwhile.
    let before = snapshot(&dir.join("objects"));
    stage_restore(&out, &dir, now(), &|_| {}, &AtomicBool::new(false)).unwrap();
    assert!(pending_restore_dir(&dir).unwrap().join(DB_FILE).is_file());
    assert!(snapshot(&dir.join("objects")) == before);
    crate::feed::create_draft(&ctx, guanmo_domain::feed::PostInput::default()).ok();
    drop(ctx);

    // The next start applies it before opening the folder.
    let saved = apply_pending_restore(&dir, now()).unwrap().unwrap();
    assert!(saved.is_file());
    assert_eq!(saved.parent().unwrap(), root.path());
    let now_in_place = guanmo_store::backup::facts(&dir.join(DB_FILE)).unwrap();
    assert_eq!(now_in_place.tables, at_backup.tables);
    assert!(!pending_restore_dir(&dir).unwrap().exists());
    assert_eq!(
        apply_pending_restore(&dir, now()).unwrap(),
        None,
        "applied once"
    );
    Ctx::open(&dir, Arc::new(SystemClock)).unwrap();
    // Discarding when nothing waits is a no-op.
    assert!(!discard_pending_restore(&dir).unwrap());
}
