//! Comments for the tests of this folder: a pending praise, anything overridden.
import type { Comment, QueueItem } from "../../ipc";

/** A pending comment as a queue shows it; a replica's number is all any device shows. */
export function comment(id: string, over: Partial<Comment> = {}): Comment {
  return {
    id,
    target: "event",
    nickname: `市民${id}`,
    kind: "praise",
    text: "家乡变化真大",
    township_id: null,
    phone_masked: "138****1234",
    phone_verified: true,
    flagged_words: [],
    status: "pending",
    pinned: false,
    appealed: false,
    appeal_reason: null,
    reject_reason: null,
    decided_at: null,
    decided_by: null,
    open_reports: 0,
    handling: null,
    assigned_to: null,
    assigned_at: null,
    reply: null,
    replied_at: null,
    reply_department: null,
    created_at: "2024-12-04T01:30:00Z",
    version: 1,
    ...over,
  };
}

/** `c` as a queue item with no sensitive-word marks. */
export const plain = (c: Comment): QueueItem => ({ comment: c, text_parts: [{ text: c.text, word: null }], nickname_parts: [{ text: c.nickname, word: null }] });
