//! Publishing from a bus (4G): a post goes to the hub with the 1600 px copies of its photos,
//! never waiting for their originals; the hub re-encodes those untrusted copies and takes
//! them only from the photo's own device; originals follow as the organiser sets (in the
//! background, only on the venue's network, or only by USB), and give way to a post written
//! while they upload.

use crate::sync::{Cluster, Device};
use guanmo_api::feed;
use guanmo_domain::feed::PostInput;
use guanmo_media::{Limits, Size};
use guanmo_sync::memory::{Faults, MemoryTransport};
use guanmo_sync::protocol::{
    BlobQuery, BlobStatus, CopyQuery, CopyStatus, OriginalsPolicy, PairRequest, PairResponse,
    PullRequest, PullResponse, PushRequest, PushResponse, WEB,
};
use guanmo_sync::{HubService, SyncErrorCode, SyncResult, Transport};
use std::sync::atomic::{AtomicU32, Ordering};

/// A camera-sized JPEG of noise (compresses badly, so its original is several chunks).
fn camera_jpeg(seed: u32) -> Vec<u8> {
    jpeg_of_noise(2400, 1800, seed)
}

fn jpeg_of_noise(w: usize, h: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let px: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let image = turbojpeg::Image {
        pixels: &px[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 92, turbojpeg::Subsamp::Sub2x2)
        .unwrap()
        .to_vec()
}

/// Imports `n` photos on `dev` and returns their hashes.
fn photos(dev: &Device, n: u32, seed: u32) -> Vec<String> {
    (0..n)
        .map(|i| {
            let bytes = camera_jpeg(seed * 100 + i);
            let imported = dev
                .media
                .import_bytes("DSC.JPG", &bytes, &Limits::default())
                .unwrap();
            guanmo_api::photos::record_imported(&dev.ctx, "DSC.JPG", &imported).unwrap();
            imported.hash
        })
        .collect()
}

fn publish(dev: &Device, body: &str, photos: Vec<String>) -> String {
    let p = feed::create_draft(
        &dev.ctx,
        PostInput {
            stop_label: Some("【第3站·水口山镇】".into()),
            township_id: None,
            body: body.into(),
            photos,
            credit: "记者 王五 摄".into(),
        },
    )
    .unwrap();
    feed::publish_post(&dev.ctx, &p.id, p.version).unwrap().id
}

fn public_photos(hub: &Device) -> Vec<Vec<String>> {
    feed::public_feed(&hub.ctx, None, 20)
        .unwrap()
        .posts
        .into_iter()
        .map(|p| p.photos)
        .collect()
}

fn set_policy(c: &Cluster, p: OriginalsPolicy) {
    guanmo_sync::originals::set_policy(&c.hub.ctx, p).unwrap();
}

#[test]
fn over_4g_a_post_goes_out_with_copies_and_originals_wait_for_the_venues_network() {
    let c = Cluster::new(Faults::default(), 41);
    set_policy(&c, OriginalsPolicy::LanOnly);
    let (media, mt) = &c.laptops[2];
    // On the bus: the hub is reached over the internet.
    mt.over_internet(true);
    let hashes = photos(media, 3, 1);
    let post = publish(media, "水口山镇产业园区现场观摩", hashes.clone());

    let r = media.sync(mt).unwrap();
    assert_eq!(r.copies_sent, 3, "{r:?}");
    assert_eq!((r.photos_sent, r.originals_waiting), (0, 3), "{r:?}");
    assert_eq!(
        public_photos(&c.hub),
        vec![hashes.clone()],
        "the post is live"
    );
    for h in &hashes {
        assert!(c.hub.media.has(h, Size::Web) && c.hub.media.has(h, Size::Thumb));
        assert!(!c.hub.media.has(h, Size::Original), "no original over 4G");
        let web = std::fs::read(c.hub.media.path(h, Size::Web).unwrap()).unwrap();
        let header = turbojpeg::read_header(&web).unwrap();
        assert_eq!((header.width, header.height), (1600, 1200));
    }
    // The laptop learnt the organiser's setting, and says what waits.
    assert_eq!(
        guanmo_sync::originals::effective(&media.ctx).unwrap(),
        OriginalsPolicy::LanOnly
    );
    let r = media.sync(mt).unwrap();
    assert_eq!(
        (r.copies_sent, r.photos_sent, r.originals_waiting),
        (0, 0, 3)
    );

    // A scorer laptop on the venue's network gets the copies it can show (the hub has no
    // original to give yet: skipped, not an error).
    let (other, ot) = &c.laptops[0];
    other.sync(ot).unwrap();
    for h in &hashes {
        assert!(other.media.has(h, Size::Web) && !other.media.has(h, Size::Original));
    }

    // Back on the venue's Wi-Fi: the originals go, and the hub's copies are now its own,
    // made from them.
    mt.over_internet(false);
    let r = media.sync(mt).unwrap();
    assert_eq!((r.photos_sent, r.originals_waiting), (3, 0), "{r:?}");
    for h in &hashes {
        let at_hub = std::fs::read(c.hub.media.path(h, Size::Original).unwrap()).unwrap();
        let here = std::fs::read(media.media.path(h, Size::Original).unwrap()).unwrap();
        assert_eq!(at_hub, here);
        assert_eq!(
            std::fs::read(c.hub.media.path(h, Size::Web).unwrap()).unwrap(),
            std::fs::read(media.media.path(h, Size::Web).unwrap()).unwrap(),
            "the copy made from the original replaced the laptop's"
        );
    }
    let _ = post;
    c.settle();
}

#[test]
fn with_usb_only_originals_never_travel_over_the_network_but_the_post_does() {
    let c = Cluster::new(Faults::default(), 43);
    set_policy(&c, OriginalsPolicy::UsbOnly);
    let (media, mt) = &c.laptops[2];
    media.sync(mt).unwrap();
    let hashes = photos(media, 2, 2);
    publish(media, "仅U盘", hashes.clone());
    let r = media.sync(mt).unwrap();
    assert_eq!(
        (r.copies_sent, r.photos_sent, r.originals_waiting),
        (2, 0, 2)
    );
    assert_eq!(public_photos(&c.hub), vec![hashes.clone()]);

    // The hub confirmed the post, yet the USB bundle carries the originals it lacks.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("直播电脑.guanmo");
    let summary =
        guanmo_sync::bundle::export_bundle(&media.ctx, &media.media, &file, &|_| {}).unwrap();
    assert_eq!((summary.ops, summary.photos), (0, 2), "{summary:?}");
    guanmo_sync::bundle::import_bundle(&c.hub.ctx, &c.hub.media, &file, &|_| {}).unwrap();
    for h in &hashes {
        assert!(c.hub.media.has(h, Size::Original));
    }
    let r = media.sync(mt).unwrap();
    assert_eq!((r.photos_sent, r.originals_waiting), (0, 0), "{r:?}");
    let again =
        guanmo_sync::bundle::export_bundle(&media.ctx, &media.media, &file, &|_| {}).unwrap();
    assert_eq!(again.photos, 0, "nothing left to carry");
}

/// The hub's service as a hostile laptop would call it, with that laptop's token.
fn token(dev: &Device) -> String {
    dev.ctx
        .store()
        .read(|c| guanmo_store::meta::get(c, "hub_token"))
        .unwrap()
        .unwrap()
}

#[test]
fn a_copy_from_another_device_or_a_bad_copy_is_refused_and_the_public_photo_stays() {
    let c = Cluster::new(Faults::default(), 47);
    set_policy(&c, OriginalsPolicy::UsbOnly);
    let (media, mt) = &c.laptops[2];
    let hashes = photos(media, 1, 3);
    publish(media, "现场", hashes.clone());
    media.sync(mt).unwrap();
    let h = &hashes[0];
    let before = std::fs::read(c.hub.media.path(h, Size::Web).unwrap()).unwrap();
    let service = HubService::new(c.hub.ctx.clone(), c.hub.media.clone());
    let (scorer, _) = &c.laptops[0];
    let defacement = jpeg_of_noise(800, 600, 99);
    let e = service
        .put_copy(&token(scorer), h, WEB, &defacement)
        .unwrap_err();
    assert_eq!(e.code, SyncErrorCode::BadRequest);
    assert!(e.message.contains("not the sender's"), "{e}");
    // The owner itself cannot send a copy that is not a JPEG within 1600 px either (for a
    // photo the hub cannot show yet).
    let hidden = photos(media, 1, 4);
    for bad in [b"not a photo".to_vec(), camera_jpeg(9)] {
        let e = service
            .put_copy(&token(media), &hidden[0], WEB, &bad)
            .unwrap_err();
        assert_eq!(e.code, SyncErrorCode::BadRequest, "{e}");
        assert!(!c.hub.media.has(&hidden[0], Size::Web));
    }
    assert_eq!(
        std::fs::read(c.hub.media.path(h, Size::Web).unwrap()).unwrap(),
        before,
        "the public photo is unchanged"
    );
    // Nor may any laptop send a copy of a photo the hub imported itself.
    let own = photos(&c.hub, 1, 5);
    let e = service
        .put_copy(&token(media), &own[0], WEB, &defacement)
        .unwrap_err();
    assert!(e.message.contains("not the sender's"), "{e}");
    // Copies the hub does not know of are not handed out.
    let e = service.get_copy(&token(scorer), &hidden[0]).unwrap_err();
    assert_eq!(e.code, SyncErrorCode::BadRequest);
}

/// A link that lets a test act on the laptop while its originals are uploading.
struct WhileUploading<'a> {
    inner: &'a MemoryTransport,
    /// The link drops every 1600 px copy (it breaks right after the post went out).
    no_web_copies: std::sync::atomic::AtomicBool,
    chunks: AtomicU32,
    at_chunk: u32,
    act: Box<dyn Fn() + Send + Sync + 'a>,
}

