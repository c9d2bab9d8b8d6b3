//! Group commit for comments from the resident site. One thread owns ingest: it takes every
//! submission waiting in the queue (up to [`MAX_BATCH`]), stores them in one `synchronous=FULL`
//! transaction (each in its own savepoint, so one refused comment does not sink the others),
//! and only after the commit tells each waiting phone its result. A full queue is the global
//! ingest cap: the submission is refused at once with [`ErrorCode::Busy`] (`429` on the site).

use super::{check_input, submit_in, word_list, Receipt, Submission};
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

/// Most comments committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// Called once with the result of a submission, after its transaction committed (or failed).
pub type Reply = Box<dyn FnOnce(ApiResult<Receipt>) + Send>;

struct Job {
    submission: Submission,
    reply: Reply,
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

fn commit(ctx: &Ctx, batch: Vec<Job>) {
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
    let results = ctx.store.write(now, "resident", |tx| {
        let mut out = Vec::with_capacity(batch.len());
        // One read for the batch: the switch cannot change inside this transaction.
        let open = guanmo_store::comments::area_open(tx.conn())?;
        for job in &batch {
            let c = tx.conn();
            c.prepare_cached("SAVEPOINT comment")?.execute([])?;
            let r = submit_in(tx, &words, now, open, &job.submission);
            if r.is_err() {
                c.prepare_cached("ROLLBACK TO comment")?.execute([])?;
            }
            c.prepare_cached("RELEASE comment")?.execute([])?;
            out.push(r);
        }
        Ok(out)
    });
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
