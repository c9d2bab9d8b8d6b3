//! Group commit for comments from the resident site. One thread owns ingest: it takes every
//! submission waiting in the queue (up to [`MAX_BATCH`]), stores them in one `synchronous=FULL`
//! transaction, and only after the commit tells each waiting phone its result. A refused
//! comment writes nothing, so it never sinks the others; a write that fails rolls the batch
//! back, and it is written again with each comment in its own savepoint. A full queue is the
//! global ingest cap: the submission is refused at once with [`ErrorCode::Busy`] (`429` on the
//! site).

use super::{check_in, check_input, store_new, word_list, Checked, Receipt, Submission};
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use chrono::{DateTime, Utc};
use guanmo_domain::words::WordList;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

/// Most comments committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// Called once with the result of a submission, after its transaction committed (or failed).
pub type Reply = Box<dyn FnOnce(ApiResult<Receipt>) + Send>;

pub(super) struct Job {
    pub(super) submission: Submission,
    pub(super) reply: Reply,
}

/// Handle to the ingest thread; cheap to clone. The thread ends when every handle is gone.
#[derive(Clone)]
pub struct Ingest {
    queue: SyncSender<Job>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").finish_non_exhaustive()
    }
}

impl Ingest {
    /// Starts the ingest thread over `ctx`; at most `capacity` submissions wait at a time.
    pub fn start(ctx: Ctx, capacity: usize) -> ApiResult<Ingest> {
        let (queue, rx) = sync_channel(capacity.max(1));
        std::thread::Builder::new()
            .name("guanmo-comment-ingest".into())
            .spawn(move || run(ctx, rx))
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("ingest thread: {e}")))?;
        Ok(Ingest { queue })
    }

    /// Queues a submission; `reply` is called once, after the commit (or at once when the
    /// input is refused or the queue is full).
    pub fn submit(&self, mut submission: Submission, reply: Reply) {
        match check_input(submission.input) {
            Ok(input) => submission.input = input,
            Err(e) => return reply(Err(e)),
        }
        match self.queue.try_send(Job { submission, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => (job.reply)(Err(ApiError::new(
                ErrorCode::Busy,
                "comment ingest queue is full",
            ))),
            Err(TrySendError::Disconnected(job)) => (job.reply)(Err(ApiError::new(
                ErrorCode::Internal,
                "comment ingest has stopped",
            ))),
        }
    }
}

fn run(ctx: Ctx, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(&ctx, batch);
    }
}

pub(super) fn commit(ctx: &Ctx, batch: Vec<Job>) {
    let words = match word_list(ctx) {
        Ok(w) => w,
        Err(e) => {
            for job in batch {
                (job.reply)(Err(e.clone()));
            }
            return;
        }
    };
    let now = ctx.clock.now();
    // Nearly always, no write fails, so the batch is written with no savepoint per comment
    // (each one journals every page it touches: measured as 9 % of the server's core). When
    // a write does fail, that transaction is rolled back whole and the batch is written again
    // with each comment's write isolated, so that only that comment is refused.
    let results = match store_batch(ctx, &words, now, &batch, Isolation::Shared) {
        Err(e) => {
            tracing::warn!(error = %e, "a comment write failed; writing the batch again, isolated");
            store_batch(ctx, &words, now, &batch, Isolation::PerComment)
        }
        ok => ok,
    };
    match results {
        Ok(results) => {
            for (job, r) in batch.into_iter().zip(results) {
                (job.reply)(r);
            }
        }
        Err(e) => {
            let e = ApiError::from(e);
            for job in batch {
                (job.reply)(Err(e.clone()));
            }
        }
    }
}

/// How a batch's writes are kept apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// No savepoints: a failed write fails the whole transaction.
    Shared,
    /// Each comment's write in its own savepoint: a failed write refuses that comment only.
    PerComment,
}

/// Checks and stores every submission of `batch` in one transaction, one result each.
/// Refusals (closed area, muted number, unknown target) write nothing, so they never need
/// undoing; only the writes of a new comment do.
fn store_batch(
    ctx: &Ctx,
    words: &WordList,
    now: DateTime<Utc>,
    batch: &[Job],
    isolation: Isolation,
) -> guanmo_store::Result<Vec<ApiResult<Receipt>>> {
    ctx.store.write(now, "resident", |tx| {
        let c = tx.conn();
        let mut out = Vec::with_capacity(batch.len());
        // One read for the batch: the switch cannot change inside this transaction.
        let open = guanmo_store::comments::area_open(c)?;
        for job in batch {
            let flagged = match check_in(tx, words, now, open, &job.submission) {
                Ok(Checked::New(flagged)) => flagged,
                Ok(Checked::Repeat(receipt)) => {
                    out.push(Ok(receipt));
                    continue;
                }
                Err(refused) => {
                    out.push(Err(refused));
                    continue;
                }
            };
            if isolation == Isolation::Shared {
                out.push(Ok(store_new(tx, &job.submission, &flagged)?));
                continue;
            }
            c.prepare_cached("SAVEPOINT comment")?.execute([])?;
            let r = store_new(tx, &job.submission, &flagged);
            if r.is_err() {
                c.prepare_cached("ROLLBACK TO comment")?.execute([])?;
            }
            c.prepare_cached("RELEASE comment")?.execute([])?;
            out.push(r.map_err(ApiError::from));
        }
        Ok(out)
    })
}