impl Transport for WhileUploading<'_> {
    fn pair(&self, req: &PairRequest) -> SyncResult<PairResponse> {
        self.inner.pair(req)
    }
    fn push(&self, req: &PushRequest) -> SyncResult<PushResponse> {
        self.inner.push(req)
    }
    fn pull(&self, req: &PullRequest) -> SyncResult<PullResponse> {
        self.inner.pull(req)
    }
    fn blobs_missing(&self, q: &BlobQuery) -> SyncResult<BlobStatus> {
        self.inner.blobs_missing(q)
    }
    fn put_blob(
        &self,
        hash: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
        cancel: &dyn Fn() -> bool,
    ) -> SyncResult<u64> {
        if self.chunks.fetch_add(1, Ordering::SeqCst) + 1 == self.at_chunk {
            (self.act)();
        }
        self.inner.put_blob(hash, total, offset, chunk, cancel)
    }
    fn get_blob(&self, hash: &str, offset: u64, max: u32) -> SyncResult<Vec<u8>> {
        self.inner.get_blob(hash, offset, max)
    }
    fn copies_missing(&self, q: &CopyQuery) -> SyncResult<CopyStatus> {
        self.inner.copies_missing(q)
    }
    fn put_copy(
        &self,
        hash: &str,
        size: u32,
        jpeg: &[u8],
        cancel: &dyn Fn() -> bool,
    ) -> SyncResult<()> {
        if size == WEB && self.no_web_copies.load(Ordering::SeqCst) {
            return Err(guanmo_sync::SyncError::new(
                SyncErrorCode::Unreachable,
                "the link dropped",
            ));
        }
        self.inner.put_copy(hash, size, jpeg, cancel)
    }
    fn get_copy(&self, hash: &str) -> SyncResult<Vec<u8>> {
        self.inner.get_copy(hash)
    }
    fn reach(&self) -> SyncResult<guanmo_api::reach::ReachReport> {
        self.inner.reach()
    }
    fn on_local_network(&self) -> bool {
        self.inner.on_local_network()
    }
}

#[test]
fn a_post_published_while_the_days_originals_upload_goes_out_before_them() {
    let c2 = Cluster::new(Faults::default(), 59);
    let (m2, t2) = &c2.laptops[2];
    set_policy(&c2, OriginalsPolicy::Background);
    m2.sync(t2).unwrap();
    let day = photos(m2, 4, 6);
    publish(m2, "上午", day.clone());
    let sizes: u64 = day
        .iter()
        .map(|h| {
            std::fs::metadata(m2.media.path(h, Size::Original).unwrap())
                .unwrap()
                .len()
        })
        .sum();
    assert!(sizes > 4 << 20, "several chunks: {sizes}");
    // ... and at the second chunk the reporter imports two photos and publishes the noon
    // post.
    let noon_post = std::sync::Mutex::new(None);
    let link = WhileUploading {
        inner: t2,
        no_web_copies: std::sync::atomic::AtomicBool::new(false),
        chunks: AtomicU32::new(0),
        at_chunk: 2,
        act: Box::new(|| {
            let noon = photos(m2, 2, 7);
            publish(m2, "中午", noon.clone());
            *noon_post.lock().unwrap() = Some(noon);
        }),
    };
    let r = guanmo_sync::sync_in_background(&m2.ctx, &m2.media, &link, &|_| {}).unwrap();
    assert!(r.yielded, "{r:?}");
    assert!(r.photos_sent < 4, "the run gave way: {r:?}");
    assert!(r.originals_waiting > 0);
    // The next run (automatic sync starts it at once) carries the noon post first.
    let r = guanmo_sync::sync_in_background(&m2.ctx, &m2.media, &link, &|_| {}).unwrap();
    assert_eq!(r.copies_sent, 2, "the noon post's copies: {r:?}");
    let noon = noon_post.lock().unwrap().clone().unwrap();
    let live = public_photos(&c2.hub);
    assert_eq!(live.len(), 2, "both posts are live");
    assert!(live.contains(&noon));
    // And the originals finish, resumed rather than restarted.
    let mut runs = 0;
    loop {
        let r = guanmo_sync::sync_in_background(&m2.ctx, &m2.media, &link, &|_| {}).unwrap();
        runs += 1;
        if r.originals_waiting == 0 {
            break;
        }
        assert!(runs < 5, "{r:?}");
    }
    for h in day.iter().chain(&noon) {
        assert!(c2.hub.media.has(h, Size::Original));
    }
}

#[test]
fn a_post_goes_public_with_its_thumbnails_before_its_large_copies() {
    let c = Cluster::new(Faults::default(), 61);
    set_policy(&c, OriginalsPolicy::UsbOnly);
    let (media, mt) = &c.laptops[2];
    media.sync(mt).unwrap();
    let link = WhileUploading {
        inner: mt,
        no_web_copies: std::sync::atomic::AtomicBool::new(true),
        chunks: AtomicU32::new(0),
        at_chunk: 0,
        act: Box::new(|| {}),
    };
    let hashes = photos(media, 3, 8);
    publish(media, "先缩略图", hashes.clone());
    // The link breaks after the thumbnails and the post went out.
    let e = guanmo_sync::sync_once(&media.ctx, &media.media, &link, &|_| {}).unwrap_err();
    assert_eq!(e.code, SyncErrorCode::Unreachable);
    assert_eq!(
        public_photos(&c.hub),
        vec![hashes.clone()],
        "the post is public"
    );
    for h in &hashes {
        assert!(c.hub.media.has(h, Size::Thumb), "its grid can show");
        assert!(!c.hub.media.has(h, Size::Web) && !c.hub.media.has(h, Size::Original));
    }
    // The next run brings the 1600 px copies.
    link.no_web_copies.store(false, Ordering::SeqCst);
    let r = guanmo_sync::sync_once(&media.ctx, &media.media, &link, &|_| {}).unwrap();
    assert_eq!(r.copies_sent, 3, "{r:?}");
    for h in &hashes {
        assert!(c.hub.media.has(h, Size::Web));
    }
}
